/**
 * Which pidfile flagstaff trusts, and the errors of the pidfile modules.
 *
 * A pidfile's folder may be one other users can write to, and Deno's file
 * API follows symbolic links and blocks on FIFOs, so an existing pidfile is
 * opened through libc (`safe_file.ts`, `--allow-ffi`) by {@link openExisting}:
 * never through a link, never blocking, and only a regular file. As root, a
 * pidfile another user could change is refused outright, as
 * `start-stop-daemon(8)` does: that user could otherwise write any pid into
 * it, and `flagstaff stop` as root would signal it ({@link folderDistrust}
 * for its folder and every folder above, {@link fileDistrust}). A pidfile
 * with more than one link is refused from anyone ({@link openExisting}).
 *
 * Private to `pidfile.ts`, `open_pidfile.ts`, `pidfile_locks.ts` and
 * `_start_lock.ts`.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import type { FileStat } from "./file_stat.ts";
import { ENOENT, OsError } from "./os_error.ts";
import { effectiveUid } from "./own_file.ts";
import { FileProblem, openPrivateFolder } from "./private_folder.ts";
import { closeFd, NotRegularFileError, O_RDONLY, openRegularFile } from "./safe_file.ts";
import { type ErrorCode, FlagstaffError } from "../core/errors.ts";

/** Code for a pidfile that cannot be created, read, removed or trusted (exit 1). */
export const PIDFILE_ERROR: ErrorCode = "pidfile";

/** The OS's words from a Deno error: `no such file or directory (os error 2)`. */
export function osMessage(error: unknown): string {
  if (error instanceof OsError) return error.reason;
  const message = error instanceof Error ? error.message : String(error);
  const text = /^.*?\(os error \d+\)/.exec(message)?.[0] ?? message;
  return `${text.charAt(0).toLowerCase()}${text.slice(1)}`;
}

/**
 * The error for failing to `action` (`"create"`, `"read"`, `"remove"`) the
 * pidfile `path`: `permission` naming the flags when one is missing, a
 * {@link FlagstaffError} as it is, else `pidfile` with the OS's words.
 */
export function pidfileError(action: string, path: string, error: unknown): FlagstaffError {
  if (
    error instanceof Deno.errors.NotCapable ||
    (error instanceof FlagstaffError && error.code === "permission")
  ) {
    return new FlagstaffError(
      "permission",
      `Cannot ${action} pidfile "${path}": run deno with --allow-read, --allow-write and --allow-ffi`,
      { cause: error },
    );
  }
  if (error instanceof FlagstaffError) return error;
  return new FlagstaffError(
    PIDFILE_ERROR,
    `Cannot ${action} pidfile "${path}": ${osMessage(error)}`,
    {
      cause: error,
    },
  );
}

/** The error for a pidfile flagstaff must not trust. */
export function refusal(path: string, why: string): FlagstaffError {
  return new FlagstaffError(PIDFILE_ERROR, `Refusing pidfile "${path}": ${why}`);
}

/** Why `stat`, the pidfile's folder, lets a user other than root replace the pidfile; or undefined. */
export function folderDistrust(
  folder: string,
  stat: Pick<FileStat, "uid" | "mode">,
): string | undefined {
  const where = `its folder "${folder}"`;
  if (stat.uid !== 0) return `${where} is owned by uid ${stat.uid}, not root`;
  if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0) {
    return `${where} is writable by group or others (mode ${
      octal(stat.mode)
    }) without the sticky bit`;
  }
  return undefined;
}

/** Why `stat`, the pidfile, lets a user other than root change it; or undefined. */
export function fileDistrust(stat: Pick<FileStat, "uid" | "mode">): string | undefined {
  if (stat.uid !== 0) return `it is owned by uid ${stat.uid}, not root`;
  if ((stat.mode & 0o022) !== 0) {
    return `it is writable by group or others (mode ${octal(stat.mode)})`;
  }
  return undefined;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/** Root's advice after a trust refusal. */
export const ROOT_ADVICE =
  "another user could make root signal any process (keep it in a root-owned folder such as /run/NAME/)";

/** Why a pidfile with more than one link is refused. */
const LINKS_ADVICE =
  "another name of it may be another service's pidfile, whose pid would be reported and signalled (flagstaff makes a pidfile with one link)";

/**
 * As root: opens the folder of `path` walking from `/` one step at a time
 * (`private_folder.ts`, the walk the schedules' state folder takes): every
 * folder on the way, and the pidfile's folder itself, must be one only root
 * can change (or sticky, as `/tmp`: {@link folderDistrust}), and a symbolic
 * link on the way is followed only when no other user could have made or
 * changed it. A link another user planted on the way would otherwise let
 * that user choose the file root reads a pid from, or creates.
 *
 * @returns The folder's descriptor (`O_PATH`; close it with `closeFd`), or
 *   undefined when a step is missing.
 * @throws {FlagstaffError} `pidfile` when a step is refused.
 */
export function openFolderAsRoot(path: string): number | undefined {
  try {
    return openPrivateFolder(resolve(dirname(path)), { owner: 0, folderDistrust });
  } catch (error) {
    if (error instanceof FileProblem) throw refusal(path, `${error.reason}: ${ROOT_ADVICE}`);
    throw error;
  }
}

/**
 * As root: throws when the folder of `path`, or any step of its path, can
 * be changed by another user ({@link openFolderAsRoot}). A missing folder is
 * left to whoever creates the file.
 */
export function checkFolderAsRoot(path: string): void {
  const fd = openFolderAsRoot(path);
  if (fd !== undefined) closeFd(fd);
}

/**
 * Opens the existing pidfile at `path` for reading, safely: never a link,
 * never blocking; only a regular file with one link (a hard link planted at
 * `path` to another service's pidfile would name its pid), and as root only
 * one no other user can change. Returns undefined when nothing is there.
 */
export function openExisting(
  path: string,
  dirFd?: number,
): { fd: number; stat: FileStat } | undefined {
  let opened: { fd: number; stat: FileStat };
  try {
    opened = openRegularFile(dirFd === undefined ? path : basename(path), O_RDONLY, { dirFd });
  } catch (error) {
    if (error instanceof OsError && error.errno === ENOENT) return undefined;
    if (error instanceof NotRegularFileError) {
      const never = error.type === "symlink" ? " (flagstaff never follows one)" : "";
      throw refusal(path, `${error.reason}${never}`);
    }
    throw error;
  }
  if (opened.stat.nlink > 1) {
    closeFd(opened.fd);
    throw refusal(path, `it has ${opened.stat.nlink} hard links: ${LINKS_ADVICE}`);
  }
  if (effectiveUid() === 0) {
    const why = fileDistrust(opened.stat);
    if (why) {
      closeFd(opened.fd);
      throw refusal(path, `${why}: ${ROOT_ADVICE}`);
    }
  }
  return opened;
}
