/**
 * The templates of `flagstaff new`: one TypeScript module per generated file,
 * each a function of {@link TemplateVars} returning the file's text. They are
 * string modules, imported statically by `lib/cli/_project.ts`, so they travel
 * with flagstaff wherever it runs: from a checkout, from a URL, and inside a
 * compiled binary (which reads no files beside its main module).
 *
 * Generated TypeScript keeps every line whose length depends on the project
 * name or on the flagstaff URL in a shape `deno fmt` never re-wraps (a string
 * on its own line, one name per re-export), so the project passes its own
 * `deno fmt --check` whatever the name and the URL.
 *
 * @module
 */

import { controllerTest } from "./controller_test_ts.ts";
import { controller } from "./controller_ts.ts";
import { denoJson } from "./deno_json.ts";
import { depsTs } from "./deps_ts.ts";
import { configYml } from "./config_yml.ts";
import { gitignore } from "./gitignore.ts";
import { helloAction, helloActionTest } from "./hello_action_ts.ts";
import { initScript } from "./init_script.ts";
import { mainTs } from "./main_ts.ts";
import { readme } from "./readme_md.ts";
import { systemdUnit } from "./systemd_unit.ts";

/** What every template is filled with. */
export interface TemplateVars {
  /** The project name, already validated: `^[a-z][a-z0-9_-]{0,62}$`. */
  readonly name: string;
  /** The full URL (`file:`, `http:` or `https:`) of flagstaff's `lib/mod.ts`. */
  readonly flagstaff: string;
  /** The `deno run` permission flags the app runs with (flagstaff's `PERMISSION_FLAGS`). */
  readonly permissionFlags: readonly string[];
  /** The version of flagstaff that wrote the project. */
  readonly flagstaffVersion: string;
}

/** One file of a new project. */
export interface ProjectFile {
  /** Path relative to the project folder, with `/` separators. */
  readonly path: string;
  /** The file's text. */
  readonly content: string;
  /** Whether it is a script to mark executable (mode 0755). */
  readonly executable?: boolean;
}

/**
 * Renders every file of a new library-mode project, in the order they are
 * written.
 *
 * @example
 * ```ts
 * import { renderProject } from "./_legacy.ts";
 * const files = renderProject({
 *   name: "clock",
 *   flagstaff: "https://example.com/flagstaff/lib/mod.ts",
 *   permissionFlags: ["--allow-read"],
 *   flagstaffVersion: "0.1.0",
 * });
 * console.assert(files.some((file) => file.path === "etc/clock.yml"));
 * ```
 */
export function renderProject(vars: TemplateVars): ProjectFile[] {
  return [
    { path: "deno.json", content: denoJson(vars) },
    { path: "deps.ts", content: depsTs(vars) },
    { path: "main.ts", content: mainTs(vars) },
    { path: "controller.ts", content: controller(vars) },
    { path: "actions/hello.ts", content: helloAction(vars) },
    { path: "actions/hello_test.ts", content: helloActionTest(vars) },
    { path: "tests/controller_test.ts", content: controllerTest(vars) },
    { path: `etc/${vars.name}.yml`, content: configYml(vars) },
    { path: `etc/${vars.name}.service`, content: systemdUnit(vars) },
    { path: `etc/${vars.name}.initd`, content: initScript(vars), executable: true },
    { path: "README.md", content: readme(vars) },
    { path: ".gitignore", content: gitignore(vars) },
  ];
}
