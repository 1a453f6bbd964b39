import assert from "node:assert/strict";
import { validateConfigText } from "./config.ts";
import { APPLICATION_KEYS } from "./application.ts";
import { DAEMON_KEYS } from "./daemon.ts";
import {
  checkSection,
  type KeyPath,
  type KeyRow,
  type SectionRows,
  type SectionSchema,
} from "./schema.ts";
import { flag, seconds, text } from "./key_kinds.ts";
import { configKeyDocs } from "./sections.ts";

const ROW: KeyRow<string> = { ...text, example: "name: x", doc: "a name" };

function collect(): { problems: string[]; context: Parameters<typeof checkSection>[2] } {
  const problems: string[] = [];
  return {
    problems,
    context: {
      report: (path: KeyPath, message: string, at = "value") =>
        problems.push(`${path.join(".")} (${at}): ${message}`),
      origin: () => "<default>",
    },
  };
}

Deno.test("checkSection() keeps the written order, leaves wrong values out and fills defaults", () => {
  const schema: SectionSchema = {
    name: "S",
    keys: {
      wait: { ...seconds(1), default: 5, example: "wait: 2", doc: "" },
      on: { ...flag, example: "on: true", doc: "" },
      name: ROW,
    },
    others: { kind: "kept", doc: configKeyDocs()[0] },
  };
  const { problems, context } = collect();
  const out = checkSection(schema, { mine: 1, on: "yes", name: "n", wait: 0.5 }, context);
  assert.deepEqual(Object.entries(out), [["mine", 1], ["name", "n"], ["wait", 5]]);
  assert.deepEqual(problems, [
    'S.on (value): expected true or false, got "yes"',
    "S.wait (value): expected at least 1 seconds, got 0.5",
  ]);
});

Deno.test("checkSection() refuses unknown keys on the key, and checks chosen names", () => {
  const refused: SectionSchema = {
    name: "S",
    keys: { name: ROW },
    others: { kind: "refused", message: (key, known) => `unknown "${key}", not ${known}` },
  };
  const { problems, context } = collect();
  assert.deepEqual(checkSection(refused, { x: 1, name: "n" }, context), { name: "n" });
  const named: SectionSchema = {
    name: "N",
    keys: {},
    others: {
      kind: "named",
      label: "<name>",
      name: /^[a-z]+$/,
      nameMessage: (key) => `bad name "${key}"`,
      row: ROW,
    },
  };
  const out = checkSection(named, { ok: "a", "B!": "b" }, context);
  assert.deepEqual(problems, ['S.x (key): unknown "x", not name', 'N.B! (key): bad name "B!"']);
  assert.deepEqual(Object.keys(out), ["ok"]);
});

Deno.test("every example in the Application and Daemon tables is a valid config line", async () => {
  for (const [section, rows] of [["Application", APPLICATION_KEYS], ["Daemon", DAEMON_KEYS]]) {
    for (const [key, row] of Object.entries(rows as Record<string, KeyRow<unknown>>)) {
      assert.ok(row.example.startsWith(`${key}: `), `${section}.${key}: example names its key`);
      // An integrity pin is written as "sha256-…": it needs a real digest and a URL controller.
      if (row.example.includes("…")) continue;
      const { issues } = await validateConfigText(`${section}:\n  ${row.example}\n`, "a.yml");
      assert.deepEqual(issues, [], `${section}.${key}: ${row.example}`);
    }
  }
});

Deno.test("an alias error inside a merge key names the key <<", async () => {
  const { issues } = await validateConfigText(
    "Application:\n  a: &a {x: 1}\n  b: {<<: *nope}\n",
    "a.yml",
  );
  assert.deepEqual(issues.map((i) => [i.line, i.column, i.key]), [[3, 11, "Application.b.<<"]]);
});

Deno.test("SectionRows asks for a row per field, of its type, with a default when required", () => {
  interface Section {
    readonly name?: string;
    readonly count: number;
    readonly [key: string]: unknown;
  }
  const count = { ...seconds(1), default: 1, example: "count: 1", doc: "" };
  const rows = { name: ROW, count } satisfies SectionRows<Section>;
  // @ts-expect-error: a field without a row.
  const missing: SectionRows<Section> = { count };
  // @ts-expect-error: a row without a field.
  const extra: SectionRows<Section> = { name: ROW, count, other: ROW };
  // @ts-expect-error: a required field's row needs a default.
  const noDefault: SectionRows<Section> = { name: ROW, count: { ...count, default: undefined } };
  // @ts-expect-error: a row of the wrong type.
  const wrongType: SectionRows<Section> = { name: { ...flag, example: "", doc: "" }, count };
  // The assertions are the @ts-expect-error lines: `deno test` type-checks first, and an
  // error that no longer comes fails it. Nothing to check at run time.
  void [rows, missing, extra, noDefault, wrongType];
});
