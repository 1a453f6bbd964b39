/**
 * `run`: the controller and the actions until TERM or INT. Its options are
 * here; the assembly of a run is `assemble.ts`.
 *
 * @module
 */

import type { CommandContext } from "./context.ts";
import { configOptions } from "./options.ts";
import type { CommandSpec, OptionSpec } from "./spec.ts";

/** `run`'s own options, after the ones it shares with `check`. */
const RUN_OPTIONS: readonly OptionSpec[] = [
  {
    long: "foreground",
    short: "f",
    description: "stay in the foreground (the default; overrides --daemon and Daemon.detach)",
  },
  {
    long: "daemon",
    short: "d",
    description: "detach into the background once ready (also Daemon.detach: true)",
  },
  {
    long: "pidfile",
    value: "file",
    description: "write the pid here and hold its lock while running (also Daemon.pidfile)",
  },
  {
    long: "no-systemd",
    description: "send no sd_notify messages even when NOTIFY_SOCKET is set",
  },
  {
    long: "successful-empty",
    description: "when no controller runs and every action has closed, exit 0 instead of 1",
  },
];

/** The spec of `run`; `appOptions` are an app's own (library mode). */
export function runSpec(library: boolean, appOptions: readonly OptionSpec[] = []): CommandSpec {
  return {
    name: "run",
    summary: "run the controller and the actions until TERM or INT",
    options: [...configOptions(library), ...RUN_OPTIONS, ...appOptions],
    actionFlags: true,
  };
}

/** Runs `run`; resolves with the exit code. Its modules load only when it runs. */
export async function run(context: CommandContext): Promise<number> {
  const { assembleAndRun } = await import("./assemble.ts");
  return await assembleAndRun(context);
}
