/**
 * The warnings `run --daemon` prints once the daemon it started is ready,
 * while the parent still has a terminal to print them on.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { type CommandContext, stringOf } from "./context.ts";

/**
 * What a daemon about to detach will lack: a pidfile (`status`, `stop` and
 * `reload` find it through one), a log other than the console (a daemon's
 * stderr is /dev/null).
 */
export function daemonWarnings(context: CommandContext, config: Config): string[] {
  const warnings: string[] = [];
  if (!stringOf(context, "pidfile") && !config.daemon.pidfile) {
    warnings.push(
      "detaching without a pidfile: status, stop and reload cannot find the daemon " +
        "(set Daemon.pidfile, or give --pidfile FILE)",
    );
  }
  const handlers = Object.values(config.logging?.handlers ?? {});
  if (
    !handlers.some((handler) => typeof (handler as { filename?: unknown })?.filename === "string")
  ) {
    warnings.push(
      "the daemon's log goes to the console, which it no longer has (its stderr is /dev/null): " +
        "give Logging a file handler (see the README's daemon example)",
    );
  }
  return warnings;
}
