import assert from "node:assert/strict";
import { checkArguments } from "../lib/runtime/action.ts";
import { BUILTIN_ACTIONS } from "./mod.ts";
import { createTestContext } from "./_test_context.ts";

/** Arguments each built-in is set up with in these tests. */
const SAMPLES: Record<string, string[][]> = {
  delay_print: [["hi", "0"]],
  exec: [["echo"], ["echo", "a", "b"]],
  http: [["http://127.0.0.1:9/"], ["https://127.0.0.1:9/hook", '{"a": 1}']],
  log: [["info", "hi"]],
  print: [["hi"]],
  print_once: [["hi"]],
  reload: [[]],
  restart: [[]],
  stop: [[]],
};

Deno.test("`BUILTIN_ACTIONS` lists each action file of actions/, sorted by name", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(".", import.meta.url))) {
    const name = entry.name;
    if (entry.isFile && name.endsWith(".ts") && !/^_|_test\.ts$|^mod\.ts$/.test(name)) {
      files.push(name.slice(0, -3));
    }
  }
  const names = Object.keys(BUILTIN_ACTIONS);
  assert.deepEqual(names, [...names].sort());
  assert.deepEqual(names, files.sort());
  assert.deepEqual(Object.keys(SAMPLES), names, "every action has samples here");
  assert.equal(BUILTIN_ACTIONS["toString"], undefined);
});

Deno.test("`BUILTIN_ACTIONS` entries have a one-line description and valid arguments metadata", () => {
  for (const [name, action] of Object.entries(BUILTIN_ACTIONS)) {
    const description = action.description ?? "";
    assert.match(description, /^[A-Z][^\n]*[^.\s]$/, `${name}: sentence case, no trailing period`);
    const args = action.arguments ?? [];
    args.forEach((arg, i) => {
      assert.match(arg.name, /^[a-z][a-z_]*$/, `${name}: argument name ${arg.name}`);
      assert.ok(arg.doc && !arg.doc.includes("\n"), `${name}.${arg.name}: one line of doc`);
      assert.ok(["string", "integer", "number", undefined].includes(arg.type), arg.type);
      if (arg.variadic) assert.equal(i, args.length - 1, `${name}: variadic only last`);
      if (arg.optional) {
        assert.ok(args.slice(i).every((a) => a.optional), `${name}: optional only trailing`);
      }
    });
  }
});

Deno.test("`BUILTIN_ACTIONS` entries accept their sample arguments, in checkArguments and setUp", async () => {
  for (const [name, action] of Object.entries(BUILTIN_ACTIONS)) {
    for (const words of SAMPLES[name]) {
      checkArguments(name, action.arguments, words);
      const instance = new action(createTestContext({ name }));
      assert.equal(typeof instance.run, "function", name);
      await instance.setUp?.(...words);
    }
    const declared = action.arguments ?? [];
    const required = declared.filter((arg) => !arg.optional && !arg.variadic).length;
    if (!declared.at(-1)?.variadic) {
      const tooMany = Array.from({ length: declared.length + 1 }, () => "1");
      assert.throws(() => checkArguments(name, declared, tooMany), { message: / takes / }, name);
    }
    if (required > 0) {
      assert.throws(() => checkArguments(name, declared, []), { message: / takes / }, name);
    }
  }
});

Deno.test("built-in actions import flagstaff's types only, and lib/core/delay.ts (no other runtime import of lib/)", async () => {
  for (const name of Object.keys(BUILTIN_ACTIONS)) {
    const source = await Deno.readTextFile(new URL(`./${name}.ts`, import.meta.url));
    const imports = source.match(/^import [^;]*from "[^"]+";/gm) ?? [];
    for (const line of imports) {
      if (line.includes('"../') && !line.endsWith('from "../lib/core/delay.ts";')) {
        assert.match(line, /^import type /, `${name}.ts: ${line}`);
      }
    }
  }
});
