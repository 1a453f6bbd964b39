/**
 * `jitter:`: a random delay added to each run, like systemd's
 * `RandomizedDelaySec=`, so that many hosts (or schedules) due at the same
 * moment do not all start at once. A fresh delay is drawn for each run.
 *
 * @module
 */

/** A source of numbers in `[0, 1)`, like `Math.random` (the default). */
export type RandomSource = () => number;

/** Options for {@link jitteredDeadline}. */
export interface JitterOptions {
  /** Draws the delay. Default `Math.random`. */
  random?: RandomSource;
  /**
   * The run after this one, in the same milliseconds as `dueMs`: the delay
   * is then also less than `beforeMs - dueMs`, so a jitter longer than the
   * gap never pushes a run onto or past the next one (which would count it as
   * missed). Default: no such bound.
   */
  beforeMs?: number;
}

/**
 * A deadline drawn uniformly from the whole milliseconds in
 * `[dueMs, dueMs + jitterMs]`, and before `options.beforeMs` when given.
 *
 * @param dueMs When the run is due, in milliseconds (any clock; whole
 *   numbers give whole results).
 * @param jitterMs The most to add, in milliseconds; 0 gives `dueMs`.
 * @returns The deadline to arm the timer for.
 * @throws {RangeError} When `jitterMs` is negative or not finite, or the
 *   random source answers outside `[0, 1)` (bugs: the config loader accepts
 *   only positive durations).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jitteredDeadline } from "./jitter.ts";
 * assert.equal(jitteredDeadline(1000, 500, { random: () => 0 }), 1000);
 * assert.equal(jitteredDeadline(1000, 500, { random: () => 0.999999 }), 1500);
 * const deadline = jitteredDeadline(1000, 500);
 * assert.ok(deadline >= 1000 && deadline <= 1500);
 * // Never onto the next run, due at 1200.
 * assert.equal(jitteredDeadline(1000, 500, { random: () => 0.999999, beforeMs: 1200 }), 1199);
 * ```
 */
export function jitteredDeadline(
  dueMs: number,
  jitterMs: number,
  options: JitterOptions = {},
): number {
  if (!(jitterMs >= 0) || !Number.isFinite(jitterMs)) {
    throw new RangeError(`Expected a jitter of 0 ms or more, got ${jitterMs}`);
  }
  let spanMs = Math.floor(jitterMs);
  if (options.beforeMs !== undefined) {
    spanMs = Math.max(0, Math.min(spanMs, Math.ceil(options.beforeMs - dueMs) - 1));
  }
  if (spanMs === 0) return dueMs;
  const random = (options.random ?? Math.random)();
  if (!(random >= 0 && random < 1)) {
    throw new RangeError(`Expected a random number in [0, 1), got ${random}`);
  }
  return dueMs + Math.floor(random * (spanMs + 1));
}
