/**
 * `every:` schedules: fixed periods anchored on wall-clock time.
 *
 * Run `k` of a schedule is due at `anchorMs + k * periodMs` on the wall
 * clock (Unix epoch milliseconds), for every integer `k`. The anchor is the
 * Unix epoch (`anchorMs = 0`) unless given:
 *
 * - `every: 1h` runs on the hour and `every: 15m` at :00, :15, :30 and :45,
 *   as people expect of a timer; periods that divide a day keep the same
 *   times every day (in UTC: `every: 1d` runs at 00:00 UTC, not at local
 *   midnight; `cron: "@daily"` is local midnight).
 * - A restart keeps the phase: the times do not depend on when the process
 *   started, so a daemon restarted every 50 minutes still runs `every: 1h`
 *   once an hour (anchored on its start time, it would never reach its
 *   first deadline), and catch-up (`state_file.ts`) can tell exactly
 *   whether a due time was missed while it was down.
 * - Deadlines are computed from the anchor, never by adding the period to
 *   the last run, so they never drift, and a jump of the wall clock (a
 *   suspend, an NTP step) moves to the right deadline at once: the runs
 *   missed meanwhile are skipped and counted ({@link countEveryDeadlines}).
 *
 * Many instances anchored on the epoch run at the same moment: give them
 * `jitter:`.
 *
 * @module
 */

import { formatDuration } from "./duration.ts";
import type { Timetable } from "./timetable.ts";

/** An `every:` schedule. */
export interface EverySchedule {
  /** The period in milliseconds: a positive safe integer (see `parseDurationMs`). */
  readonly periodMs: number;
  /** A due time, in Unix epoch milliseconds (a whole number). Default 0, the Unix epoch. */
  readonly anchorMs?: number;
}

/**
 * The first deadline strictly after `afterMs`: the least
 * `anchorMs + k * periodMs` greater than `afterMs`. Pure and exact for whole
 * milliseconds (no floating-point drift over any number of periods).
 *
 * @param schedule The period and anchor.
 * @param afterMs Unix epoch milliseconds (typically "now").
 * @returns Unix epoch milliseconds.
 * @throws {RangeError} When `periodMs` is not a positive safe integer or
 *   `afterMs` is not finite (a bug: the config loader rejects such values).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextEveryDeadline } from "./every.ts";
 * const hourly = { periodMs: 3_600_000 };
 * const at = (iso: string) => Date.parse(iso);
 * assert.equal(nextEveryDeadline(hourly, at("2025-06-01T10:20:00Z")), at("2025-06-01T11:00:00Z"));
 * // A deadline is not after itself: the next one is a period later.
 * assert.equal(nextEveryDeadline(hourly, at("2025-06-01T11:00:00Z")), at("2025-06-01T12:00:00Z"));
 * ```
 */
export function nextEveryDeadline(schedule: EverySchedule, afterMs: number): number {
  const { periodMs, anchorMs = 0 } = checked(schedule);
  if (!Number.isFinite(afterMs)) throw new RangeError(`Expected a finite time, got ${afterMs}`);
  let k = Math.floor((afterMs - anchorMs) / periodMs) + 1;
  // Float division may be one off near huge quotients: settle on the exact k.
  while (anchorMs + k * periodMs <= afterMs) k++;
  while (anchorMs + (k - 1) * periodMs > afterMs) k--;
  return anchorMs + k * periodMs;
}

/**
 * How many deadlines lie in `(afterMs, untilMs]`. When the timer for the
 * deadline `plannedMs` fires at `nowMs`, one run happens and
 * `countEveryDeadlines(schedule, plannedMs, nowMs)` more were missed (a
 * suspend, a wall-clock step): they are skipped, not run late.
 *
 * @param schedule The period and anchor.
 * @param afterMs Unix epoch milliseconds, excluded.
 * @param untilMs Unix epoch milliseconds, included.
 * @returns A whole number, 0 when `untilMs <= afterMs`.
 * @throws {RangeError} As {@link nextEveryDeadline}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countEveryDeadlines, nextEveryDeadline } from "./every.ts";
 * const hourly = { periodMs: 3_600_000 };
 * const at = (iso: string) => Date.parse(iso);
 * // Planned for 01:00, the machine slept until 04:10: one run now, 3 missed
 * // (02:00, 03:00, 04:00), and the next is at 05:00, not 02:00.
 * const planned = at("2025-06-01T01:00:00Z"), now = at("2025-06-01T04:10:00Z");
 * assert.equal(countEveryDeadlines(hourly, planned, now), 3);
 * assert.equal(nextEveryDeadline(hourly, now), at("2025-06-01T05:00:00Z"));
 * ```
 */
export function countEveryDeadlines(
  schedule: EverySchedule,
  afterMs: number,
  untilMs: number,
): number {
  if (!(untilMs > afterMs)) return 0;
  const first = nextEveryDeadline(schedule, afterMs);
  if (first > untilMs) return 0;
  return Math.floor((untilMs - first) / schedule.periodMs) + 1;
}

/**
 * The {@link Timetable} of an `every:` schedule.
 *
 * @param schedule The period and anchor.
 * @returns A timetable described as `every <duration>`.
 * @throws {RangeError} When `periodMs` is not a positive safe integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { everyTimetable } from "./every.ts";
 * const timetable = everyTimetable({ periodMs: 90_000 });
 * assert.equal(timetable.description, "every 1m30s");
 * assert.equal(timetable.nextAfter(100_000), 180_000);
 * assert.equal(timetable.countBetween(0, 900_000, 1000), 10);
 * ```
 */
export function everyTimetable(schedule: EverySchedule): Timetable {
  const fixed = checked(schedule);
  const anchor = fixed.anchorMs ? ` from ${new Date(fixed.anchorMs).toISOString()}` : "";
  return {
    description: `every ${formatDuration(fixed.periodMs)}${anchor}`,
    nextAfter: (afterMs) => nextEveryDeadline(fixed, afterMs),
    countBetween: (afterMs, untilMs, limit) =>
      Math.min(limit, countEveryDeadlines(fixed, afterMs, untilMs)),
  };
}

function checked(schedule: EverySchedule): Required<EverySchedule> {
  const { periodMs, anchorMs = 0 } = schedule;
  if (!Number.isSafeInteger(periodMs) || periodMs <= 0) {
    throw new RangeError(`Expected a period of whole positive milliseconds, got ${periodMs}`);
  }
  if (!Number.isSafeInteger(anchorMs)) {
    throw new RangeError(`Expected an anchor in whole milliseconds, got ${anchorMs}`);
  }
  return { periodMs, anchorMs };
}
