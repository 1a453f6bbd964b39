/**
 * The `flagstaff` command: parse argv, run the command, exit with its code.
 *
 * The signal listeners come first, before any other module is loaded: a
 * signal that arrives while flagstaff starts is recorded and handled once it
 * is ready, never the default action (which would end the process). Every
 * other module is imported after that, and each command loads only what it
 * needs (the built-in actions only for run, check and list).
 *
 * @module
 */

import { SignalInbox } from "./lib/os/signals.ts";

if (import.meta.main) {
  const signals = SignalInbox.install();
  const [{ runCli }, { fileURLToPath }] = await Promise.all([
    import("./lib/cli/main.ts"),
    import("node:url"),
  ]);
  // The built-ins' folder is never scanned as a user's actions folder (`deno task dev` runs here).
  const builtins = new URL("./actions/", import.meta.url);
  Deno.exit(
    await runCli(Deno.args, {
      // Loaded by the commands that use actions (run, check, list), not by status or --help.
      loadBuiltinActions: async () => (await import("./actions/mod.ts")).BUILTIN_ACTIONS,
      builtinActionsDir: builtins.protocol === "file:" ? fileURLToPath(builtins) : undefined,
      signals,
    }),
  );
}
