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
 * import assert from "node:assert/strict";
 * import { monotonicClock } from "./clock.ts";
 * const before = monotonicClock.nowMs();
 * await new Promise((resolve) => setTimeout(resolve, 20));
 * assert.ok(monotonicClock.nowMs() - before >= 10, "it counts milliseconds");
 * ```
 */
export const monotonicClock: Clock = { nowMs: () => performance.now() };
