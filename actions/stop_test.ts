import assert from "node:assert/strict";
import StopAction from "./stop.ts";
import { createTestContext } from "./_test_context.ts";

Deno.test("`stop` asks the runtime for a graceful stop with the reason stop action", () => {
  const context = createTestContext({ name: "stop" });
  const action = new StopAction(context);
  action.run(context);
  assert.deepEqual(context.runtimeCalls, ["stop: stop action"]);
  assert.deepEqual(context.output, "");
});
