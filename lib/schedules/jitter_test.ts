import assert from "node:assert/strict";
import { jitteredDeadline } from "./jitter.ts";

Deno.test("jitteredDeadline() stays within [due, due + jitter]", () => {
  const cases: [random: number, dueMs: number, jitterMs: number, deadlineMs: number][] = [
    [0, 1000, 500, 1000],
    [0.5, 1000, 500, 1250],
    [1 - Number.EPSILON, 1000, 500, 1500], // the top of the range is reachable
    [0.999, 1000, 0, 1000], // no jitter
    [0.7, 1000, 0.5, 1000], // under a millisecond rounds down to none
    [0.5, 1000, 1, 1001],
  ];
  for (const [random, dueMs, jitterMs, deadlineMs] of cases) {
    assert.equal(jitteredDeadline(dueMs, jitterMs, { random: () => random }), deadlineMs);
  }
});

Deno.test("jitteredDeadline() covers the whole range with a real random source", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const deadline = jitteredDeadline(10_000, 9);
    assert.ok(deadline >= 10_000 && deadline <= 10_009, String(deadline));
    assert.ok(Number.isInteger(deadline));
    seen.add(deadline);
  }
  assert.equal(seen.size, 10); // 2000 draws over 10 values: each seen (1 in 10^90 to fail)
});

Deno.test("jitteredDeadline() never reaches the next run", () => {
  const top = () => 1 - Number.EPSILON;
  assert.equal(jitteredDeadline(1000, 5000, { random: top, beforeMs: 2000 }), 1999);
  assert.equal(jitteredDeadline(1000, 500, { random: top, beforeMs: 2000 }), 1500);
  assert.equal(jitteredDeadline(1000, 500, { random: top, beforeMs: 1001 }), 1000);
  assert.equal(jitteredDeadline(1000, 500, { random: top, beforeMs: 1000 }), 1000);
});

Deno.test("jitteredDeadline() rejects a bad jitter or random source", () => {
  for (const jitterMs of [-1, NaN, Infinity]) {
    assert.throws(() => jitteredDeadline(0, jitterMs), RangeError, String(jitterMs));
  }
  for (const random of [1, -0.1, NaN]) {
    assert.throws(() => jitteredDeadline(0, 10, { random: () => random }), RangeError);
  }
});
