import assert from "node:assert/strict";
import RestartAction from "./restart.ts";
import { createTestContext } from "./_test_context.ts";

Deno.test("`restart` asks the runtime to restart on each run", async () => {
  const context = createTestContext({ name: "restart" });
  const action = new RestartAction(context);
  await action.run(context);
  assert.deepEqual(context.runtimeCalls, ["restart"]);
  assert.deepEqual(context.output, "");
  assert.deepEqual(context.closed, []);
});
