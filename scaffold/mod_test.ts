import assert from "node:assert/strict";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { renderProject, type TemplateVars } from "./mod.ts";

const TEMPLATES = fileURLToPath(new URL("./templates/", import.meta.url));

const VARS: TemplateVars = {
  name: "clock",
  flagstaff: "https://example.com/flagstaff/lib/mod.ts",
  permissionFlags: ["--allow-read", "--allow-env=A,B"],
  flagstaffVersion: "0.1.0",
};

/** Every file under `dir`, relative to TEMPLATES, with `/` separators. */
async function templateFiles(dir = TEMPLATES): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory) found.push(...await templateFiles(`${path}/`));
    else found.push(relative(TEMPLATES, path));
  }
  return found.sort();
}

Deno.test("renderProject() renders every file in scaffold/templates/, each once", async () => {
  const written = renderProject(VARS).map((file) =>
    `${file.path.replace(/^\.gitignore$/, "gitignore").replaceAll("clock", "NAME")}.tmpl`
  );
  assert.deepEqual([...written].sort(), await templateFiles());
});

Deno.test("renderProject() fills the name, the URL, the version and the flags", () => {
  const files = renderProject(VARS);
  const text = (path: string) => files.find((file) => file.path === path)!.content;
  assert.deepEqual(files.filter((file) => file.executable).map((file) => file.path), [
    "etc/clock.initd",
  ]);
  assert.match(text("main.ts"), /^const NAME = "clock";$/m);
  assert.match(
    text("deps.ts"),
    /^export \{ start \} from "https:\/\/example\.com\/flagstaff\/lib\/mod\.ts";$/m,
  );
  assert.match(
    text("README.md"),
    /^A long-lived TypeScript app on \[flagstaff\]\(https:\/\/example\.com\/flagstaff\/lib\/mod\.ts\) 0\.1\.0:/m,
  );
  assert.equal(
    JSON.parse(text("deno.json")).tasks.start.command,
    "deno run --allow-read --allow-env=A,B main.ts -c etc/clock.yml -f",
  );
  for (const file of files) assert.doesNotMatch(file.content, /\{\{|\}\}/, file.path);
});

Deno.test("renderProject() escapes values for deno.json", () => {
  const files = renderProject({ ...VARS, permissionFlags: ['--allow-read="a\\b"'] });
  const config = JSON.parse(files.find((file) => file.path === "deno.json")!.content);
  assert.equal(
    config.tasks.start.command,
    'deno run --allow-read="a\\b" main.ts -c etc/clock.yml -f',
  );
});
