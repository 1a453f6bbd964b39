/**
 * Reading a pidfile, for `status`, `stop`, `reload` and `signal`:
 * {@link openPidfile} opens it and tells its pid and who holds its lock
 * ({@link OpenPidfile}), {@link readPidfile} sums that up. Whether its
 * instance runs is decided by the one rule of `pidfile_locks.ts`, the same
 * as `acquirePidfile()` (`pidfile.ts`) uses, so they always agree.
 *
 * The pidfile's folder may be one other users can write to: the file is
 * opened through libc (`safe_file.ts`, `--allow-ffi`) without following a
 * link or blocking, must be a regular file, and is read
 * {@link PIDFILE_READ_LIMIT_BYTES} bytes at most. As root, a pidfile another
 * user could change is refused outright (`_pidfile_trust.ts`): that user
 * could otherwise write any pid into it.
 *
 * @module
 */

import { dirname } from "node:path";
import { type FileStat, pathNames } from "./file_stat.ts";
import type { FlockHolder } from "./flock.ts";
import { ENOENT, OsError } from "./os_error.ts";
import { effectiveUid } from "./own_file.ts";
import { inspectLocks, type PidfileLocks } from "./pidfile_locks.ts";
import { closeFd, openFolder, readAtMost } from "./safe_file.ts";
import { openExisting, openFolderAsRoot, pidfileError } from "./_pidfile_trust.ts";
import { withStartLock } from "./_start_lock.ts";

/** The largest pid Linux hands out (`PID_MAX_LIMIT` on 64-bit). */
const PID_MAX = 4_194_304;

/**
 * The most of a pidfile that is read, in bytes: a pid and its newline take
 * at most 8, so a longer file is not a pid, whatever its size.
 */
export const PIDFILE_READ_LIMIT_BYTES = 32;

/** What {@link readPidfile} found. */
export interface PidfileStatus {
  /** Whether the file exists. */
  exists: boolean;
  /** The pid in the file; undefined when missing, empty or not a pid. */
  pid: number | undefined;
  /** Whether that pid holds the file's exclusive lock: the instance runs. */
  running: boolean;
  /** The other locks on the file, ignored (see {@link PidfileLocks.ignored}). */
  ignoredLocks: FlockHolder[];
}

/**
 * The pid in a pidfile's text (`"1234\n"`), or undefined when the text is
 * empty or anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePid } from "./open_pidfile.ts";
 * assert.equal(parsePid("1234\n"), 1234);
 * assert.equal(parsePid(""), undefined);
 * assert.equal(parsePid("12ab"), undefined);
 * ```
 */
export function parsePid(text: string): number | undefined {
  const match = /^\s*([0-9]{1,7})\s*$/.exec(text);
  if (!match) return undefined;
  const pid = Number(match[1]);
  return pid >= 1 && pid <= PID_MAX ? pid : undefined;
}

/** The first bytes of an open pidfile, and the pid they hold. */
export function readPid(fd: number): { pid: number | undefined; text: string; whole: boolean } {
  const bytes = readAtMost(fd, PIDFILE_READ_LIMIT_BYTES + 1);
  const whole = bytes.length <= PIDFILE_READ_LIMIT_BYTES;
  const text = new TextDecoder().decode(bytes.subarray(0, PIDFILE_READ_LIMIT_BYTES));
  return { pid: whole ? parsePid(text) : undefined, text, whole };
}

/** What a pidfile holds instead of a pid, for a message: `is empty`, `holds "what\n"`. */
function describeContent(read: { text: string; whole: boolean }): string {
  if (read.whole && read.text.trim() === "") return "is empty";
  const shown = JSON.stringify(read.whole ? read.text : `${read.text}…`);
  return `holds ${shown}${read.whole ? "" : ` (more than ${PIDFILE_READ_LIMIT_BYTES} bytes)`}`;
}

const TOKEN = Symbol("OpenPidfile");

/**
 * A pidfile opened for reading by {@link openPidfile}: its pid, and who holds
 * its lock. Close it (or `using`) when done; the descriptor keeps naming the
 * very file that was checked even if the path is replaced.
 */
export class OpenPidfile implements Disposable {
  /** The pidfile's path. */
  readonly path: string;
  /** The pid in the file; undefined when empty, longer than a pid, or anything else. */
  readonly pid: number | undefined;
  /** What the file holds instead of a pid, for messages: `is empty`, `holds "x"`. */
  readonly content: string;
  /** The file, as opened. */
  readonly stat: FileStat;
  #fd: number | undefined;

  /** Use {@link openPidfile}. */
  constructor(token: typeof TOKEN, path: string, opened: { fd: number; stat: FileStat }) {
    if (token !== TOKEN) throw new TypeError("Use openPidfile() to make an OpenPidfile");
    this.path = path;
    this.#fd = opened.fd;
    this.stat = opened.stat;
    const read = readPid(opened.fd);
    this.pid = read.pid;
    this.content = describeContent(read);
  }

  #open(): number {
    if (this.#fd === undefined) throw new Error(`Pidfile "${this.path}" is closed`);
    return this.#fd;
  }

  /**
   * Whether this file's instance runs, by the one rule of `pidfile_locks.ts`
   * (the same as `acquirePidfile()`'s): its pid, when that process holds
   * the exclusive lock, and the other locks, ignored. Looks again each call.
   *
   * @throws {FlagstaffError} `pidfile` when `/proc/locks` cannot be read, or
   *   does not list the lock the kernel says the file has.
   */
  locks(): PidfileLocks {
    return inspectLocks(this.path, this.#open(), this.stat, this.pid);
  }

  /** Whether the path still names this file. */
  isCurrent(): boolean {
    return pathNames(this.path, this.stat);
  }

  /**
   * Removes the pidfile if its instance no longer runs and the path still
   * names it: for `stop`, after the instance ended without removing it (it
   * had dropped privileges, or was killed). Holds the start lock while it
   * checks and removes (see `_start_lock.ts`), so a starter that takes the
   * file over meanwhile is never undone. Returns whether it removed it;
   * errors (not allowed to) count as no.
   */
  async removeIfStale(options: { lockWaitMs?: number } = {}): Promise<boolean> {
    this.#open();
    try {
      return await withStartLock(this.path, options.lockWaitMs ?? 10_000, () => {
        if (!this.isCurrent() || this.locks().ownerPid !== undefined) return false;
        Deno.removeSync(this.path);
        return true;
      });
    } catch {
      return false;
    }
  }

  /** Closes the file. */
  close(): void {
    if (this.#fd === undefined) return;
    closeFd(this.#fd);
    this.#fd = undefined;
  }

  /** Same as {@link OpenPidfile.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens the pidfile at `path` to read it, for `status`, `stop`, `reload` and
 * `signal`, or returns undefined when there is none. Never follows a link
 * and never blocks: a link, FIFO, device or folder there is refused. Reads
 * at most {@link PIDFILE_READ_LIMIT_BYTES} (+1) bytes, whatever its size.
 *
 * As root, it refuses a pidfile that a user other than root could change,
 * as `start-stop-daemon` does: a file not owned by root or writable by group
 * or others, or below a folder not owned by root or writable by group or
 * others without the sticky bit (`/tmp` is fine; the file in it must be
 * root's), or reached through a symbolic link another user could have made
 * (the folder is walked from `/`: `_pidfile_trust.ts`). From anyone, it
 * refuses a pidfile with more than one link.
 *
 * @throws {FlagstaffError} `pidfile` (exit 1) when refused or unreadable:
 *   `Refusing pidfile "/tmp/app.pid": it is a FIFO, not a regular file`,
 *   `Refusing pidfile "/tmp/app.pid": it has 2 hard links: …`;
 *   `permission` without `--allow-ffi`.
 */
export function openPidfile(path: string): OpenPidfile | undefined {
  let dirFd: number | undefined;
  try {
    dirFd = effectiveUid() === 0 ? openFolderAsRoot(path) : openFolder(dirname(path));
  } catch (error) {
    if (error instanceof OsError && error.errno === ENOENT) return undefined;
    throw pidfileError("read", path, error);
  }
  if (dirFd === undefined) return undefined;
  try {
    const opened = openExisting(path, dirFd);
    if (opened === undefined) return undefined;
    try {
      return new OpenPidfile(TOKEN, path, opened);
    } catch (error) {
      closeFd(opened.fd);
      throw error;
    }
  } catch (error) {
    throw pidfileError("read", path, error);
  } finally {
    closeFd(dirFd);
  }
}

/**
 * Reads the pidfile at `path`: the pid in it, whether its instance runs (by
 * the rule `acquirePidfile()` and `status` use), and the locks ignored
 * (see {@link openPidfile} for what it refuses). Needs `--allow-ffi`.
 *
 * @throws {FlagstaffError} when the file exists but cannot be read or is refused.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { readPidfile } from "./open_pidfile.ts";
 * assert.deepEqual(await readPidfile("/nonexistent/app.pid"), {
 *   exists: false, pid: undefined, running: false, ignoredLocks: [],
 * });
 * ```
 */
export function readPidfile(path: string): Promise<PidfileStatus> {
  return Promise.try(() => {
    for (let attempt = 0;; attempt++) {
      using file = openPidfile(path);
      if (file === undefined) {
        return { exists: false, pid: undefined, running: false, ignoredLocks: [] };
      }
      const locks = file.locks();
      const running = locks.ownerPid !== undefined;
      // A file that no longer runs and was replaced meanwhile says nothing: look again.
      if (!running && attempt < 3 && !file.isCurrent()) continue;
      return { exists: true, pid: file.pid, running, ignoredLocks: locks.ignored };
    }
  });
}
