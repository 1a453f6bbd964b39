/**
 * The folder of a log file, reached and judged as `private_folder.ts` walks
 * to the schedules' state folder: one step at a time from `/` through libc,
 * each folder on the way one that no user but root and the user who opens
 * the file (`owner`) can change, a symbolic link on the way followed only
 * when it lies in a folder no other user can write, `..` as written.
 *
 * The folder itself must belong to root or `owner`, and:
 *
 * - for a file LogTape opens once, right after flagstaff checked it (a plain
 *   `FileHandler`), it may be writable by others only with the sticky bit
 *   (as `/tmp`): others can add names there but not rename or remove the
 *   file flagstaff just made or checked;
 * - for a file LogTape opens or truncates again by its path later (a
 *   rotating file, renamed and created anew at each rollover; a
 *   `delay: true` file, opened at its first record), it must not be
 *   writable by group or others at all, sticky or not: in `/tmp` another
 *   user could put a symbolic link where the file was a moment before, and
 *   LogTape's open (Deno's, which follows links) would write through it.
 *
 * {@link openLogFolder} is used by the config check (`check`, `run`,
 * reload: `system_checks.ts`) for the user who will open the file, and
 * {@link prepareLogFile} right before each open, by that user.
 *
 * Needs `--allow-ffi`. Linux only; private to `lib/`.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { FlagstaffError } from "../core/errors.ts";
import { fstatFd } from "./file_stat.ts";
import { effectiveUid, ensureOwnFile } from "./own_file.ts";
import { FileProblem, openPrivateFolder } from "./private_folder.ts";
import { closeFd } from "./safe_file.ts";

/** How a handler opens its file again after start (`reopensInFolder()` of `logging.ts`). */
export type LogReopen = "create" | "rotate";

/** Options for {@link openLogFolder}. */
export interface LogFolderOptions {
  /** The user who opens the file (beside root, the folders may be theirs). */
  owner: number;
  /** How the handler opens the file again after start, if it does. Default: it does not. */
  reopens?: LogReopen;
  /** Who opens it, for messages: `root`, `Daemon.user "app"`. Default: `root` or `uid <owner>`. */
  who?: string;
}

/**
 * Walks to the folder of the log file `path` (made absolute, `..` resolved
 * as written) as the module doc says, and returns its descriptor (`O_PATH`;
 * close it with `closeFd`), or undefined when a step is missing or is not a
 * folder.
 *
 * @throws {FlagstaffError} `config_invalid`, naming the file and why:
 *   `Cannot use log file "/tmp/l/app.log" as root: "/tmp/l" is a symbolic
 *   link in "/tmp", a folder other users can change; …`; `permission`
 *   without `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { openLogFolder } from "./log_folder.ts";
 * import { closeFd } from "./safe_file.ts";
 * const dir = await Deno.makeTempDir();
 * closeFd(openLogFolder(`${dir}/app.log`, { owner: 0, reopens: "rotate" })!);
 * await Deno.chmod(dir, 0o1777);
 * closeFd(openLogFolder(`${dir}/app.log`, { owner: 0 })!);
 * assert.throws(() => openLogFolder(`${dir}/app.log`, { owner: 0, reopens: "rotate" }), /no other user can write/);
 * assert.equal(openLogFolder(`${dir}/missing/app.log`, { owner: 0 }), undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function openLogFolder(path: string, options: LogFolderOptions): number | undefined {
  const { owner, reopens } = options;
  const who = options.who ?? (owner === 0 ? "root" : `uid ${owner}`);
  const only = owner === 0 ? "only root" : `only root and ${who}`;
  const elsewhere = owner === 0 ? ", or Daemon.user to log as that user" : "";
  const file = resolve(path);
  const folder = dirname(file);
  const refuse = (reason: string, advice: string) =>
    new FlagstaffError(
      "config_invalid",
      `Cannot use log file "${path}" as ${who}: ${reason}; ${advice}`,
    );
  let fd: number | undefined;
  try {
    fd = openPrivateFolder(folder, { owner, folderDistrust: () => undefined });
  } catch (error) {
    if (!(error instanceof FileProblem)) throw error;
    throw refuse(
      `on the way to its folder, ${error.reason}`,
      `use a folder whose whole path ${only} can change (no link in a folder others can write)${elsewhere}`,
    );
  }
  if (fd === undefined) return undefined;
  try {
    const stat = fstatFd(fd);
    const mode = (stat.mode & 0o7777).toString(8);
    const foreign = stat.uid !== 0 && stat.uid !== owner;
    const shared = (stat.mode & 0o022) !== 0;
    const sticky = (stat.mode & 0o1000) !== 0;
    if (foreign || (shared && !sticky)) {
      throw refuse(
        `its folder "${folder}" can be changed by another user (uid ${stat.uid}, mode ${mode})`,
        `use a folder ${only} can change${elsewhere}`,
      );
    }
    if (shared && reopens !== undefined) {
      const how = reopens === "rotate"
        ? "a rotating file is renamed and created anew by its path at each rollover"
        : "a delay: true file is opened (mode w: truncated) by its path at its first record";
      throw refuse(
        `its folder "${folder}" can be written by other users (uid ${stat.uid}, mode ${mode}), ` +
          `and ${how}, where another user could have put a symbolic link meanwhile`,
        `use a folder that no other user can write (not even with the sticky bit, as /tmp)${elsewhere}`,
      );
    }
    const opened = fd;
    fd = undefined;
    return opened;
  } finally {
    if (fd !== undefined) closeFd(fd);
  }
}

/**
 * Makes sure the log file `path` may be opened now by this process's user:
 * its folder passes {@link openLogFolder}, and the file in that very folder
 * is a regular file of this user with one link, created (mode 0640, less
 * the umask) if missing (`ensureOwnFile()` of `own_file.ts`).
 *
 * @throws {FlagstaffError} `config_invalid` naming the file and why (its
 *   folder missing: `Cannot use log file "…": its folder "…" does not
 *   exist, or a step of its path is not a folder`); `permission` without
 *   `--allow-ffi`.
 */
export function prepareLogFile(path: string, options: { reopens?: LogReopen } = {}): void {
  const file = resolve(path);
  const fd = openLogFolder(file, { owner: effectiveUid(), reopens: options.reopens });
  if (fd === undefined) {
    throw new FlagstaffError(
      "config_invalid",
      `Cannot use log file "${file}": its folder "${
        dirname(file)
      }" does not exist, or a step of its path is not a folder`,
    );
  }
  try {
    ensureOwnFile(file, { mode: 0o640, what: "log file", code: "config_invalid", dirFd: fd });
  } finally {
    closeFd(fd);
  }
}
