/**
 * `main.ts` of a new project: helper's `helper.start(Controller)`, in Deno.
 *
 * @module
 */

import type { TemplateVars } from "./mod.ts";

/** Renders `main.ts`. */
export function mainTs(vars: TemplateVars): string {
  return `/**
 * ${vars.name}'s entry point: \`start()\` gives the app helper's command line (\`-c FILE\`, \`-f\`,
 * \`--daemon\`, \`-v\`, \`-q\`, \`check\`, \`status\`, \`stop\`, \`reload\`, \`--help\`), runs the
 * controller until TERM or INT, and resolves with the exit code.
 *
 * @module
 */

import { type ActionClass, BUILTIN_ACTIONS, start } from "./deps.ts";
import { AppController } from "./controller.ts";
import hello from "./actions/hello.ts";

/** The app's name: its program name in \`--help\`, its logger category and its errors file. */
const NAME = "${vars.name}";

/** The actions the app knows, compiled into its binary: flagstaff's built-ins and its own. */
const ACTIONS: Record<string, ActionClass> = { ...BUILTIN_ACTIONS, hello };

if (import.meta.main) Deno.exit(await start(AppController, { name: NAME, actions: ACTIONS }));
`;
}
