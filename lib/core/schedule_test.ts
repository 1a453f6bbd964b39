import assert from "node:assert/strict";
import { intervalMsFromSeconds, MAX_TIMER_MS, nextTick, rebase, timerDelayMs } from "./schedule.ts";

Deno.test("nextTick() follows the fixed-rate schedule", () => {
  const schedule = { originMs: 1000, intervalMs: 100 };
  const cases: [
    lastIndex: number,
    nowMs: number,
    index: number,
    deadlineMs: number,
    skipped: number,
  ][] = [
    [0, 1000, 1, 1100, 0], // process() took no time
    [0, 1099.9, 1, 1100, 0], // just in time
    [0, 1100, 1, 1100, 0], // exactly at the next deadline: due, not missed
    [0, 1100.1, 2, 1200, 1], // a hair late: tick 1 skipped
    [3, 1730, 8, 1800, 4], // long overrun skips 4, 5, 6, 7
    [5, 1200, 6, 1600, 0], // clock behind the index never goes backwards
  ];
  for (const [lastIndex, nowMs, index, deadlineMs, skipped] of cases) {
    assert.deepEqual(
      nextTick(schedule, lastIndex, nowMs),
      { index, deadlineMs, skipped },
      `${lastIndex}@${nowMs}`,
    );
  }
});

Deno.test("nextTick() keeps fractional intervals from drifting", () => {
  const schedule = { originMs: 0, intervalMs: 100 / 3 };
  let index = 0;
  for (let i = 0; i < 30; i++) {
    index = nextTick(schedule, index, schedule.intervalMs * index + 5).index;
  }
  assert.equal(index, 30);
  assert.ok(Math.abs(nextTick(schedule, 29, 990).deadlineMs - 1000) < 1e-9);
});

Deno.test("timerDelayMs() is never negative nor past the timer limit", () => {
  assert.equal(timerDelayMs(100, 200), 0);
  assert.equal(timerDelayMs(250, 200), 50);
  assert.equal(timerDelayMs(Number.MAX_VALUE, 0), MAX_TIMER_MS);
});

Deno.test("intervalMsFromSeconds() keeps an interval past the timer limit as written", () => {
  assert.equal(intervalMsFromSeconds(60), 60_000);
  assert.equal(intervalMsFromSeconds(0.001), 1);
  assert.equal(intervalMsFromSeconds(3e6), 3e9);
  assert.ok(intervalMsFromSeconds(3e6) > MAX_TIMER_MS);
});

Deno.test("rebase() starts the new interval at the last tick's deadline", () => {
  const rebased = rebase({ originMs: 50, intervalMs: 10 }, 4, 1000);
  assert.deepEqual(rebased, { originMs: 90, intervalMs: 1000 });
  assert.equal(nextTick(rebased, 0, 95).deadlineMs, 1090);
});
