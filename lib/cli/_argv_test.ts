import assert from "node:assert/strict";
import { splitActionArgv } from "./_argv.ts";

const OPTIONS = new Set(["-c", "--config", "-v", "--verbose", "-q", "--successful-empty"]);

Deno.test("splitActionArgv() keeps flagman's groups exactly, in order", () => {
  const { rest, actions } = splitActionArgv(
    [
      "run",
      "--usr1",
      "print",
      "a fun message",
      "--usr1",
      "print",
      "another message",
      "--usr2",
      "print_once",
      "once",
      "-c",
      "app.yml",
    ],
    OPTIONS,
  );
  assert.deepEqual(rest, ["run", "-c", "app.yml"]);
  assert.deepEqual(actions, {
    SIGUSR1: [
      { name: "print", args: ["a fun message"], origin: "--usr1" },
      { name: "print", args: ["another message"], origin: "--usr1" },
    ],
    SIGUSR2: [{ name: "print_once", args: ["once"], origin: "--usr2" }],
  });
});

Deno.test("splitActionArgv() ends a group at a known option, --, or another action flag", () => {
  const { rest, actions } = splitActionArgv(
    [
      "--hup",
      "exec",
      "ls",
      "-l",
      "-vv",
      "--hup",
      "log",
      "info",
      "x",
      "--",
      "--config=a.yml",
      "--successful-empty",
    ],
    OPTIONS,
  );
  assert.deepEqual(actions.SIGHUP?.map((u) => [u.name, ...u.args]), [["exec", "ls", "-l"], [
    "log",
    "info",
    "x",
  ]]);
  assert.deepEqual(rest, ["-vv", "--config=a.yml", "--successful-empty"]);
});

Deno.test("splitActionArgv() refuses an action flag without an action", () => {
  for (const argv of [["--usr1"], ["--usr1", "-v"], ["--usr1", "--usr2", "print", "x"]]) {
    assert.throws(
      () => splitActionArgv(argv, OPTIONS),
      /^FlagstaffError: --usr1 needs an action name/,
    );
  }
});
