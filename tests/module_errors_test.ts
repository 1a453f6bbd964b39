/**
 * A user's module that cannot load says where it went wrong: a syntax error
 * with its file, line, column and Deno's code frame; a missing import with
 * the line that imports it; a top-level throw with its line. For the
 * controller and for an action alike, without `-v`.
 */
import assert from "node:assert/strict";
import { runCli, tempDir, writeFiles } from "./_helpers.ts";

Deno.test("a controller or action that cannot load names its own file, line and column", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "syn.ts": "export default class {\n  setup() { let x = ; }\n}\n",
    "missing.ts": 'import "./nowhere.ts";\nexport default class { process() {} }\n',
    "throws.ts": 'export default class { process() {} }\nthrow new Error("boom at top");\n',
    "actions/bad.ts": "export default class {\n  run() { return ) }\n}\n",
  });
  const syntax = await runCli(["check", "--controller", "./syn.ts"], { cwd: dir.path });
  assert.equal(syntax.code, 2);
  assert.match(
    syntax.stderr,
    new RegExp(
      `Cannot load controller "\\./syn\\.ts": SyntaxError: .* \\(at ${dir.path}/syn\\.ts:2:\\d+\\)\\n  \\|\\n2 \\|   setup\\(\\) \\{ let x = ; \\}\\n`,
    ),
  );
  const missing = await runCli(["check", "--controller", "./missing.ts"], { cwd: dir.path });
  assert.match(
    missing.stderr,
    new RegExp(
      `Module not found "file://${dir.path}/nowhere\\.ts" \\(at ${dir.path}/missing\\.ts:1:8\\)`,
    ),
  );
  const thrown = await runCli(["check", "--controller", "./throws.ts"], { cwd: dir.path });
  assert.match(
    thrown.stderr,
    new RegExp(`: Error: boom at top \\(at ${dir.path}/throws\\.ts:2:7\\)`),
  );
  const action = await runCli(["check", "--usr1", "bad"], { cwd: dir.path });
  assert.equal(action.code, 2);
  assert.match(
    action.stderr,
    new RegExp(
      `Cannot load action "bad" from ${dir.path}/actions/bad\\.ts \\(every module of the actions folder [^)]*\\): SyntaxError: .* \\(at ${dir.path}/actions/bad\\.ts:2:\\d+\\)\\n`,
    ),
  );
});
