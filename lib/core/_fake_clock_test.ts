import assert from "node:assert/strict";
import { FakeClock } from "./_fake_clock.ts";
import { setLongTimeout } from "./delay.ts";

Deno.test("FakeClock.advance() fires due timers in deadline order, each at its own moment", () => {
  using clock = FakeClock.install(100);
  const fired: string[] = [];
  const at = (name: string) => () => fired.push(`${name}@${performance.now()}`);
  setTimeout(at("b"), 20);
  setTimeout(at("a"), 10);
  setTimeout(at("a2"), 10); // same deadline: in the order armed
  clearTimeout(setTimeout(at("cancelled"), 5));
  setTimeout(() => {
    at("c")();
    setTimeout(at("armed by c"), 5); // falls inside the step: fires too
  }, 30);
  setTimeout(at("later"), 100);
  clock.advance(40);
  assert.deepEqual(fired, ["a@110", "a2@110", "b@120", "c@130", "armed by c@135"]);
  assert.deepEqual([clock.nowMs(), clock.pending], [140, 1]);
});

Deno.test("FakeClock.next() waits for a timer to be armed, then fires the earliest", async () => {
  using clock = FakeClock.install();
  const fired: number[] = [];
  // Armed a few turns later, as the runtime arms the next tick after an async unit.
  const arming = (async () => {
    await Promise.resolve();
    await Promise.resolve();
    setLongTimeout(() => fired.push(clock.nowMs()), 3e9); // past the timer limit: chained
  })();
  assert.equal(clock.pending, 0);
  assert.equal(await clock.next(), 2 ** 31 - 1);
  assert.deepEqual(fired, [], "the first link of the chain only");
  assert.equal(await clock.next(), 3e9);
  assert.deepEqual(fired, [3e9]);
  await arming;
});

Deno.test("FakeClock restores the real timers and performance.now() when disposed", async () => {
  const realSetTimeout = globalThis.setTimeout;
  {
    using clock = FakeClock.install(5);
    assert.notEqual(globalThis.setTimeout, realSetTimeout);
    assert.equal(performance.now(), 5);
    assert.throws(() => FakeClock.install(), /installed already/);
    setTimeout(() => assert.fail("a pending fake timer is dropped"), 1);
    assert.equal(clock.pending, 1);
  }
  assert.equal(globalThis.setTimeout, realSetTimeout);
  assert.ok(performance.now() > 5);
  await new Promise((resolve) => setTimeout(resolve, 1)); // a real timer fires again
});
