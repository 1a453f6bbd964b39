/**
 * `main.ts` of a new project: helper's `helper.start(Controller)`, in Deno.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `main.ts`. */
export function mainTs(vars: TemplateVars): string {
  return `/**
 * ${vars.name}'s entry point: \`start()\` gives the app helper's command line (\`-c FILE\`, \`-f\`,
 * \`--daemon\`, \`-v\`, \`-q\`, \`check\`, \`status\`, \`stop\`, \`reload\`, \`--help\`), runs the
 * controller until TERM or INT, and resolves with the exit code.
 *
 * @module
 */

import { start } from "./deps.ts";
import { AppController } from "./controller.ts";

/** The app's name: its program name in \`--help\`, its logger category and its errors file. */
const NAME = "${vars.name}";

/**
 * The app's own command-line options (helper's \`add_argument\`): shown in \`--help\`, read as
 * \`this.args\` in the controller. Types: \`string\`, \`integer\`, \`number\`, \`boolean\`.
 */
const OPTIONS = {
  "dry-run": { type: "boolean", description: "log what process() would do, change nothing" },
} as const;

// The app knows flagstaff's built-in actions and every module in actions/ (found at each start
// and reload; \`deno task compile\` embeds the folder): a new action is a new file there.
if (import.meta.main) {
  Deno.exit(
    await start(AppController, {
      name: NAME,
      description: \`\${NAME}: ticks, reloads on HUP, stops on TERM (a flagstaff app)\`,
      epilog: \`Config: etc/\${NAME}.yml. HUP reloads it, USR2 runs its usr2 actions, TERM stops.\`,
      options: OPTIONS,
    }),
  );
}
`;
}
