// Transitional: the file templates render byte for byte what the string modules rendered.
import assert from "node:assert/strict";
import { renderProject } from "./mod.ts";
import { renderProject as legacy } from "./_legacy.ts";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";

const CASES = [
  {
    name: "clock",
    flagstaff: "file:///work/main/lib/mod.ts",
    permissionFlags: PERMISSION_FLAGS,
    flagstaffVersion: "0.1.0",
  },
  {
    name: "my-app",
    flagstaff: "http://127.0.0.1:8123/lib/mod.ts",
    permissionFlags: ["--allow-read"],
    flagstaffVersion: "9.9.9-rc.1",
  },
  {
    name: `a${"-b".repeat(31)}`,
    flagstaff: `https://flagstaff.example/${"long/".repeat(20)}v0.1.0/lib/mod.ts`,
    permissionFlags: PERMISSION_FLAGS,
    flagstaffVersion: "0.1.0",
  },
  {
    name: "x_1",
    flagstaff: "https://raw.githubusercontent.com/f/f/v0.1.0/lib/mod.ts?a=b&c=%22d%22#frag",
    permissionFlags: [],
    flagstaffVersion: "",
  },
  {
    name: "q",
    flagstaff: "https://x.test/lib/mod.ts",
    permissionFlags: ['--allow-env="A\\B"', "--allow-read=/a b"],
    flagstaffVersion: "$1 {x} ${y}",
  },
];

for (const vars of CASES) {
  Deno.test(`renderProject() from files equals the string modules' output for "${vars.name}"`, () => {
    assert.deepEqual(renderProject(vars), legacy(vars));
  });
}

Deno.test("renderProject() equals the golden output generated at the start", async () => {
  const golden = JSON.parse(await Deno.readTextFile("/tmp/s-loader-golden/golden.json"));
  for (const { vars, files } of golden) assert.deepEqual(renderProject(vars), files);
});
