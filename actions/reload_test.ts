import assert from "node:assert/strict";
import ReloadAction from "./reload.ts";
import { createTestContext } from "./_test_context.ts";

Deno.test("`reload` asks the runtime to reload on each run", async () => {
  const context = createTestContext({ name: "reload" });
  const action = new ReloadAction(context);
  await action.run(context);
  await action.run(context);
  assert.deepEqual(context.runtimeCalls, ["reload", "reload"]);
  assert.deepEqual(context.output, "");
});

Deno.test("`reload` resolves only when the reload is done", async () => {
  const { promise: done, resolve: finish } = Promise.withResolvers<void>();
  const context = createTestContext({ runtime: { reload: () => done } });
  let finished = false;
  const run = new ReloadAction(context).run(context).then(() => finished = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(finished, false);
  finish();
  await run;
  assert.equal(finished, true);
});

Deno.test("`reload` passes a failed reload on to the runtime", async () => {
  const context = createTestContext({
    runtime: { reload: () => Promise.reject(new Error("bad config")) },
  });
  await assert.rejects(new ReloadAction(context).run(context), { message: "bad config" });
});
