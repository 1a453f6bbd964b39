/**
 * Files flagstaff writes as its own (log files, the errors file, the start
 * lock): {@link ensureOwnFile} creates or checks one, {@link notOwnFile}
 * says what is wrong with one: it must be a regular file, owned by the
 * effective user ({@link effectiveUid}, `geteuid(2)`), with one link (a hard
 * link could make writes land in someone else's file). The file is opened
 * with `safe_file.ts`, never through a link and never blocking, and given
 * away with `fchown(2)`.
 *
 * Needs `--allow-ffi`. Linux only; private to `lib/`.
 *
 * @module
 */

import { basename } from "node:path";
import { describeErrno, fileLibc } from "./_libc.ts";
import { describeFileType, type FileStat } from "./file_stat.ts";
import { OsError } from "./os_error.ts";
import {
  closeFd,
  NotRegularFileError,
  O_APPEND,
  O_CREAT,
  O_WRONLY,
  openRegularFile,
} from "./safe_file.ts";
import { type ErrorCode, FlagstaffError } from "../core/errors.ts";

/** The effective uid of this process (`geteuid(2)`). */
export function effectiveUid(): number {
  return fileLibc().geteuid();
}

/** Options for {@link ensureOwnFile}. */
export interface EnsureOwnFileOptions {
  /** Mode of a file it creates, less the umask. Default `0o640`. */
  mode?: number;
  /** What the file is, for the message: `"log file"`. Default `"file"`. */
  what?: string;
  /** The error code it throws. Default `"config_invalid"` (a config names the file). */
  code?: ErrorCode;
  /**
   * The users the file may belong to. Default: the effective user only. As
   * root with `Daemon.user`, a log file may also be that user's (it was
   * given to them at an earlier start).
   */
  owners?: readonly number[];
  /** Gives the file to this user and group (`fchown` on the open file) once checked. Default: none. */
  chownTo?: { uid: number; gid: number };
  /**
   * The descriptor of the file's folder, checked already (`log_folder.ts`'s
   * `openLogFolder()`): the last part of `path` is opened in that very
   * folder, whatever its path leads to now. Default: `path` is opened as given.
   */
  dirFd?: number;
}

/**
 * Makes sure flagstaff can write `path` without being tricked by another
 * user: creates it if missing (`O_WRONLY | O_CREAT | O_APPEND`, never
 * following a link, never blocking), else checks the file that is there. It
 * must be a regular file (anything else is refused without being opened),
 * owned by this process's effective user, with one link (a hard link could make writes land in someone else's file). Call it
 * before handing the path to code that opens it with Deno's API.
 *
 * @returns What the file is.
 * @throws {FlagstaffError} with `options.code`, naming the path and why:
 *   `Cannot use log file "/var/tmp/app.log": it is a symbolic link, not a regular file`;
 *   `permission` without `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { ensureOwnFile } from "./own_file.ts";
 * import { FlagstaffError } from "../core/errors.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(ensureOwnFile(`${dir}/app.log`).type, "file");
 * await Deno.symlink(`${dir}/app.log`, `${dir}/link.log`);
 * assert.throws(
 *   () => ensureOwnFile(`${dir}/link.log`, { what: "log file" }),
 *   new FlagstaffError("config_invalid", `Cannot use log file "${dir}/link.log": it is a symbolic link, not a regular file`),
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function ensureOwnFile(path: string, options: EnsureOwnFileOptions = {}): FileStat {
  const what = options.what ?? "file";
  const code = options.code ?? "config_invalid";
  let opened: { fd: number; stat: FileStat };
  try {
    const dirFd = options.dirFd;
    opened = openRegularFile(
      dirFd === undefined ? path : basename(path),
      O_WRONLY | O_CREAT | O_APPEND,
      {
        mode: options.mode ?? 0o640,
        dirFd,
      },
    );
  } catch (error) {
    if (!(error instanceof OsError || error instanceof NotRegularFileError)) throw error;
    throw new FlagstaffError(code, `Cannot use ${what} "${path}": ${error.reason}`, {
      cause: error,
    });
  }
  try {
    const euid = effectiveUid();
    const owners = options.owners ?? [euid];
    const problem = notOwnFile(
      opened.stat,
      owners.includes(opened.stat.uid) ? opened.stat.uid : euid,
    );
    if (problem) throw new FlagstaffError(code, `Cannot use ${what} "${path}": ${problem}`);
    const to = options.chownTo;
    if (to && (opened.stat.uid !== to.uid || opened.stat.gid !== to.gid)) {
      if (fileLibc().fchown(opened.fd, to.uid, to.gid) !== 0) {
        throw new FlagstaffError(
          code,
          `Cannot give ${what} "${path}" to uid ${to.uid}: ${describeErrno(undefined, fileLibc())}`,
        );
      }
    }
    return opened.stat;
  } finally {
    closeFd(opened.fd);
  }
}

/**
 * Why a file is not one this process may write as its own, or undefined:
 * not a regular file, owned by another user, or more than one link.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notOwnFile } from "./own_file.ts";
 * assert.equal(notOwnFile({ type: "file", uid: 0, nlink: 1 }, 0), undefined);
 * assert.equal(notOwnFile({ type: "fifo", uid: 0, nlink: 1 }, 0), "it is a FIFO, not a regular file");
 * assert.equal(notOwnFile({ type: "file", uid: 65534, nlink: 1 }, 0), "it is owned by uid 65534, not uid 0");
 * assert.equal(notOwnFile({ type: "file", uid: 0, nlink: 2 }, 0), "it has 2 hard links, not 1");
 * ```
 */
export function notOwnFile(
  stat: Pick<FileStat, "type" | "uid" | "nlink">,
  euid: number,
): string | undefined {
  if (stat.type !== "file") return `it is ${describeFileType(stat.type)}, not a regular file`;
  if (stat.uid !== euid) return `it is owned by uid ${stat.uid}, not uid ${euid}`;
  if (stat.nlink !== 1) return `it has ${stat.nlink} hard links, not 1`;
  return undefined;
}
