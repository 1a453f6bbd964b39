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

/**
 * Whether a schedule with `catch_up: true` should run once at start: it
 * never ran (no record), or a run time passed since its last run, that is
 * `timetable.nextAfter(lastRunMs) <= nowMs` (for `every: 1h` anchored on the
 * hour: a full hour began since it last ran; for a cron: a due time was
 * missed). A last run in the future (the clock was set back) counts as "just
 * ran". Compared with "the last run is older than one period", this does not
 * miss a run when the last one started a little after its due time.
 *
 * @param lastRunMs When it last ran (Unix epoch milliseconds, as recorded
 *   when it fired), or null when it never ran.
 * @param timetable Its run times.
 * @param nowMs The wall clock now, Unix epoch milliseconds.
 * @returns True when it should run once now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { everyTimetable } from "./every.ts";
 * import { isCatchUpDue } from "./timetable.ts";
 * const hourly = everyTimetable({ periodMs: 3_600_000 });
 * const at = (iso: string) => Date.parse(iso);
 * assert.equal(isCatchUpDue(null, hourly, at("2025-06-01T10:20:00Z")), true);
 * assert.equal(isCatchUpDue(at("2025-06-01T10:00:02Z"), hourly, at("2025-06-01T10:59:00Z")), false);
 * assert.equal(isCatchUpDue(at("2025-06-01T10:00:02Z"), hourly, at("2025-06-01T11:00:01Z")), true);
 * ```
 */
export function isCatchUpDue(
  lastRunMs: number | null,
  timetable: Pick<Timetable, "nextAfter">,
  nowMs: number,
): boolean {
  if (lastRunMs === null) return true;
  if (lastRunMs >= nowMs) return false;
  const next = timetable.nextAfter(lastRunMs);
  return next !== null && next <= nowMs;
}

/**
 * The first `count` run times strictly after `afterMs`, in order; fewer when
 * the timetable ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { everyTimetable } from "./every.ts";
 * import { nextRunTimes } from "./timetable.ts";
 * assert.deepEqual(nextRunTimes(everyTimetable({ periodMs: 1000 }), 1500, 3), [2000, 3000, 4000]);
 * ```
 */
export function nextRunTimes(
  timetable: Pick<Timetable, "nextAfter">,
  afterMs: number,
  count: number,
): number[] {
  const runs: number[] = [];
  let at: number | null = afterMs;
  while (runs.length < count) {
    at = timetable.nextAfter(at);
    if (at === null) break;
    runs.push(at);
  }
  return runs;
}
