/**
 * The `flagstaff` command: parse argv, run the command, exit with its code.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { BUILTIN_ACTIONS } from "./actions/mod.ts";
import { runCli } from "./lib/cli.ts";

if (import.meta.main) {
  // The built-ins' folder is never scanned as a user's actions folder (`deno task dev` runs here).
  const builtins = new URL("./actions/", import.meta.url);
  Deno.exit(
    await runCli(Deno.args, {
      builtinActions: BUILTIN_ACTIONS,
      builtinActionsDir: builtins.protocol === "file:" ? fileURLToPath(builtins) : undefined,
    }),
  );
}
