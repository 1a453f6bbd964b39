/**
 * Reloading local action modules: each load is keyed on the module's
 * content, so a reload imports (and evaluates) a module only when its file
 * changed, once per content. Each action's top-level code prints a line when
 * it is evaluated; the tests count those lines.
 */
import assert from "node:assert/strict";
import { spawnCli, tempDir, writeFiles } from "./_helpers.ts";

/** An action module: its top-level code prints `evaluated NAME VERSION`, its run `NAME VERSION HELPER`. */
function action(name: string, version: string): string {
  return `import type { ActionContext } from "${
    new URL("../lib/runtime/action.ts", import.meta.url).href
  }";
import { helper } from "./_helper.ts";
console.log("evaluated ${name} ${version}");
export default class Action {
  static description = "Prints its version (tests)";
  run(context: ActionContext): void {
    context.out.write("${name} ${version} " + helper() + "\\n");
  }
}
`;
}

Deno.test("reload: unchanged local actions are not evaluated again; a changed file is, once, and its new code runs", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": "Signals:\n  usr2: [folder, listed]\nActions:\n  listed: ./listed/listed.ts\n",
    "actions/folder.ts": action("folder", "v1"),
    "actions/_helper.ts": `export function helper(): string {\n  return "with helper";\n}\n`,
    "listed/listed.ts": action("listed", "v1"),
    "listed/_helper.ts": `export function helper(): string {\n  return "with its helper";\n}\n`,
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 2 action(s)", { stream: "stderr" });
  const reload = async () => {
    await app.signal("HUP");
    await app.waitFor("Config reloaded from", { stream: "stderr" });
  };
  const run = async (expected: string) => {
    await app.signal("USR2");
    await app.waitFor(expected, { stream: "stdout" });
  };
  for (let i = 0; i < 3; i++) await reload();
  await run("folder v1 with helper\nlisted v1 with its helper\n");
  await Deno.writeTextFile(`${dir.path}/actions/folder.ts`, action("folder", "v2"));
  await reload();
  await reload();
  await run("folder v2 with helper\nlisted v1 with its helper\n");
  // Back to the first content: that module is used again, not evaluated a third time.
  await Deno.writeTextFile(`${dir.path}/actions/folder.ts`, action("folder", "v1"));
  await reload();
  await run("folder v1 with helper\nlisted v1 with its helper\n");
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    "evaluated folder v1\nevaluated listed v1\n" +
      "folder v1 with helper\nlisted v1 with its helper\n" +
      "evaluated folder v2\n" +
      "folder v2 with helper\nlisted v1 with its helper\n" +
      "folder v1 with helper\nlisted v1 with its helper\n",
  );
});
