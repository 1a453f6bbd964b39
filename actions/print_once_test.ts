import assert from "node:assert/strict";
import PrintOnceAction from "./print_once.ts";
import { createTestContext } from "./_test_context.ts";

Deno.test("`print_once` prints init, the message, closes itself with its reason, cleanup at tear-down", () => {
  const context = createTestContext({ name: "print_once" });
  const action = new PrintOnceAction(context);
  action.setUp("only this");
  assert.deepEqual(context.output, "init\n");
  assert.deepEqual(context.closed, []);
  action.run(context);
  assert.deepEqual(context.output, "init\nonly this\n");
  assert.deepEqual(context.closed, ["Only print once"]);
  action.tearDown();
  assert.deepEqual(context.output, "init\nonly this\ncleanup\n");
});

Deno.test("`print_once` closes through the run's context, not the one it was built with", () => {
  const built = createTestContext();
  const runContext = createTestContext();
  const action = new PrintOnceAction(built);
  action.setUp("hi");
  action.run(runContext);
  assert.deepEqual(built.closed, []);
  assert.deepEqual(runContext.closed, ["Only print once"]);
  assert.deepEqual(runContext.output, "hi\n");
});
