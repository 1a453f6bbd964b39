import assert from "node:assert/strict";
import { FakeScheduleClock } from "./_fake_clock.ts";
import { parseCron } from "./calendar.ts";
import { everyTimetable } from "./every.ts";
import type { Timetable } from "./timetable.ts";
import {
  RECHECK_MS,
  type ScheduleEntry,
  ScheduleSource,
  type ScheduleSourceOptions,
  systemClock,
} from "./schedule_source.ts";
import type { ScheduleTrigger } from "./trigger.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Starts a source on a fake clock and collects what it fires, as ISO strings. */
function harness(
  startIso: string,
  entries: ScheduleEntry[],
  options: Omit<ScheduleSourceOptions, "clock"> = {},
) {
  const clock = new FakeScheduleClock(at(startIso));
  const source = new ScheduleSource(entries, { ...options, clock });
  const fired: ScheduleTrigger[] = [];
  const stop = source.start((trigger) => fired.push(trigger));
  const runs = () =>
    fired.splice(0).map((t) =>
      `${t.key} at ${iso(t.firedAtMs)} due ${iso(t.dueMs)} missed ${t.missed}${
        t.catchUp ? " catch-up" : ""
      }`
    );
  return { clock, source, stop, runs };
}

const hourly = (extra: Partial<ScheduleEntry> = {}): ScheduleEntry => ({
  key: "schedule:hourly",
  name: "hourly",
  timetable: everyTimetable({ periodMs: HOUR }),
  ...extra,
});

Deno.test("ScheduleSource fires at absolute deadlines without drift", () => {
  const { clock, runs, source } = harness("2025-06-01T10:20:00Z", [hourly()]);
  assert.deepEqual(source.status(), [{
    key: "schedule:hourly",
    name: "hourly",
    description: "every 1h",
    dueMs: at("2025-06-01T11:00:00Z"),
    runAtMs: at("2025-06-01T11:00:00Z"),
  }]);
  clock.advanceTo(at("2025-06-01T10:59:59.999Z"));
  assert.deepEqual(runs(), []);
  clock.advanceTo(at("2025-06-01T13:30:00Z"));
  assert.deepEqual(runs(), [
    "schedule:hourly at 2025-06-01T11:00:00.000Z due 2025-06-01T11:00:00.000Z missed 0",
    "schedule:hourly at 2025-06-01T12:00:00.000Z due 2025-06-01T12:00:00.000Z missed 0",
    "schedule:hourly at 2025-06-01T13:00:00.000Z due 2025-06-01T13:00:00.000Z missed 0",
  ]);
  clock.advance(1000 * HOUR); // 1000 more hours: still on the hour
  const last = runs().at(-1);
  assert.equal(
    last,
    "schedule:hourly at 2025-07-13T05:00:00.000Z due 2025-07-13T05:00:00.000Z missed 0",
  );
});

Deno.test("ScheduleSource runs once after a 3-hour suspend and counts what it missed", () => {
  const { clock, runs, source } = harness("2025-06-01T00:30:00Z", [hourly()]);
  clock.advanceTo(at("2025-06-01T00:45:00Z"));
  // Suspend: the wall clock jumps 3 hours while timers (monotonic) stand still.
  clock.stepWall(3 * HOUR);
  assert.deepEqual(runs(), []);
  clock.advance(RECHECK_MS); // resumed: the source notices within RECHECK_MS
  assert.deepEqual(runs(), [
    // 01:00 is run (late); 02:00 and 03:00 were coalesced into it.
    "schedule:hourly at 2025-06-01T03:46:00.000Z due 2025-06-01T01:00:00.000Z missed 2",
  ]);
  assert.equal(iso(source.status()[0].dueMs), "2025-06-01T04:00:00.000Z");
  clock.advanceTo(at("2025-06-01T04:00:00Z"));
  assert.deepEqual(runs(), [
    "schedule:hourly at 2025-06-01T04:00:00.000Z due 2025-06-01T04:00:00.000Z missed 0",
  ]);
});

Deno.test("ScheduleSource starts over after the wall clock is set back by hours", () => {
  const { clock, runs, source } = harness("2025-06-02T10:20:00Z", [hourly()]);
  clock.stepWall(-24 * HOUR); // date -s: one day back, a correction
  clock.advance(RECHECK_MS);
  assert.equal(iso(source.status()[0].dueMs), "2025-06-01T11:00:00.000Z");
  clock.advanceTo(at("2025-06-01T11:00:00Z"));
  assert.deepEqual(runs(), [
    "schedule:hourly at 2025-06-01T11:00:00.000Z due 2025-06-01T11:00:00.000Z missed 0",
  ]);
});

Deno.test("ScheduleSource never repeats a run after a short step back", () => {
  const { clock, runs, source } = harness("2025-06-01T10:20:00Z", [hourly()]);
  clock.advanceTo(at("2025-06-01T11:00:10Z"));
  assert.equal(runs().length, 1); // 11:00
  clock.stepWall(-2 * HOUR); // back to 09:00:10: 10:00 and 11:00 come round again
  clock.advance(3 * HOUR); // wall 12:00:10
  assert.deepEqual(runs(), [
    "schedule:hourly at 2025-06-01T12:00:00.000Z due 2025-06-01T12:00:00.000Z missed 0",
  ]);
  assert.equal(iso(source.status()[0].dueMs), "2025-06-01T13:00:00.000Z");
});

Deno.test("ScheduleSource measures a step back from where the clock should be, not from the last run", async () => {
  // A nightly run fired 20 hours ago; the clock, fast by most of a day, is corrected by 22
  // hours. Measured from the last run that is a 2-hour step (kept: the run of tomorrow 03:00,
  // a day lost); from where the clock should be, 22 hours (a correction: today's 03:00 runs).
  const nightly: ScheduleEntry = {
    key: "schedule:nightly",
    name: "nightly",
    timetable: await parseCron("0 3 * * *", { timezone: "UTC" }),
  };
  const { clock, runs, source } = harness("2025-06-02T02:59:00Z", [nightly]);
  clock.advanceTo(at("2025-06-02T23:00:00Z"));
  assert.deepEqual(runs(), [
    "schedule:nightly at 2025-06-02T03:00:00.000Z due 2025-06-02T03:00:00.000Z missed 0",
  ]);
  clock.stepWall(-22 * HOUR); // now 2025-06-02T01:00
  clock.advance(RECHECK_MS);
  assert.equal(iso(source.status()[0].dueMs), "2025-06-02T03:00:00.000Z");
  clock.advanceTo(at("2025-06-02T03:00:00Z"));
  assert.deepEqual(runs(), [
    "schedule:nightly at 2025-06-02T03:00:00.000Z due 2025-06-02T03:00:00.000Z missed 0",
  ]);
});

Deno.test("ScheduleSource follows cron calendars across daylight-saving changes", async () => {
  const entries: ScheduleEntry[] = [
    {
      key: "schedule:berlin",
      name: "berlin",
      timetable: await parseCron("30 2 * * *", { timezone: "Europe/Berlin" }),
    },
    {
      key: "schedule:new-york",
      name: "new-york",
      timetable: await parseCron("30 1 * * *", { timezone: "America/New_York" }),
    },
  ];
  const newYork = harness("2025-03-08T12:00:00Z", entries.slice(1));
  newYork.clock.advanceTo(at("2025-03-10T12:00:00Z"));
  assert.deepEqual(newYork.runs(), [
    "schedule:new-york at 2025-03-09T06:30:00.000Z due 2025-03-09T06:30:00.000Z missed 0", // EST
    "schedule:new-york at 2025-03-10T05:30:00.000Z due 2025-03-10T05:30:00.000Z missed 0", // EDT
  ]);
  const berlin = harness("2025-03-28T12:00:00Z", entries.slice(0, 1));
  berlin.clock.advanceTo(at("2025-03-31T12:00:00Z"));
  assert.deepEqual(berlin.runs(), [
    "schedule:berlin at 2025-03-29T01:30:00.000Z due 2025-03-29T01:30:00.000Z missed 0", // 02:30 CET
    "schedule:berlin at 2025-03-30T01:30:00.000Z due 2025-03-30T01:30:00.000Z missed 0", // 03:30 CEST
    "schedule:berlin at 2025-03-31T00:30:00.000Z due 2025-03-31T00:30:00.000Z missed 0", // 02:30 CEST
  ]);
  const fall = harness("2025-11-01T12:00:00Z", entries.slice(1));
  fall.clock.advanceTo(at("2025-11-03T12:00:00Z"));
  assert.deepEqual(fall.runs(), [
    "schedule:new-york at 2025-11-02T05:30:00.000Z due 2025-11-02T05:30:00.000Z missed 0", // once
    "schedule:new-york at 2025-11-03T06:30:00.000Z due 2025-11-03T06:30:00.000Z missed 0",
  ]);
});

Deno.test("ScheduleSource delays each run by a fresh jitter, short of the next run", () => {
  const draws = [0.5, 0, 0.999999];
  let draw = 0;
  const { clock, runs, source } = harness(
    "2025-06-01T10:20:00Z",
    [hourly({ jitterMs: 10 * MINUTE })],
    { random: () => draws[draw++ % draws.length] },
  );
  assert.equal(iso(source.status()[0].runAtMs), "2025-06-01T11:05:00.000Z");
  clock.advanceTo(at("2025-06-01T13:30:00Z"));
  assert.deepEqual(runs(), [
    "schedule:hourly at 2025-06-01T11:05:00.000Z due 2025-06-01T11:00:00.000Z missed 0",
    "schedule:hourly at 2025-06-01T12:00:00.000Z due 2025-06-01T12:00:00.000Z missed 0",
    "schedule:hourly at 2025-06-01T13:10:00.000Z due 2025-06-01T13:00:00.000Z missed 0",
  ]);

  // A jitter longer than the period never pushes a run past the next one.
  const minutely = harness("2025-06-01T10:20:00Z", [{
    key: "schedule:minutely",
    name: "minutely",
    timetable: everyTimetable({ periodMs: MINUTE }),
    jitterMs: HOUR,
  }], { random: () => 0.999999 });
  minutely.clock.advanceTo(at("2025-06-01T10:25:00Z"));
  assert.deepEqual(minutely.runs(), [
    "schedule:minutely at 2025-06-01T10:21:59.999Z due 2025-06-01T10:21:00.000Z missed 0",
    "schedule:minutely at 2025-06-01T10:22:59.999Z due 2025-06-01T10:22:00.000Z missed 0",
    "schedule:minutely at 2025-06-01T10:23:59.999Z due 2025-06-01T10:23:00.000Z missed 0",
    "schedule:minutely at 2025-06-01T10:24:59.999Z due 2025-06-01T10:24:00.000Z missed 0",
  ]);
});

Deno.test("ScheduleSource catches up at start when a run was missed", () => {
  const { runs } = harness("2025-06-01T10:20:00Z", [
    hourly({ key: "schedule:never", name: "never", catchUp: { lastRunMs: null } }),
    hourly({
      key: "schedule:down",
      name: "down",
      catchUp: { lastRunMs: at("2025-06-01T06:00:05Z") }, // 07:00 to 10:00 missed
    }),
    hourly({
      key: "schedule:recent",
      name: "recent",
      catchUp: { lastRunMs: at("2025-06-01T10:00:05Z") },
    }),
    hourly({ key: "schedule:off", name: "off" }), // no catch_up
  ]);
  assert.deepEqual(runs(), [
    "schedule:never at 2025-06-01T10:20:00.000Z due 2025-06-01T10:20:00.000Z missed 0 catch-up",
    "schedule:down at 2025-06-01T10:20:00.000Z due 2025-06-01T07:00:00.000Z missed 3 catch-up",
  ]);
});

Deno.test("ScheduleSource stops firing and arming when disposed, even from fire", () => {
  const { clock, runs, source, stop } = harness("2025-06-01T10:20:00Z", [
    hourly(),
    hourly({ key: "schedule:other", name: "other" }),
  ]);
  assert.equal(clock.pending, 2);
  stop[Symbol.dispose]();
  assert.equal(clock.pending, 0);
  clock.advance(10 * HOUR);
  assert.deepEqual(runs(), []);
  assert.deepEqual(source.status().map((s) => [s.dueMs, s.runAtMs]), [[null, null], [null, null]]);

  const clock2 = new FakeScheduleClock(at("2025-06-01T10:20:00Z"));
  const source2 = new ScheduleSource([hourly()], { clock: clock2 });
  let fired = 0;
  const stop2 = source2.start(() => {
    fired++;
    stop2[Symbol.dispose]();
  });
  clock2.advance(10 * HOUR);
  assert.equal(fired, 1);
  assert.equal(clock2.pending, 0);
  assert.throws(() => source2.start(() => {}), /starts once/);
});

Deno.test("ScheduleSource leaves a timetable that has ended, and rejects shared keys", () => {
  const once: Timetable = {
    description: "once",
    nextAfter: (afterMs) => afterMs < 5000 ? 5000 : null,
    countBetween: (afterMs, untilMs) => afterMs < 5000 && untilMs >= 5000 ? 1 : 0,
  };
  const clock = new FakeScheduleClock(1000);
  const source = new ScheduleSource([{ key: "once", name: "once", timetable: once }], { clock });
  const fired: ScheduleTrigger[] = [];
  source.start((trigger) => fired.push(trigger));
  clock.advance(HOUR);
  assert.equal(fired.length, 1);
  assert.equal(clock.pending, 0);
  assert.equal(source.status()[0].dueMs, null);
  assert.throws(() => new ScheduleSource([hourly(), hourly()]), /share the key "schedule:hourly"/);
});

Deno.test("systemClock.setTimer() fires at the wall-clock time and can be cancelled", async () => {
  const startMs = systemClock.wallNowMs();
  const firedAtMs = await new Promise<number>((resolve) => {
    systemClock.setTimer(startMs + 20, () => resolve(systemClock.wallNowMs()));
  });
  assert.ok(firedAtMs >= startMs + 20, `${firedAtMs - startMs}`);
  let cancelledFired = false;
  using _timer = systemClock.setTimer(startMs + 10, () => cancelledFired = true);
  _timer[Symbol.dispose]();
  await new Promise<void>((resolve) => systemClock.setTimer(startMs + 40, resolve));
  assert.equal(cancelledFired, false);
});

Deno.test("ScheduleSource catches up across daylight-saving changes only when a run was missed", async () => {
  const berlin = await parseCron("30 2 * * *", { timezone: "Europe/Berlin" });
  const newYork = await parseCron("30 1 * * *", { timezone: "America/New_York" });
  const cases: [
    name: string,
    timetable: Timetable,
    lastRunIso: string,
    startIso: string,
    fired: string[],
  ][] = [
    [
      "spring forward: 02:30 runs at 03:30 CEST; down over it",
      berlin,
      "2025-03-29T01:30:00Z", // 02:30 CET
      "2025-03-30T02:00:00Z", // 04:00 CEST
      ["at 2025-03-30T02:00:00.000Z due 2025-03-30T01:30:00.000Z missed 0 catch-up"],
    ],
    [
      "spring forward: restarted before the shifted run",
      berlin,
      "2025-03-29T01:30:00Z",
      "2025-03-30T01:00:00Z", // 03:00 CEST
      [],
    ],
    [
      "fall back: 01:30 ran once (EDT); restarted in the repeated hour",
      newYork,
      "2025-11-02T05:30:00Z", // 01:30 EDT
      "2025-11-02T06:45:00Z", // 01:45 EST
      [],
    ],
    [
      "fall back: down from the day before, two days missed",
      newYork,
      "2025-10-31T05:30:00Z",
      "2025-11-02T12:00:00Z",
      ["at 2025-11-02T12:00:00.000Z due 2025-11-01T05:30:00.000Z missed 1 catch-up"],
    ],
  ];
  for (const [name, timetable, lastRunIso, startIso, fired] of cases) {
    const { runs, stop } = harness(startIso, [{
      key: "schedule:nightly",
      name: "nightly",
      timetable,
      catchUp: { lastRunMs: at(lastRunIso) },
    }]);
    assert.deepEqual(runs().map((run) => run.replace("schedule:nightly ", "")), fired, name);
    stop[Symbol.dispose]();
  }
});
