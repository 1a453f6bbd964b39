import assert from "node:assert/strict";
import LogAction from "./log.ts";
import { createTestContext } from "./_test_context.ts";

Deno.test("`log` logs the message at its level on each run", () => {
  const context = createTestContext({ name: "log" });
  const action = new LogAction(context);
  action.setUp("warning", "disk {almost} full");
  action.run(context);
  action.run(context);
  assert.deepEqual(context.logs, [
    "warning: disk {almost} full",
    "warning: disk {almost} full",
  ]);
  assert.deepEqual(context.output, "");
});

Deno.test("`log` takes LogTape and Python level names in any case", () => {
  const table: [string, string][] = [
    ["trace", "trace"],
    ["debug", "debug"],
    ["DEBUG", "debug"],
    ["Info", "info"],
    ["INFO", "info"],
    ["warn", "warning"],
    ["WARNING", "warning"],
    ["error", "error"],
    ["ERROR", "error"],
    ["fatal", "fatal"],
    ["CRITICAL", "fatal"],
  ];
  for (const [level, recorded] of table) {
    const context = createTestContext();
    const action = new LogAction(context);
    action.setUp(level, "m");
    action.run(context);
    assert.deepEqual(context.logs, [`${recorded}: m`], level);
  }
});

Deno.test("`log` set-up rejects an unknown level", () => {
  for (const level of ["verbose", "", "toString", "NOTSET"]) {
    assert.throws(
      () => new LogAction(createTestContext()).setUp(level, "m"),
      {
        message:
          `Argument "level" must be one of trace, debug, info, warning, error, fatal (or warn, critical), got ${
            JSON.stringify(level)
          }`,
      },
    );
  }
});
