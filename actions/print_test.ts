import assert from "node:assert/strict";
import PrintAction from "./print.ts";
import { createTestContext } from "./_test_context.ts";

Deno.test("`print` prints init at set-up, the message each run, cleanup at tear-down", () => {
  const context = createTestContext({ name: "print" });
  const action = new PrintAction(context);
  action.setUp("hello {world}");
  assert.deepEqual(context.output, "init\n");
  action.run(context);
  action.run(context);
  assert.deepEqual(context.output, "init\nhello {world}\nhello {world}\n");
  action.tearDown();
  assert.deepEqual(context.output, "init\nhello {world}\nhello {world}\ncleanup\n");
  assert.deepEqual(context.closed, []);
  assert.deepEqual(context.logs, []);
});

Deno.test("`print` keeps its own message per instance", () => {
  const context = createTestContext();
  const first = new PrintAction(context);
  const second = new PrintAction(context);
  first.setUp("one");
  second.setUp("two");
  first.run(context);
  second.run(context);
  assert.deepEqual(context.output, "init\ninit\none\ntwo\n");
});
