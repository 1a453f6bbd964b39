import assert from "node:assert/strict";
import { delay, MAX_TIMER_MS, setLongTimeout } from "./delay.ts";

Deno.test("setLongTimeout() never fires early for a delay past the timer limit", async () => {
  // A plain setTimeout(…, MAX_TIMER_MS + 1) fires at once (timer overflow).
  let fired = false;
  const timer = setLongTimeout(() => fired = true, MAX_TIMER_MS + 1);
  await delay(20);
  timer.cancel();
  assert.equal(fired, false);
});

Deno.test("setLongTimeout() fires once, after the delay", async () => {
  const start = performance.now();
  let count = 0;
  await new Promise<void>((resolve) =>
    setLongTimeout(() => {
      count++;
      resolve();
    }, 15)
  );
  assert.ok(performance.now() - start >= 15);
  await delay(5);
  assert.equal(count, 1);
});

Deno.test("setLongTimeout() with Infinity never fires and leaves no timer", () => {
  setLongTimeout(() => assert.fail("fired"), Infinity);
});

Deno.test("delay() rejects with the signal's reason when aborted", async () => {
  const abort = new AbortController();
  const waiting = delay(MAX_TIMER_MS * 2, { signal: abort.signal });
  abort.abort(new Error("stop"));
  await assert.rejects(waiting, { message: "stop" });
});
