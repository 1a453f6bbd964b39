/**
 * `new NAME`: writes a library-mode app project that works on first try
 * (`_project.ts` writes it; the templates are in `scaffold/`).
 *
 * @module
 */

import { EXIT_CODES } from "../core/errors.ts";
import type { CommandContext } from "./context.ts";
import { out } from "./output.ts";
import type { CommandSpec } from "./spec.ts";

/** The spec of `new`. */
export const NEW_SPEC: CommandSpec = {
  name: "new",
  summary:
    "write a new app project (library mode): controller, actions, config, systemd unit, init script, tests",
  arguments: [{
    name: "name",
    description: "the app's name: a-z first, then a-z, 0-9, _ or - (at most 63)",
  }],
  options: [
    { long: "dir", value: "dir", description: "folder to write it into (default: ./NAME)" },
    {
      long: "force",
      description: "write into a folder that is not empty, replacing the project's files",
    },
    {
      long: "flagstaff",
      value: "url",
      description:
        "URL or path of flagstaff's lib/mod.ts the project imports (default: this flagstaff's)",
    },
  ],
};

/** Runs `new`. */
export async function newCommand(context: CommandContext): Promise<number> {
  const name = context.positionals[0];
  // Loaded on demand: the templates are of no use to any other command.
  const { newProject } = await import("./_project.ts");
  const { dir, force, flagstaff } = context.values;
  const project = await newProject(name, {
    dir: typeof dir === "string" ? dir : undefined,
    force: force === true,
    flagstaff: typeof flagstaff === "string" ? flagstaff : undefined,
  });
  out(
    `Created ${name} in ${project.dir}:\n${project.files.map((f) => `  ${f}\n`).join("")}` +
      `Next: cd ${project.dir} && deno task start   (deno task test, deno task compile)\n`,
  );
  return EXIT_CODES.ok;
}
