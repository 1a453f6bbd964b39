/**
 * Where the schedules' state file lives by default ({@link defaultStateDir}),
 * as systemd and the XDG Base Directory spec would have it, and only in a
 * folder that is flagstaff's ({@link foreignFolderProblem}).
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { FlagstaffError } from "../core/errors.ts";
import { SCHEDULE_STATE_FILE } from "./state_file.ts";

/** What {@link defaultStateDir} reads from the process. */
export interface StateDirContext {
  /** The environment: `STATE_DIRECTORY`, `XDG_STATE_HOME` and `HOME` are read. */
  env: Readonly<Record<string, string | undefined>>;
  /** The effective user id at start (before any switch to `Daemon.user`). */
  euid: number;
  /**
   * Why an existing folder is not flagstaff's to use, or undefined when it
   * is (or is missing). Default {@link foreignFolderProblem}, which looks at
   * the folder.
   */
  foreign?: (dir: string) => string | undefined;
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
 * The folder of rules 2 to 4 is named after the app (the config file's
 * stem), so a config named after another program (`dpkg.yml`) would land in
 * that program's folder (`/var/lib/dpkg`): such a folder is used only when it
 * is missing (flagstaff makes it) or holds nothing but flagstaff's state
 * ({@link foreignFolderProblem}); else no default is chosen. Rule 1's folder
 * is the unit's own and is used as is, as is `Daemon.state_dir`.
 *
 * Looks at nothing but that folder's names. A process that starts as root
 * and then switches to `Daemon.user` should resolve the folder at start (as
 * root) and hand it to that user, as systemd's `StateDirectory=` with
 * `User=` does.
 *
 * @param appName The app's name: a single file name (no `/`, not `.` or `..`).
 * @param context The environment and effective uid.
 * @returns An absolute path.
 * @throws {FlagstaffError} `config_invalid` when `appName` is not a file
 *   name, no rule applies (not root, neither `XDG_STATE_HOME` nor `HOME`
 *   absolute), or the folder is not flagstaff's: the message says to set
 *   `Daemon.state_dir`.
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
  const dir = appStateDir(appName, env, euid);
  const problem = (context.foreign ?? foreignFolderProblem)(dir);
  if (problem !== undefined) {
    throw new FlagstaffError(
      "config_invalid",
      `Cannot choose a state folder: the default "${dir}" ${problem}; set Daemon.state_dir`,
    );
  }
  return dir;
}

/** Rules 2 to 4 of {@link defaultStateDir}. */
function appStateDir(
  appName: string,
  env: StateDirContext["env"],
  euid: number,
): string {
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

/** The names flagstaff keeps in a state folder: the file and its temp files. */
function isStateName(name: string): boolean {
  return name === SCHEDULE_STATE_FILE ||
    (name.startsWith(`.${SCHEDULE_STATE_FILE}.`) && name.endsWith(".tmp"));
}

/**
 * Why the folder `dir` is not flagstaff's to use as a default state folder,
 * or undefined when it is missing, or holds nothing but flagstaff's state
 * (`schedules.json` and its temp files). Looks only at its names.
 *
 * @returns `holds files that are not flagstaff's (such as "status")`,
 *   `cannot be looked into: …`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { foreignFolderProblem } from "./state_dir.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(foreignFolderProblem(`${dir}/missing`), undefined);
 * await Deno.writeTextFile(`${dir}/schedules.json`, "{}");
 * assert.equal(foreignFolderProblem(dir), undefined);
 * await Deno.writeTextFile(`${dir}/status`, "");
 * assert.equal(foreignFolderProblem(dir), `holds files that are not flagstaff's (such as "status")`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function foreignFolderProblem(dir: string): string | undefined {
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!isStateName(entry.name)) {
        return `holds files that are not flagstaff's (such as ${JSON.stringify(entry.name)})`;
      }
    }
    return undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    const message = error instanceof Error ? error.message : String(error);
    return `cannot be looked into: ${message}`;
  }
}
