/**
 * The templates of `flagstaff new`: the generated project's files as real
 * files in `templates/`, named as they will be written with `.tmpl` added
 * (so no tool of this repository takes them for its own code), with
 * `{{name}}`-style placeholders filled by {@link renderTemplate}. They are
 * imported as text (`with { type: "text" }`): part of flagstaff's module
 * graph, so they travel with it wherever it runs: from a checkout, from a
 * URL, and inside a compiled binary (which reads no files beside its main
 * module). `lib/cli/_project.ts` imports this module statically.
 *
 * The placeholders: `{{name}}` (the project name), `{{flagstaff}}` (the URL
 * of flagstaff's `lib/mod.ts`), `{{flagstaffVersion}}`, `{{permissionFlags}}`
 * (the `deno run` flags, space-separated). In `deno.json` they are filled
 * JSON-escaped.
 *
 * Generated TypeScript keeps every line whose length depends on the project
 * name or on the flagstaff URL in a shape `deno fmt` never re-wraps (a string
 * on its own line, one name per re-export), so the project passes its own
 * `deno fmt --check` whatever the name and the URL.
 *
 * @module
 */

import denoJson from "./templates/deno.json.tmpl" with { type: "text" };
import depsTs from "./templates/deps.ts.tmpl" with { type: "text" };
import mainTs from "./templates/main.ts.tmpl" with { type: "text" };
import controllerTs from "./templates/controller.ts.tmpl" with { type: "text" };
import helloTs from "./templates/actions/hello.ts.tmpl" with { type: "text" };
import helloTestTs from "./templates/actions/hello_test.ts.tmpl" with { type: "text" };
import controllerTestTs from "./templates/tests/controller_test.ts.tmpl" with { type: "text" };
import configYml from "./templates/etc/NAME.yml.tmpl" with { type: "text" };
import systemdUnit from "./templates/etc/NAME.service.tmpl" with { type: "text" };
import initScript from "./templates/etc/NAME.initd.tmpl" with { type: "text" };
import readmeMd from "./templates/README.md.tmpl" with { type: "text" };
import gitignore from "./templates/gitignore.tmpl" with { type: "text" };
import { configKeyLines } from "./config_keys.ts";
import { renderTemplate } from "./render_template.ts";

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

/** One template: where it is written (`NAME` is the project name), and its text. */
interface Template {
  readonly path: string;
  readonly text: string;
  readonly executable?: boolean;
}

/** Every file of a new project, in the order they are written. */
const TEMPLATES: readonly Template[] = [
  // The tasks, each with a description, all running the app with flagstaff's permission flags.
  // `"lock": true`: the first task writes `deno.lock` (to commit). It pins the npm packages
  // flagstaff uses by integrity hash, and, when flagstaff is imported by an `https:` URL, the hash
  // of every remote module. Writing it needs no network: the packages are in Deno's cache.
  { path: "deno.json", text: denoJson },
  // The one file that names flagstaff's URL, as flagstaff's own `lib/deps.ts` names its packages.
  // A full URL, since the project has no import map (`deno run <URL>` would not read one);
  // re-exported with `export … from`, which `deno lint`'s `no-import-prefix` rule allows. One
  // name per line, so `deno fmt` never re-wraps a line whatever the URL's length.
  { path: "deps.ts", text: depsTs },
  // helper's `helper.start(Controller)`, in Deno.
  { path: "main.ts", text: mainTs },
  // A documented `Controller` subclass, with helper's stub messages.
  { path: "controller.ts", text: controllerTs },
  // The example action, and its unit test with a hand-made context.
  { path: "actions/hello.ts", text: helloTs },
  { path: "actions/hello_test.ts", text: helloTestTs },
  // The app run as users run it: a child process, synchronised on its output.
  { path: "tests/controller_test.ts", text: controllerTestTs },
  // Every section and key flagstaff accepts, each explained. Keys that would change how the app
  // runs on a developer's machine (switching user, a pidfile under `/var/run`) are switched off
  // as `#key: value`, with no space after `#`; prose comments have one. Removing the `#` of every
  // such line still gives a valid config (`lib/cli/_project_test.ts` checks it), so each example
  // value is one flagstaff accepts.
  { path: "etc/NAME.yml", text: configYml },
  // A systemd unit for the compiled app. `Type=notify-reload` (systemd 253+): systemd waits for
  // the app's `READY=1`, reloads it by sending SIGHUP and waiting for `RELOADING=1` then
  // `READY=1`, and restarts it when the `WATCHDOG=1` pings stop. flagstaff sends all of them when
  // `NOTIFY_SOCKET` is set (systemd.service(5), sd_notify(3)).
  { path: "etc/NAME.service", text: systemdUnit },
  // helper's RHEL-style SysV init script, built on the app's own commands, which find the running
  // app by its pidfile and follow the LSB exit codes (init-functions, "Init Script Actions"):
  // `NAME status` (0 running, 3 not running), `NAME stop` (TERM, wait, KILL with `--force`),
  // `NAME reload` (HUP), `NAME check` (validate the config), and `NAME -c FILE --daemon`, which
  // returns once the app is ready or prints its start-up error. `DAEMON`, `CONFIG`, `PIDFILE`,
  // `LOCKFILE` and `STOP_TIMEOUT` may come from the environment (`service` clears it, so that is
  // for tests and manual runs) or from `/etc/sysconfig/NAME` or `/etc/default/NAME`.
  { path: "etc/NAME.initd", text: initScript, executable: true },
  // How to run, signal, test, compile and install the app.
  { path: "README.md", text: readmeMd },
  // The compiled binary and local log files; `deno.lock` is committed.
  { path: ".gitignore", text: gitignore },
];

/**
 * Renders every file of a new library-mode project, in the order they are
 * written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderProject } from "./mod.ts";
 * const files = renderProject({
 *   name: "clock",
 *   flagstaff: "https://example.com/flagstaff/lib/mod.ts",
 *   permissionFlags: ["--allow-read"],
 *   flagstaffVersion: "0.1.0",
 * });
 * const config = files.find((file) => file.path === "etc/clock.yml");
 * assert.match(config!.content, /^# clock's config/);
 * ```
 */
export function renderProject(vars: TemplateVars): ProjectFile[] {
  const values: Record<string, string> = {
    name: vars.name,
    flagstaff: vars.flagstaff,
    flagstaffVersion: vars.flagstaffVersion,
    permissionFlags: vars.permissionFlags.join(" "),
  };
  const jsonValues = Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, JSON.stringify(value).slice(1, -1)]),
  );
  return TEMPLATES.map((template) => {
    const path = template.path.replace(/\bNAME\b/, vars.name);
    const content = renderTemplate(
      template.text,
      path.endsWith(".json")
        ? jsonValues
        : template.path === "etc/NAME.yml"
        ? { ...values, ...configKeyLines(vars.name) }
        : values,
    );
    return template.executable ? { path, content, executable: true } : { path, content };
  });
}
