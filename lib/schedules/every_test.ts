import assert from "node:assert/strict";
import { countEveryDeadlines, everyTimetable, nextEveryDeadline } from "./every.ts";

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

Deno.test("nextEveryDeadline() is the next anchored deadline after now", () => {
  const cases: [periodMs: number, anchorMs: number, nowIso: string, nextIso: string][] = [
    [HOUR, 0, "2025-06-01T10:20:00Z", "2025-06-01T11:00:00Z"],
    [HOUR, 0, "2025-06-01T10:59:59.999Z", "2025-06-01T11:00:00Z"],
    [HOUR, 0, "2025-06-01T11:00:00Z", "2025-06-01T12:00:00Z"], // a deadline is not after itself
    [15 * 60_000, 0, "2025-06-01T10:31:00Z", "2025-06-01T10:45:00Z"],
    [86_400_000, 0, "2025-06-01T10:20:00Z", "2025-06-02T00:00:00Z"], // UTC midnight
    [90_000, 0, "1970-01-01T00:02:00Z", "1970-01-01T00:03:00Z"],
    [7 * 60_000, 0, "2025-06-01T00:00:00Z", "2025-06-01T00:06:00Z"], // 7 m does not divide a day: 23:59, 00:06
    [HOUR, at("2025-06-01T10:10:00Z"), "2025-06-01T10:20:00Z", "2025-06-01T11:10:00Z"],
    [HOUR, at("2030-01-01T00:30:00Z"), "2025-06-01T10:20:00Z", "2025-06-01T10:30:00Z"], // anchor later
    [HOUR, 0, "1969-12-31T22:20:00Z", "1969-12-31T23:00:00Z"], // before the anchor
  ];
  for (const [periodMs, anchorMs, nowIso, nextIso] of cases) {
    assert.equal(
      new Date(nextEveryDeadline({ periodMs, anchorMs }, at(nowIso))).toISOString(),
      new Date(at(nextIso)).toISOString(),
      `${periodMs} ms from ${anchorMs} at ${nowIso}`,
    );
  }
});

Deno.test("nextEveryDeadline() never drifts over many periods", () => {
  const schedule = { periodMs: 1_000, anchorMs: 0 };
  let deadline = nextEveryDeadline(schedule, at("2025-06-01T00:00:00.500Z"));
  for (let i = 0; i < 100_000; i++) {
    // Each run fires a little late; the next deadline is still on the grid.
    deadline = nextEveryDeadline(schedule, deadline + 7);
  }
  assert.equal(deadline, at("2025-06-01T00:00:01Z") + 100_000 * 1_000);
  // Large epochs and odd periods stay exact.
  const odd = { periodMs: 999_983 };
  const next = nextEveryDeadline(odd, 8.64e15 - 5e9);
  assert.equal(next % odd.periodMs, 0);
  assert.ok(next > 8.64e15 - 5e9 && next - odd.periodMs <= 8.64e15 - 5e9);
});

Deno.test("countEveryDeadlines() counts the deadlines skipped after a suspend", () => {
  const hourly = { periodMs: HOUR };
  const cases: [plannedIso: string, nowIso: string, missed: number][] = [
    ["2025-06-01T01:00:00Z", "2025-06-01T01:00:00Z", 0], // on time
    ["2025-06-01T01:00:00Z", "2025-06-01T01:59:59Z", 0], // late, but within the period
    ["2025-06-01T01:00:00Z", "2025-06-01T02:00:00Z", 1], // exactly at the next one: missed
    ["2025-06-01T01:00:00Z", "2025-06-01T04:10:00Z", 3], // slept 3 h: 02:00, 03:00, 04:00
    ["2025-06-01T01:00:00Z", "2025-06-01T00:30:00Z", 0], // wall clock set back
    ["2025-06-01T01:00:00Z", "2025-06-08T01:00:00Z", 168], // a week
  ];
  for (const [plannedIso, nowIso, missed] of cases) {
    assert.equal(countEveryDeadlines(hourly, at(plannedIso), at(nowIso)), missed, nowIso);
  }
});

Deno.test("everyTimetable() rejects periods that are not whole positive milliseconds", () => {
  for (const periodMs of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => everyTimetable({ periodMs }), RangeError, String(periodMs));
  }
  assert.throws(() => everyTimetable({ periodMs: 1, anchorMs: 0.5 }), RangeError);
  assert.throws(() => nextEveryDeadline({ periodMs: 1 }, NaN), RangeError);
});

Deno.test("everyTimetable() counts at most the limit", () => {
  const timetable = everyTimetable({ periodMs: 1000 });
  assert.equal(timetable.countBetween(0, 86_400_000, 1000), 1000);
  assert.equal(timetable.countBetween(0, 5000, 1000), 5);
  assert.equal(timetable.description, "every 1s");
});
