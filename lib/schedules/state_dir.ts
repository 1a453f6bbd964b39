/**
 * Where the schedules' state file lives by default ({@link defaultStateDir}),
 * as systemd and the XDG Base Directory spec would have it.
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { FlagstaffError } from "../core/errors.ts";

/** What {@link defaultStateDir} reads from the process. */
export interface StateDirContext {
  /** The environment: `STATE_DIRECTORY`, `XDG_STATE_HOME` and `HOME` are read. */
  env: Readonly<Record<string, string | undefined>>;
  /** The effective user id at start (before any switch to `Daemon.user`). */
  euid: number;
}

/**
 * The default state folder of an app, first match wins:
 *
 * 1. `$STATE_DIRECTORY`, set by systemd for a unit with `StateDirectory=`
 *    (the first of its colon-separated paths), used as is;
 * 2. `/var/lib/<app>` when running as root (euid 0);
 * 3. `$XDG_STATE_HOME/<app>` (XDG Base Directory spec; ignored unless absolute);
 * 4. `$HOME/.local/state/<app>`, the spec's default for it.
 *
 * A pure function of its arguments. A process that starts as root and then
 * switches to `Daemon.user` should resolve the folder at start (as root) and
 * hand it to that user, as systemd's `StateDirectory=` with `User=` does.
 *
 * @param appName The app's name: a single file name (no `/`, not `.` or `..`).
 * @param context The environment and effective uid.
 * @returns An absolute path.
 * @throws {FlagstaffError} `config_invalid` when `appName` is not a file
 *   name, or no rule applies (not root, neither `XDG_STATE_HOME` nor `HOME`
 *   absolute): the message says to set `Daemon.state_dir`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultStateDir } from "./state_dir.ts";
 * assert.equal(defaultStateDir("demo", { env: {}, euid: 0 }), "/var/lib/demo");
 * assert.equal(
 *   defaultStateDir("demo", { env: { HOME: "/home/ann" }, euid: 1000 }),
 *   "/home/ann/.local/state/demo",
 * );
 * assert.equal(
 *   defaultStateDir("demo", { env: { STATE_DIRECTORY: "/var/lib/demo:/var/lib/x" }, euid: 0 }),
 *   "/var/lib/demo",
 * );
 * ```
 */
export function defaultStateDir(appName: string, context: StateDirContext): string {
  if (
    typeof appName !== "string" || appName === "" || appName === "." || appName === ".." ||
    /[/\0]/.test(appName)
  ) {
    throw new FlagstaffError(
      "config_invalid",
      `Cannot choose a state folder: the app name ${
        JSON.stringify(appName)
      } is not a file name; set Daemon.state_dir`,
    );
  }
  const { env, euid } = context;
  const systemd = env.STATE_DIRECTORY?.split(":")[0];
  if (systemd && isAbsolute(systemd)) return systemd;
  if (euid === 0) return join("/var/lib", appName);
  const xdg = env.XDG_STATE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, appName);
  const home = env.HOME;
  if (home && isAbsolute(home)) return join(home, ".local", "state", appName);
  throw new FlagstaffError(
    "config_invalid",
    "Cannot choose a state folder: not root, and neither XDG_STATE_HOME nor HOME is an " +
      "absolute path; set Daemon.state_dir",
  );
}
