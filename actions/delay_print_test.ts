import assert from "node:assert/strict";
import DelayPrintAction from "./delay_print.ts";
import { createTestContext } from "./_test_context.ts";
import { delay } from "../lib/core/delay.ts";

Deno.test("`delay_print` prints init, the message then finished delaying each run, cleanup", async () => {
  const context = createTestContext({ name: "delay_print" });
  const action = new DelayPrintAction(context);
  action.setUp("hello", "0");
  assert.deepEqual(context.output, "init\n");
  const run = action.run(context);
  assert.deepEqual(context.output, "init\nhello\n", "the message comes before the wait");
  await run;
  await action.run(context);
  action.tearDown();
  assert.deepEqual(
    context.output,
    "init\nhello\nfinished delaying\nhello\nfinished delaying\ncleanup\n",
  );
});

Deno.test("`delay_print` waits the delay before finishing", async () => {
  const context = createTestContext();
  const action = new DelayPrintAction(context);
  action.setUp("hi", "1");
  const started = performance.now();
  await action.run(context);
  const elapsedMs = performance.now() - started;
  assert.deepEqual(elapsedMs >= 990, true, `waited ${elapsedMs} ms`);
  assert.deepEqual(context.output, "init\nhi\nfinished delaying\n");
});

Deno.test("`delay_print` stops waiting without finishing when the run's signal fires", async () => {
  const context = createTestContext();
  const action = new DelayPrintAction(context);
  action.setUp("hi", "3600");
  const run = action.run(context);
  context.abort(new Error("run timed out"));
  await run;
  assert.deepEqual(context.output, "init\nhi\n");
  assert.deepEqual(context.logs, ["debug: Delay cut short after the message: run timed out"]);
});

Deno.test("`delay_print` returns at once when the signal has already fired", async () => {
  const context = createTestContext();
  context.abort(new Error("stopping"));
  const action = new DelayPrintAction(context);
  action.setUp("hi", "3600");
  await action.run(context);
  assert.deepEqual(context.output, "init\nhi\n");
});

Deno.test("`delay_print` tear-down ends a wait in flight, so cleanup is the last line", async () => {
  const context = createTestContext();
  const action = new DelayPrintAction(context);
  action.setUp("hi", "3600");
  const run = action.run(context);
  action.tearDown();
  await run;
  assert.deepEqual(context.output, "init\nhi\ncleanup\n");
});

Deno.test("`delay_print` accepts what Python's int() takes for a delay", () => {
  for (const seconds of ["0", "+2", " 3 ", "007", "-0", "2147484", "9007199254740"]) {
    const context = createTestContext();
    new DelayPrintAction(context).setUp("hi", seconds);
    assert.deepEqual(context.output, "init\n", seconds);
  }
});

Deno.test("`delay_print` set-up rejects a delay that is not whole seconds from 0 to 9007199254740", () => {
  for (const seconds of ["1.5", "-1", "", "ten", "1e3", "0x10", "9007199254741"]) {
    const context = createTestContext();
    assert.throws(
      () => new DelayPrintAction(context).setUp("hi", seconds),
      {
        message: `Argument "delay" must be a whole number of seconds from 0 to 9007199254740, got ${
          JSON.stringify(seconds)
        }`,
      },
    );
    assert.deepEqual(context.output, "", "no init when set-up fails");
  }
});

Deno.test("`delay_print` waits a delay past the timer limit (3000000 s) instead of finishing at once", async () => {
  const context = createTestContext();
  const action = new DelayPrintAction(context);
  action.setUp("hi", "3000000");
  const run = action.run(context);
  // A timer past 2^31-1 ms overflows and fires after 1 ms: give it far longer than that.
  await delay(100);
  assert.deepEqual(context.output, "init\nhi\n", "still waiting");
  context.abort(new Error("stopping"));
  await run;
  assert.deepEqual(context.output, "init\nhi\n");
});
