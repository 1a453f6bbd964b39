/**
 * `deno.json` of a new project: the tasks, each with a description, all
 * running the app with flagstaff's permission flags.
 *
 * `"lock": true`: the first task writes `deno.lock` (commit it). It pins the
 * npm packages flagstaff uses by integrity hash, and, when flagstaff is
 * imported by an `https:` URL, the hash of every remote module. Writing it
 * needs no network: the packages are resolved from Deno's cache.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `deno.json`. */
export function denoJson(vars: TemplateVars): string {
  const perms = vars.permissionFlags.join(" ");
  const run = `${perms} main.ts -c etc/${vars.name}.yml -f`;
  const config = {
    tasks: {
      dev: {
        description: "Run the app in the foreground with etc/" + vars.name +
          ".yml, restarting on changes",
        command: `deno run --watch ${run}`,
      },
      start: {
        description: `Run the app in the foreground with etc/${vars.name}.yml`,
        command: `deno run ${run}`,
      },
      test: {
        description: "Run the tests (the controller test starts the app as a process)",
        command: "deno test --allow-read --allow-write --allow-run --allow-import",
      },
      check: {
        description: "Check formatting, lint and types",
        command: "deno fmt --check && deno lint && deno check .",
      },
      compile: {
        description:
          `Build the executable dist/${vars.name} (runs with the same permissions; actions/ is embedded)`,
        command: `deno compile ${perms} --include actions --output dist/${vars.name} main.ts`,
      },
    },
    lock: true,
    fmt: { lineWidth: 100, proseWrap: "preserve" },
  };
  return JSON.stringify(config, null, 2) + "\n";
}
