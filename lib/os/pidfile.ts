/**
 * The pidfile: a file holding the daemon's pid, locked with `flock(2)` for as
 * long as the daemon runs. The lock, not the file, says who runs: a pidfile
 * nobody holds the lock on was left by a process that died (it is stale), and
 * the kernel drops the lock however the holder ends, even on `SIGKILL`.
 *
 * The daemon locks its file with Deno's `FsFile.tryLockSync()` (a
 * non-blocking `flock()`; Deno opens files close-on-exec, so children do not
 * inherit it). A flock belongs to the open file, so a second open of the
 * same file, even in this process, sees it.
 *
 * Anything else that opens a pidfile goes through libc (`lib/os/safe_file.ts`,
 * `--allow-ffi`), since the pidfile's folder may be one other users can write
 * to and Deno's API follows symbolic links and blocks on FIFOs: an existing
 * pidfile is opened without following a link or blocking, must be a regular
 * file, and is read {@link PIDFILE_READ_LIMIT_BYTES} bytes at most. Who runs
 * is checked, not believed: `/proc/locks` names the process that holds the
 * lock, and `stop`/`signal` act only when it is the pid in the file. As root,
 * a pidfile another user could change is refused outright (see
 * {@link openPidfile}): that user could otherwise hold the lock from a
 * process whose pid the system later gives to another process.
 *
 * How {@link acquirePidfile} writes the pid so that readers never see a
 * half-written file and two starters never both win:
 *
 * 1. Write `PID\n` to a new temp file in the same folder, lock it, sync it.
 * 2. No pidfile yet: `link()` the temp file to the path. A link fails when
 *    the path exists, so of two starters only one creates the pidfile, and it
 *    appears complete and already locked.
 * 3. A pidfile exists: open it and try its lock (for up to `lockWaitMs`: a
 *    `status` check holds it for an instant). Held: refuse, another process
 *    runs. Free: it is stale; check that the path still names the file we
 *    locked (another starter may have replaced it in between; if so start
 *    over), then `rename()` the temp file over it. Whoever locks the replaced
 *    file after us sees that the path no longer names it, starts over, and
 *    finds our lock.
 *
 * So the path names a locked file with a whole pid from the moment it exists
 * until {@link Pidfile.release}, which removes the file while it still holds
 * the lock (removing it after unlocking could remove the next owner's file),
 * and only if the path still names its own file.
 *
 * A process killed between steps 1 and 2 leaves a `.NAME.*.tmp` file behind.
 * Nothing is synced to the folder: after a power loss the pidfile may be
 * missing or stale, and both are handled.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import {
  closeFd,
  effectiveUid,
  ENOENT,
  type FileStat,
  type FlockHolder,
  flockHolders,
  fstatFd,
  lstatPath,
  NotRegularFileError,
  O_RDONLY,
  openFolder,
  openRegularFile,
  OsError,
  readAtMost,
  tryFlock,
  unlockFd,
} from "./safe_file.ts";
import { delay } from "../core/delay.ts";
import { type ErrorCode, FlagstaffError } from "../core/errors.ts";

/** Code for "another process holds the pidfile" (exit 2). */
const ALREADY_RUNNING: ErrorCode = "already_running";
/** Code for a pidfile that cannot be created, read, removed or trusted (exit 1). */
const PIDFILE_ERROR: ErrorCode = "pidfile";

/** The largest pid Linux hands out (`PID_MAX_LIMIT` on 64-bit). */
const PID_MAX = 4_194_304;
/** How often to try a lock that someone else holds, in milliseconds. */
const LOCK_RETRY_MS = 10;
/** How many times to start over when the pidfile is replaced while acquiring it. */
const MAX_ATTEMPTS = 20;
/**
 * The most of a pidfile that is read, in bytes: a pid and its newline take
 * at most 8, so a longer file is not a pid, whatever its size.
 */
export const PIDFILE_READ_LIMIT_BYTES = 32;

/** Options for {@link acquirePidfile}. */
export interface PidfileOptions {
  /** The pid to write. Default `Deno.pid`. */
  pid?: number;
  /** Mode of the file, less the umask. Default `0o644`: anyone can read who runs. */
  mode?: number;
  /**
   * How long to keep trying the lock of an existing pidfile, in milliseconds,
   * before deciding another process runs: a {@link readPidfile} holds it for
   * an instant. Default 100.
   */
  lockWaitMs?: number;
}

/** What {@link readPidfile} found. */
export interface PidfileStatus {
  /** Whether the file exists. */
  exists: boolean;
  /** The pid in the file; undefined when missing, empty or not a pid. */
  pid: number | undefined;
  /** Whether a process holds the exclusive lock: true means it runs. */
  locked: boolean;
  /**
   * The process holding the exclusive lock, from `/proc/locks`: the pid that
   * took it (0 when outside this PID namespace); undefined when not locked.
   */
  holderPid: number | undefined;
}

/** Identity of a file: device and inode. */
interface FileId {
  dev: number;
  ino: number | null;
}

function sameFile(a: FileId, b: FileId): boolean {
  return a.ino !== null && a.dev === b.dev && a.ino === b.ino;
}

function sameStat(a: FileStat, b: FileStat): boolean {
  return a.ino === b.ino && a.devMajor === b.devMajor && a.devMinor === b.devMinor;
}

/**
 * The pid in a pidfile's text (`"1234\n"`), or undefined when the text is
 * empty or anything else.
 *
 * @example
 * ```ts
 * import { parsePid } from "./pidfile.ts";
 * console.assert(parsePid("1234\n") === 1234);
 * console.assert(parsePid("") === undefined);
 * console.assert(parsePid("12ab") === undefined);
 * ```
 */
export function parsePid(text: string): number | undefined {
  const match = /^\s*([0-9]{1,7})\s*$/.exec(text);
  if (!match) return undefined;
  const pid = Number(match[1]);
  return pid >= 1 && pid <= PID_MAX ? pid : undefined;
}

/** The OS's words from a Deno error: `no such file or directory (os error 2)`. */
function osMessage(error: unknown): string {
  if (error instanceof OsError) return error.reason;
  const message = error instanceof Error ? error.message : String(error);
  const text = /^.*?\(os error \d+\)/.exec(message)?.[0] ?? message;
  return `${text.charAt(0).toLowerCase()}${text.slice(1)}`;
}

function pidfileError(action: string, path: string, error: unknown): FlagstaffError {
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
function refusal(path: string, why: string): FlagstaffError {
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
const ROOT_ADVICE =
  "another user could make root signal any process (keep it in a root-owned folder such as /run/NAME/)";

/**
 * As root: throws when the folder of `path` can be written by another user.
 * Errors opening the folder are left to whoever creates the file.
 */
function checkFolderAsRoot(path: string): void {
  const folder = resolve(dirname(path));
  let fd: number;
  try {
    fd = openFolder(folder);
  } catch (error) {
    if (error instanceof OsError) return;
    throw error;
  }
  try {
    const why = folderDistrust(folder, fstatFd(fd));
    if (why) throw refusal(path, `${why}: ${ROOT_ADVICE}`);
  } finally {
    closeFd(fd);
  }
}

/**
 * Opens the existing pidfile at `path` for reading, safely: never a link,
 * never blocking; only a regular file, and as root only one no other user can
 * change. Returns undefined when nothing is there.
 */
function openExisting(path: string, dirFd?: number): { fd: number; stat: FileStat } | undefined {
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
  if (effectiveUid() === 0) {
    const why = fileDistrust(opened.stat);
    if (why) {
      closeFd(opened.fd);
      throw refusal(path, `${why}: ${ROOT_ADVICE}`);
    }
  }
  return opened;
}

/** The first bytes of an open pidfile, and the pid they hold. */
function readPid(fd: number): { pid: number | undefined; text: string; whole: boolean } {
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

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
}

/** The refusal, naming the pid the locked file `fd` holds. */
function alreadyRunning(path: string, fd: number): FlagstaffError {
  let read: ReturnType<typeof readPid>;
  try {
    read = readPid(fd);
  } catch (error) {
    return new FlagstaffError(
      ALREADY_RUNNING,
      `Already running (pidfile "${path}" is locked but unreadable: ${osMessage(error)})`,
    );
  }
  if (read.pid !== undefined) {
    return new FlagstaffError(
      ALREADY_RUNNING,
      `Already running as pid ${read.pid} (pidfile "${path}")`,
    );
  }
  return new FlagstaffError(
    ALREADY_RUNNING,
    `Already running (pidfile "${path}" is locked but ${describeContent(read)} instead of a pid)`,
  );
}

function lstatIfExists(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function tryLockFor(fd: number, waitMs: number): Promise<boolean> {
  const deadlineMs = performance.now() + waitMs;
  while (true) {
    if (tryFlock(fd, true)) return true;
    if (performance.now() >= deadlineMs) return false;
    await delay(LOCK_RETRY_MS);
  }
}

const TOKEN = Symbol("Pidfile");

/**
 * A pidfile this process holds: made by {@link acquirePidfile}, given back by
 * {@link Pidfile.release} (or `using`).
 */
export class Pidfile implements Disposable {
  /** The pidfile's path. */
  readonly path: string;
  /** The pid written to it. */
  readonly pid: number;
  /**
   * Whether a pidfile was already there that no process held: left by one
   * that died. Worth a log line, with {@link Pidfile.previousPid}.
   */
  readonly stale: boolean;
  /** The pid the stale pidfile held; undefined when none or not stale. */
  readonly previousPid: number | undefined;
  #file: Deno.FsFile | undefined;
  readonly #id: FileId;

  /** Use {@link acquirePidfile}. */
  constructor(
    token: typeof TOKEN,
    init: { path: string; pid: number; stale: boolean; previousPid?: number; file: Deno.FsFile },
  ) {
    if (token !== TOKEN) throw new TypeError("Use acquirePidfile() to make a Pidfile");
    this.path = init.path;
    this.pid = init.pid;
    this.stale = init.stale;
    this.previousPid = init.previousPid;
    this.#file = init.file;
    this.#id = init.file.statSync();
  }

  /** Whether this process still holds the pidfile. */
  get held(): boolean {
    return this.#file !== undefined;
  }

  /**
   * Removes the pidfile, if the path still names the file this process
   * locked, then unlocks it. Returns whether it removed the file; false when
   * already released, or when the file is gone or was replaced.
   *
   * A process that dropped privileges is not allowed to remove a file in a
   * root-owned folder, and root trusts no other (see {@link acquirePidfile}):
   * then the file stays, unlocked, so it reads as stale; `flagstaff stop`
   * removes it, and the next start replaces it.
   *
   * @throws {FlagstaffError} when the file cannot be removed for another
   *   reason; it is unlocked all the same.
   */
  release(): boolean {
    const file = this.#file;
    if (file === undefined) return false;
    this.#file = undefined;
    try {
      const current = lstatIfExists(this.path);
      if (current === undefined || !sameFile(current, this.#id)) return false;
      Deno.removeSync(this.path);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.PermissionDenied) return false;
      throw pidfileError("remove", this.path, error);
    } finally {
      file.close();
    }
  }

  /** Same as {@link Pidfile.release}. */
  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * Takes the pidfile at `path` for this process: creates it, or replaces a
 * stale one, holding `PID\n` and locked until {@link Pidfile.release} or the
 * process ends. The module doc explains the steps.
 *
 * An existing pidfile is opened without following a link or blocking: a
 * link, FIFO, device or folder there is refused. As root, it also refuses a
 * pidfile another user could change (see {@link readPidfile}), since
 * `flagstaff stop` as root would then signal whatever that user chose.
 *
 * @throws {FlagstaffError} `already_running` (exit 2) when another process
 *   holds it: `Already running as pid 1234 (pidfile "/run/app.pid")`;
 *   `pidfile` (exit 1) when it cannot be created or is refused:
 *   `Refusing pidfile "/tmp/app.pid": it is owned by uid 65534, not root: …`;
 *   `permission` without `--allow-read`, `--allow-write` and `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { acquirePidfile, readPidfile } from "./pidfile.ts";
 * const dir = await Deno.makeTempDir();
 * {
 *   using pidfile = await acquirePidfile(`${dir}/app.pid`);
 *   const status = await readPidfile(`${dir}/app.pid`);
 *   assert.equal(status.pid, Deno.pid);
 *   assert.equal(status.holderPid, Deno.pid);
 *   assert.equal(pidfile.stale, false);
 * }
 * assert.equal((await readPidfile(`${dir}/app.pid`)).exists, false);
 * await Deno.remove(dir);
 * ```
 */
export async function acquirePidfile(path: string, options: PidfileOptions = {}): Promise<Pidfile> {
  const { pid = Deno.pid, mode = 0o644, lockWaitMs = 100 } = options;
  try {
    if (effectiveUid() === 0) checkFolderAsRoot(path);
  } catch (error) {
    throw pidfileError("create", path, error);
  }
  const temp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(temp, { read: true, write: true, createNew: true, mode });
  } catch (error) {
    throw pidfileError("create", path, error);
  }
  let result: Pidfile | undefined;
  let tempNamed = true; // whether the temp name still names our file
  try {
    if (!file.tryLockSync(true)) {
      throw new Error(`A new file "${temp}" is locked by another process`);
    }
    writeAll(file, new TextEncoder().encode(`${pid}\n`));
    file.syncSync();
    for (let attempt = 0; attempt < MAX_ATTEMPTS && result === undefined; attempt++) {
      try {
        Deno.linkSync(temp, path);
        result = new Pidfile(TOKEN, { path, pid, stale: false, file });
        break;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
      const old = openExisting(path);
      if (old === undefined) continue; // released meanwhile: link again
      try {
        if (!await tryLockFor(old.fd, lockWaitMs)) throw alreadyRunning(path, old.fd);
        const current = lstatIfExists(path);
        if (current === undefined || current.ino === null || BigInt(current.ino) !== old.stat.ino) {
          continue; // replaced meanwhile
        }
        const previousPid = readPid(old.fd).pid;
        Deno.renameSync(temp, path);
        tempNamed = false;
        result = new Pidfile(TOKEN, { path, pid, stale: true, previousPid, file });
      } finally {
        closeFd(old.fd);
      }
    }
    if (result === undefined) {
      throw new FlagstaffError(
        PIDFILE_ERROR,
        `Cannot create pidfile "${path}": it was replaced ${MAX_ATTEMPTS} times while acquiring it`,
      );
    }
    return result;
  } catch (error) {
    throw pidfileError("create", path, error);
  } finally {
    if (result === undefined) file.close();
    if (tempNamed) {
      try {
        Deno.removeSync(temp);
      } catch {
        // Best effort: the pidfile itself is what matters.
      }
    }
  }
}

/**
 * A pidfile opened for reading by {@link openPidfile}: its pid, and who holds
 * its lock. Close it (or `using`) when done; the descriptor is what
 * {@link OpenPidfile.isLocked} probes, so it keeps naming the very file that
 * was checked even if the path is replaced.
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
   * The process holding this file's exclusive lock, from `/proc/locks`, or
   * undefined when no process does (a shared lock, as readers take for an
   * instant, is not a holder).
   *
   * @throws {FlagstaffError} `pidfile` when `/proc/locks` cannot be read.
   */
  holder(): FlockHolder | undefined {
    this.#open();
    try {
      return flockHolders(this.stat).find((lock) => lock.exclusive);
    } catch (error) {
      throw new FlagstaffError(
        PIDFILE_ERROR,
        `Cannot tell who holds pidfile "${this.path}": cannot read "/proc/locks": ${
          osMessage(error)
        }`,
        { cause: error },
      );
    }
  }

  /** Whether a process holds the exclusive lock: a shared `flock` probe, given back at once. */
  isLocked(): boolean {
    const fd = this.#open();
    if (!tryFlock(fd, false)) return true;
    unlockFd(fd);
    return false;
  }

  /** Whether the path still names this file. */
  isCurrent(): boolean {
    try {
      return sameStat(lstatPath(this.path), this.stat);
    } catch (error) {
      if (error instanceof OsError && error.errno === ENOENT) return false;
      throw error;
    }
  }

  /**
   * Removes the pidfile if no process holds it and the path still names it:
   * for `stop`, after the instance ended without removing it (it had dropped
   * privileges, or was killed). Holds the exclusive lock while it checks and
   * removes, as {@link Pidfile.release} does, so a starter that takes the file
   * over meanwhile is never undone. Returns whether it removed it; errors
   * (not allowed to) count as no.
   */
  removeIfStale(): boolean {
    const fd = this.#open();
    if (!tryFlock(fd, true)) return false;
    try {
      if (!this.isCurrent()) return false;
      Deno.removeSync(this.path);
      return true;
    } catch {
      return false;
    } finally {
      unlockFd(fd);
    }
  }

  /** Closes the file (giving back any lock this object took). */
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
 * or others, or in a folder not owned by root or writable by group or
 * others without the sticky bit (`/tmp` is fine; the file in it must be
 * root's).
 *
 * @throws {FlagstaffError} `pidfile` (exit 1) when refused or unreadable:
 *   `Refusing pidfile "/tmp/app.pid": it is a FIFO, not a regular file`;
 *   `permission` without `--allow-ffi`.
 */
export function openPidfile(path: string): OpenPidfile | undefined {
  let dirFd: number;
  try {
    dirFd = openFolder(dirname(path));
  } catch (error) {
    if (error instanceof OsError && error.errno === ENOENT) return undefined;
    throw pidfileError("read", path, error);
  }
  try {
    if (effectiveUid() === 0) {
      const why = folderDistrust(resolve(dirname(path)), fstatFd(dirFd));
      if (why) throw refusal(path, `${why}: ${ROOT_ADVICE}`);
    }
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
 * Reads the pidfile at `path`: the pid in it, whether a process holds its
 * exclusive lock, and which (see {@link openPidfile} for what it refuses).
 * Needs `--allow-ffi`.
 *
 * @throws {FlagstaffError} when the file exists but cannot be read or is refused.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { readPidfile } from "./pidfile.ts";
 * assert.deepEqual(await readPidfile("/nonexistent/app.pid"), {
 *   exists: false, pid: undefined, locked: false, holderPid: undefined,
 * });
 * ```
 */
export function readPidfile(path: string): Promise<PidfileStatus> {
  return Promise.try(() => {
    for (let attempt = 0;; attempt++) {
      using file = openPidfile(path);
      if (file === undefined) {
        return { exists: false, pid: undefined, locked: false, holderPid: undefined };
      }
      const holder = file.holder();
      const locked = holder !== undefined || file.isLocked();
      // A free lock on a file that was replaced meanwhile says nothing: look again.
      if (!locked && attempt < 3 && !file.isCurrent()) continue;
      return { exists: true, pid: file.pid, locked, holderPid: holder?.pid };
    }
  });
}
