/**
 * The `flagstaff` command: parse argv, run the command, exit with its code.
 *
 * @module
 */

import { runCli } from "./lib/cli.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
