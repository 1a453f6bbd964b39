/**
 * A timetable: the run times of one schedule, on the wall clock (Unix epoch
 * milliseconds). `every:` schedules (`every.ts`) and `cron:` schedules
 * (`calendar.ts`) both implement it, so the trigger source, catch-up and
 * status treat them alike.
 *
 * @module
 */

/** Run times on the wall clock, as a pure function of a given time. */
export interface Timetable {
  /** For logs and status: `every 1h`, `cron "0 3 * * *" (Europe/Berlin)`. */
  readonly description: string;
  /**
   * The first run time strictly after `afterMs`.
   *
   * @param afterMs Unix epoch milliseconds.
   * @returns Unix epoch milliseconds (a whole number), or null when no run
   *   follows (a cron date that never comes again).
   */
  nextAfter(afterMs: number): number | null;
  /**
   * How many run times lie in `(afterMs, untilMs]`, counting at most `limit`.
   *
   * @param afterMs Unix epoch milliseconds, excluded.
   * @param untilMs Unix epoch milliseconds, included.
   * @param limit The most to count; the answer is `limit` when there are more.
   * @returns 0 when `untilMs <= afterMs`.
   */
  countBetween(afterMs: number, untilMs: number, limit: number): number;
}

/**
 * How many missed runs are counted at most when a schedule catches up after
 * a suspend (counting a per-second cron over a week would take seconds).
 */
export const MISSED_COUNT_LIMIT = 1000;

/**
 * Counts run times in `(afterMs, untilMs]` by stepping with
 * {@link Timetable.nextAfter}: for timetables without closed-form arithmetic.
 *
 * @param timetable Supplies `nextAfter`.
 * @param afterMs Unix epoch milliseconds, excluded.
 * @param untilMs Unix epoch milliseconds, included.
 * @param limit The most to count (steps taken at most).
 * @returns The count, at most `limit`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countBySteps } from "./timetable.ts";
 * const tens = { nextAfter: (ms: number) => Math.floor(ms / 10) * 10 + 10 };
 * assert.equal(countBySteps(tens, 0, 100, 1000), 10); // 10, 20, …, 100
 * assert.equal(countBySteps(tens, 0, 100, 3), 3);
 * ```
 */
export function countBySteps(
  timetable: Pick<Timetable, "nextAfter">,
  afterMs: number,
  untilMs: number,
  limit: number,
): number {
  let count = 0;
  let at: number | null = afterMs;
  while (count < limit) {
    at = timetable.nextAfter(at);
    if (at === null || at > untilMs) break;
    count++;
  }
  return count;
}
