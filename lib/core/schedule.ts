/**
 * Fixed-rate schedule arithmetic, pure functions of `now` (milliseconds on a
 * monotonic clock). Tick `n` is due at `originMs + n * intervalMs`; a tick
 * that overruns skips the deadlines it missed instead of running them late,
 * so the schedule never drifts.
 *
 * @module
 */

import { MAX_TIMER_MS } from "./delay.ts";

export { MAX_TIMER_MS };

/** A fixed-rate schedule: where it started and how often it ticks. */
export interface Schedule {
  /** When tick 0 was due, on the monotonic clock, in milliseconds. */
  readonly originMs: number;
  /** Milliseconds between ticks; positive (any size: the timers chain). */
  readonly intervalMs: number;
}

/** The next tick to run after one has finished. */
export interface NextTick {
  /** Index of the next tick (0 is the origin). */
  readonly index: number;
  /** When it is due, in milliseconds on the same clock as `now`. */
  readonly deadlineMs: number;
  /** How many deadlines were missed and will not run. */
  readonly skipped: number;
}

/**
 * Converts a `wake_interval` in seconds to milliseconds for a schedule. Not
 * capped: an interval past {@link MAX_TIMER_MS} (24.8 days) is waited out by
 * `setLongTimeout()`, which chains timers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { intervalMsFromSeconds } from "./schedule.ts";
 * assert.equal(intervalMsFromSeconds(0.25), 250);
 * assert.equal(intervalMsFromSeconds(3e6), 3e9); // 34.7 days, as written
 * ```
 */
export function intervalMsFromSeconds(seconds: number): number {
  return seconds * 1000;
}

/**
 * The tick that follows tick `lastIndex`, given that it finished at `nowMs`:
 * the next deadline that is not yet past. A deadline exactly at `nowMs` is
 * due, not missed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextTick } from "./schedule.ts";
 * const schedule = { originMs: 1000, intervalMs: 100 };
 * // On time: tick 1 ran and finished at 1130, tick 2 is due at 1200.
 * assert.deepEqual(nextTick(schedule, 1, 1130), { index: 2, deadlineMs: 1200, skipped: 0 });
 * // Overrun: tick 1 finished at 1350, so ticks 2 and 3 are skipped.
 * assert.deepEqual(nextTick(schedule, 1, 1350), { index: 4, deadlineMs: 1400, skipped: 2 });
 * // A deadline exactly at now is due, not missed.
 * assert.deepEqual(nextTick(schedule, 1, 1300), { index: 3, deadlineMs: 1300, skipped: 1 });
 * ```
 */
export function nextTick(schedule: Schedule, lastIndex: number, nowMs: number): NextTick {
  const { originMs, intervalMs } = schedule;
  const due = Math.ceil((nowMs - originMs) / intervalMs);
  const index = Math.max(lastIndex + 1, due);
  return { index, deadlineMs: originMs + index * intervalMs, skipped: index - lastIndex - 1 };
}

/**
 * How long a timer should wait for `deadlineMs`, never negative and never past
 * the timer limit (a longer wait re-arms when the timer fires early).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { timerDelayMs, MAX_TIMER_MS } from "./schedule.ts";
 * assert.equal(timerDelayMs(1500, 1000), 500);
 * assert.equal(timerDelayMs(900, 1000), 0);
 * assert.equal(timerDelayMs(1e13, 0), MAX_TIMER_MS);
 * ```
 */
export function timerDelayMs(deadlineMs: number, nowMs: number): number {
  return Math.min(Math.max(0, deadlineMs - nowMs), MAX_TIMER_MS);
}

/**
 * A schedule with a new interval that keeps the last tick's deadline as its
 * origin, so a reload that changes `wake_interval` takes effect from the tick
 * that ran last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rebase } from "./schedule.ts";
 * assert.deepEqual(rebase({ originMs: 0, intervalMs: 100 }, 7, 250), { originMs: 700, intervalMs: 250 });
 * ```
 */
export function rebase(schedule: Schedule, lastIndex: number, intervalMs: number): Schedule {
  return { originMs: schedule.originMs + lastIndex * schedule.intervalMs, intervalMs };
}
