/**
 * The pidfile: a file holding the daemon's pid, locked with `flock(2)` for as
 * long as the daemon runs. The lock, not the file, says who runs, and only
 * one lock counts: an instance runs when the process whose pid is in the
 * file holds the file's exclusive (`WRITE`) lock, as `/proc/locks` tells
 * (matched by device and inode). Every other lock is ignored: a shared lock
 * (a reader's, or another user's: a pidfile is readable by all, and `flock`
 * works on a read-only descriptor), and an exclusive one held by a process
 * that is not the pid in the file (or that `/proc/locks` shows as pid 0,
 * outside this PID namespace). A pidfile whose pid holds no exclusive lock
 * was left by a process that died (the kernel drops the lock however the
 * holder ends, even on `SIGKILL`): it is stale. {@link acquirePidfile},
 * `status`, `stop`, `reload` and `signal` all decide through
 * {@link OpenPidfile.locks}, so they always agree; another user who holds a
 * lock on a stale pidfile keeps nobody from starting.
 *
 * `/proc/locks` is checked against the kernel: a shared `flock` probe, given
 * back at once, fails when anyone holds the exclusive lock. When the probe
 * fails but `/proc/locks` lists no exclusive lock on the file (a file system
 * whose device numbers `/proc/locks` does not match), nobody can tell who
 * runs: every command refuses the pidfile rather than guess.
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
 * file, and is read {@link PIDFILE_READ_LIMIT_BYTES} bytes at most. As root,
 * a pidfile another user could change is refused outright (see
 * {@link openPidfile}): that user could otherwise write any pid into it.
 *
 * How {@link acquirePidfile} writes the pid so that readers never see a
 * half-written file and two starters never both win:
 *
 * 1. Create a temp file `.NAME.XXXXXXXX.tmp` in the same folder, mode 0600
 *    (no other user can open it, so none can lock it first), lock it
 *    exclusively, write `PID\n`, give it its mode (0644 less the umask), sync
 *    it. From now on it is a running instance's pidfile by the rule above.
 * 2. Take the start lock: an exclusive `flock` on `.NAME.lock` beside the
 *    pidfile, mode 0600 and owned by this user (another user cannot open it,
 *    so cannot hold it), waiting up to `lockWaitMs`. Starters, and `stop`
 *    removing a stale pidfile, hold it in turn; it is the only thing that
 *    orders them, since the pidfile's own lock cannot (another user can hold
 *    it). The holder checks that the path still names the file it locked
 *    (else it starts over), and removes it before letting go: a waiter that
 *    then gets the lock of the removed file sees that and starts over.
 * 3. No pidfile yet: `link()` the temp file to the path. It appears complete
 *    and already locked by its pid.
 * 4. A pidfile exists: read its pid and decide by the rule. Runs: refuse.
 *    Stale: `rename()` the temp file over it (atomic: a reader sees the old
 *    file or the new one; whoever holds a lock on the old one keeps it, on
 *    a file that no longer has a name).
 * 5. Remove `.NAME.lock` and let go of it.
 *
 * Why two starters never both win: steps 3 and 4 run under the start lock,
 * so one starter, A, finishes them first, and the path then names A's file:
 * locked exclusively by A since step 1, with A's pid in it. The other
 * starter, B, holds the start lock only after that, so it finds A's file and
 * sees it run, and refuses with `Already running as pid A`; unless A has
 * ended meanwhile, and then B is rightly the only one. Nothing else replaces
 * or removes a file that runs: a stale file is replaced only under the start
 * lock, and `stop` removes one only under it too. And a verdict of stale
 * cannot go bad before the rename: a stale file never runs again (an owner
 * locks only its own new file, before it has the name), and the only other
 * change, an instance removing its own file, comes before it unlocks it, so
 * the starter that saw it unlocked finds the path no longer names it, and
 * links instead.
 *
 * So the path names a locked file with a whole pid from the moment it exists
 * until {@link Pidfile.release}, which removes the file while it still holds
 * the lock (removing it after unlocking could remove the next owner's file),
 * and only if the path still names its own file. Release needs no start
 * lock: nobody replaces a file that runs.
 *
 * A process killed during step 1 leaves a `.NAME.*.tmp` file behind, one
 * killed during steps 2 to 5 a `.NAME.lock`, which the next starter takes
 * and removes. Nothing is synced to the folder: after a power loss the
 * pidfile may be missing or stale, and both are handled. A process that took
 * the pid in a stale pidfile (pid reuse) and locks that file exclusively
 * makes it look running: that takes a process of that pid, which the system
 * gives out again only after a full cycle of pids.
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
  notOwnFile,
  NotRegularFileError,
  O_CREAT,
  O_RDONLY,
  openFolder,
  openNoFollow,
  openRegularFile,
  OsError,
  readAtMost,
  tryFlock,
  unlockFd,
} from "./safe_file.ts";
import { delay } from "../core/delay.ts";
import { type ErrorCode, FlagstaffError } from "../core/errors.ts";

export type { FlockHolder } from "./safe_file.ts";

/** Code for "another process holds the pidfile" (exit 2). */
const ALREADY_RUNNING: ErrorCode = "already_running";
/** Code for a pidfile that cannot be created, read, removed or trusted (exit 1). */
const PIDFILE_ERROR: ErrorCode = "pidfile";

/** The largest pid Linux hands out (`PID_MAX_LIMIT` on 64-bit). */
const PID_MAX = 4_194_304;
/** How often to try the start lock while another process holds it, in milliseconds. */
const LOCK_RETRY_MS = 10;
/** How many times to start over when the pidfile or its start lock is replaced meanwhile. */
const MAX_ATTEMPTS = 20;
/**
 * How many times to look again when the probe says the file is locked
 * exclusively but `/proc/locks` lists no exclusive lock on it: a holder that
 * ended between the two looks, or one that locks and unlocks in a loop.
 */
const MAX_LOCK_LOOKS = 20;
/**
 * The most of a pidfile that is read, in bytes: a pid and its newline take
 * at most 8, so a longer file is not a pid, whatever its size.
 */
export const PIDFILE_READ_LIMIT_BYTES = 32;

/** Options for {@link acquirePidfile}. */
export interface PidfileOptions {
  /** Mode of the file, less the umask. Default `0o644`: anyone can read who runs. */
  mode?: number;
  /**
   * How long to wait for the start lock (`.NAME.lock`) while another starter,
   * or a `stop` removing a stale pidfile, holds it, in milliseconds: they
   * hold it for an instant. Default 10000.
   */
  lockWaitMs?: number;
}

/** Who holds locks on a pidfile, and whether that makes its instance run. */
export interface PidfileLocks {
  /**
   * The running instance: the pid in the file, when that process holds the
   * file's exclusive lock; undefined when none runs (the file is stale).
   */
  ownerPid: number | undefined;
  /**
   * Every other `flock` on the file, from `/proc/locks`: ignored, they make
   * nothing run (a reader's shared lock, another user's lock on a stale
   * file, an exclusive lock held by a process that is not the pid in it).
   */
  ignored: FlockHolder[];
}

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

/** Whether `path` names the file `stat` describes. */
function names(path: string, stat: FileStat): boolean {
  try {
    return sameStat(lstatPath(path), stat);
  } catch (error) {
    if (error instanceof OsError && error.errno === ENOENT) return false;
    throw error;
  }
}

/**
 * The pid in a pidfile's text (`"1234\n"`), or undefined when the text is
 * empty or anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePid } from "./pidfile.ts";
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

/**
 * Decides whether the pidfile open as `fd` (`stat`, holding `pid`) runs: the
 * one rule of the module doc. A shared `flock` probe, given back at once,
 * checks `/proc/locks` against the kernel: when the probe meets an exclusive
 * lock that `/proc/locks`, read just after, does not list, it looks again
 * (the holder may have ended in between, or lock and unlock in a loop); when
 * that persists, the table does not describe this file, and nobody can tell.
 *
 * @throws {FlagstaffError} `pidfile` when `/proc/locks` cannot be read, or
 *   keeps listing no exclusive lock on a file the probe finds locked.
 */
function inspectLocks(
  path: string,
  fd: number,
  stat: FileStat,
  pid: number | undefined,
): PidfileLocks {
  for (let look = 1;; look++) {
    const free = tryFlock(fd, false);
    if (free) unlockFd(fd);
    let holders: FlockHolder[];
    try {
      holders = flockHolders(stat);
    } catch (error) {
      throw new FlagstaffError(
        PIDFILE_ERROR,
        `Cannot tell who holds pidfile "${path}": cannot read "/proc/locks": ${osMessage(error)}`,
        { cause: error },
      );
    }
    const owner = holders.findIndex((lock) => lock.exclusive && lock.pid !== 0 && lock.pid === pid);
    if (owner >= 0) return { ownerPid: pid, ignored: holders.filter((_, i) => i !== owner) };
    if (free || holders.some((lock) => lock.exclusive)) {
      return { ownerPid: undefined, ignored: holders };
    }
    if (look >= MAX_LOCK_LOOKS) {
      throw new FlagstaffError(
        PIDFILE_ERROR,
        `Cannot tell who holds pidfile "${path}": it is locked, but "/proc/locks" lists no lock on it`,
      );
    }
  }
}

/** This process's umask, from `/proc/self/status` (reading it with `umask(2)` would change it). */
function currentUmask(): number {
  const fd = openNoFollow("/proc/self/status", O_RDONLY);
  try {
    const text = new TextDecoder().decode(readAtMost(fd, 65536));
    const match = /^Umask:\s*([0-7]+)$/m.exec(text);
    if (!match) throw new Error(`"/proc/self/status" has no "Umask:" line`);
    return parseInt(match[1], 8);
  } finally {
    closeFd(fd);
  }
}

/** The start lock's path: `.NAME.lock` beside the pidfile `path`. */
function startLockPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.lock`);
}

/**
 * Runs `fn` holding the start lock of the pidfile `path` (see the module
 * doc), waiting up to `waitMs` for it, and removes the lock file before
 * letting go.
 *
 * @throws {FlagstaffError} `pidfile` when the lock file cannot be opened or
 *   is not this user's own regular file with one link, or another process
 *   holds it past `waitMs`; what `fn` throws.
 */
async function withStartLock<T>(path: string, waitMs: number, fn: () => T): Promise<T> {
  const lockPath = startLockPath(path);
  const deadlineMs = performance.now() + waitMs;
  for (let attempt = 1;; attempt++) {
    let opened: { fd: number; stat: FileStat };
    try {
      opened = openRegularFile(lockPath, O_RDONLY | O_CREAT, { mode: 0o600 });
    } catch (error) {
      if (error instanceof NotRegularFileError) {
        throw refusal(path, `its lock file "${lockPath}": ${error.reason}`);
      }
      if (error instanceof OsError) {
        throw new FlagstaffError(
          PIDFILE_ERROR,
          `Cannot create pidfile "${path}": cannot open its lock file "${lockPath}": ${error.reason}`,
          { cause: error },
        );
      }
      throw error;
    }
    const { fd, stat } = opened;
    try {
      const why = notOwnFile(stat, effectiveUid());
      if (why) throw refusal(path, `its lock file "${lockPath}": ${why}`);
      while (!tryFlock(fd, true)) {
        if (performance.now() >= deadlineMs) {
          throw new FlagstaffError(
            PIDFILE_ERROR,
            `Cannot create pidfile "${path}": another process has held its lock file "${lockPath}" for more than ${
              waitMs / 1000
            } s`,
          );
        }
        await delay(LOCK_RETRY_MS);
      }
      // Its holder removed it before letting go: take the one that has the name now.
      if (!names(lockPath, stat)) {
        if (attempt >= MAX_ATTEMPTS) {
          throw new FlagstaffError(
            PIDFILE_ERROR,
            `Cannot create pidfile "${path}": its lock file "${lockPath}" was replaced ${MAX_ATTEMPTS} times`,
          );
        }
        continue;
      }
      try {
        return fn();
      } finally {
        try {
          Deno.removeSync(lockPath);
        } catch {
          // Left behind, it is harmless: the next holder takes it and removes it.
        }
      }
    } finally {
      closeFd(fd);
    }
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
  /** The pid written to it: this process's. */
  readonly pid: number;
  /**
   * Whether a pidfile was already there whose pid held no lock on it: left
   * by a process that died. Worth a log line, with {@link Pidfile.previousPid}
   * and {@link Pidfile.ignoredLocks}.
   */
  readonly stale: boolean;
  /** The pid the stale pidfile held; undefined when none or not stale. */
  readonly previousPid: number | undefined;
  /**
   * The locks other processes held on the stale pidfile, which were ignored
   * (see {@link PidfileLocks.ignored}); they keep them, on a file that no
   * longer has a name. Empty when none, or not stale. Worth a warning: a
   * process of another user locking a pidfile may be an attempt to keep the
   * daemon from starting.
   */
  readonly ignoredLocks: readonly FlockHolder[];
  #file: Deno.FsFile | undefined;
  readonly #id: FileId;

  /** Use {@link acquirePidfile}. */
  constructor(
    token: typeof TOKEN,
    init: {
      path: string;
      pid: number;
      stale: boolean;
      previousPid?: number;
      ignoredLocks?: FlockHolder[];
      file: Deno.FsFile;
    },
  ) {
    if (token !== TOKEN) throw new TypeError("Use acquirePidfile() to make a Pidfile");
    this.path = init.path;
    this.pid = init.pid;
    this.stale = init.stale;
    this.previousPid = init.previousPid;
    this.ignoredLocks = init.ignoredLocks ?? [];
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

function lstatIfExists(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
}

/**
 * Takes the pidfile at `path` for this process: creates it, or replaces a
 * stale one, holding `PID\n` and locked until {@link Pidfile.release} or the
 * process ends. The module doc explains the steps, and why two starters
 * never both win.
 *
 * Another instance runs only when the pid in the existing pidfile holds its
 * exclusive lock; any other lock on it is ignored and listed in
 * {@link Pidfile.ignoredLocks}, and the file is replaced.
 *
 * An existing pidfile is opened without following a link or blocking: a
 * link, FIFO, device or folder there is refused. As root, it also refuses a
 * pidfile another user could change (see {@link openPidfile}), since
 * `flagstaff stop` as root would then signal whatever that user chose.
 *
 * @throws {FlagstaffError} `already_running` (exit 2) when another instance
 *   runs: `Already running as pid 1234 (pidfile "/run/app.pid")`;
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
 *   assert.equal(status.running, true);
 *   assert.equal(pidfile.stale, false);
 * }
 * assert.equal((await readPidfile(`${dir}/app.pid`)).exists, false);
 * await Deno.remove(dir);
 * ```
 */
export async function acquirePidfile(path: string, options: PidfileOptions = {}): Promise<Pidfile> {
  const { mode = 0o644, lockWaitMs = 10_000 } = options;
  const pid = Deno.pid;
  try {
    if (effectiveUid() === 0) checkFolderAsRoot(path);
  } catch (error) {
    throw pidfileError("create", path, error);
  }
  const temp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  let file: Deno.FsFile;
  try {
    // 0600 until it is locked: no other user can open it, so none can lock it first.
    file = Deno.openSync(temp, { read: true, write: true, createNew: true, mode: 0o600 });
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
    Deno.chmodSync(temp, mode & ~currentUmask());
    file.syncSync();
    result = await withStartLock(path, lockWaitMs, () => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        try {
          Deno.linkSync(temp, path);
          return new Pidfile(TOKEN, { path, pid, stale: false, file });
        } catch (error) {
          if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        }
        const old = openExisting(path);
        if (old === undefined) continue; // released meanwhile: link again
        try {
          const previousPid = readPid(old.fd).pid;
          const locks = inspectLocks(path, old.fd, old.stat, previousPid);
          if (locks.ownerPid !== undefined) {
            throw new FlagstaffError(
              ALREADY_RUNNING,
              `Already running as pid ${locks.ownerPid} (pidfile "${path}")`,
            );
          }
          if (!names(path, old.stat)) continue; // its owner released it meanwhile
          Deno.renameSync(temp, path);
          tempNamed = false;
          return new Pidfile(TOKEN, {
            path,
            pid,
            stale: true,
            previousPid,
            ignoredLocks: locks.ignored,
            file,
          });
        } finally {
          closeFd(old.fd);
        }
      }
      throw new FlagstaffError(
        PIDFILE_ERROR,
        `Cannot create pidfile "${path}": it was replaced ${MAX_ATTEMPTS} times while acquiring it`,
      );
    });
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
   * Whether this file's instance runs, by the one rule of the module doc
   * (the same as {@link acquirePidfile}'s): its pid, when that process holds
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
    return names(this.path, this.stat);
  }

  /**
   * Removes the pidfile if its instance no longer runs and the path still
   * names it: for `stop`, after the instance ended without removing it (it
   * had dropped privileges, or was killed). Holds the start lock while it
   * checks and removes (see the module doc), so a starter that takes the
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
 * Reads the pidfile at `path`: the pid in it, whether its instance runs (by
 * the rule {@link acquirePidfile} and `status` use), and the locks ignored
 * (see {@link openPidfile} for what it refuses). Needs `--allow-ffi`.
 *
 * @throws {FlagstaffError} when the file exists but cannot be read or is refused.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { readPidfile } from "./pidfile.ts";
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
