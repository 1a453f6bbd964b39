/**
 * `list` (also `-l`, `--list`, flagman's spelling): every known action with
 * its description and arguments: built-in, from the actions folders, from
 * the config's `Actions`. Names are bold on a terminal only.
 *
 * @module
 */

import { EXIT_CODES } from "../core/errors.ts";
import { formatArguments } from "../runtime/action.ts";
import { type CommandContext, env, readConfig, registryFor } from "./context.ts";
import { dropPrivilegesNow } from "./drop.ts";
import { ACTIONS_DIR } from "./options.ts";
import { out } from "./output.ts";
import type { CommandSpec } from "./spec.ts";

/** The spec of `list`. */
export const LIST_SPEC: CommandSpec = {
  name: "list",
  summary: "list every known action with its description and arguments",
  options: [
    {
      long: "config",
      short: "c",
      value: "file",
      description: "also list the actions named in this config's Actions section",
    },
    ACTIONS_DIR,
  ],
};

/** Runs `list`. */
export async function list(context: CommandContext): Promise<number> {
  const config = await readConfig(context);
  // As `run` does: no user code before the privilege drop.
  await dropPrivilegesNow(config);
  const infos = await (await registryFor(context)(config)).describe();
  const color = Deno.stdout.isTerminal() && !env("NO_COLOR");
  const width = Math.max(4, ...infos.map((info) => info.name.length));
  const bold = (text: string) => color ? `\x1b[1m${text}\x1b[22m` : text;
  const dim = (text: string) => color ? `\x1b[2m${text}\x1b[22m` : text;
  const lines = [
    `${bold("name".padEnd(width))}  description (arguments)`,
    ...infos.map((info) => {
      const origin = info.origin === "built-in" ? "" : dim(` [${info.origin}]`);
      return `${bold(info.name.padEnd(width))}  ${info.description} ${
        formatArguments(info.arguments)
      }${origin}`;
    }),
  ];
  out(lines.join("\n") + "\n");
  return EXIT_CODES.ok;
}
