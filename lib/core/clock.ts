/**
 * The clock the schedule reads: milliseconds on a monotonic clock, behind a
 * small interface so schedule logic stays a pure function of `now`.
 *
 * @module
 */

/** A monotonic clock. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  nowMs(): number;
}

/**
 * `performance.now()`: monotonic, sub-millisecond.
 *
 * @example
 * ```ts
 * import { monotonicClock } from "./clock.ts";
 * const a = monotonicClock.nowMs();
 * console.assert(monotonicClock.nowMs() >= a);
 * ```
 */
export const monotonicClock: Clock = { nowMs: () => performance.now() };
