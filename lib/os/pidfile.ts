/**
 * The pidfile: a file holding the daemon's pid, locked with `flock(2)` for as
 * long as the daemon runs. {@link acquirePidfile} takes it, the returned
 * {@link Pidfile} gives it back. The lock, not the file, says who runs: an
 * instance runs when the process whose pid is in the file holds the file's
 * exclusive lock, and every other lock is ignored (the one rule, in
 * `pidfile_locks.ts`; `open_pidfile.ts` reads a pidfile by it for `status`,
 * `stop`, `reload` and `signal`). A pidfile whose pid holds no exclusive
 * lock is stale, and is replaced; another user who holds a lock on a stale
 * pidfile keeps nobody from starting.
 *
 * The daemon locks its file with Deno's `FsFile.tryLockSync()` (a
 * non-blocking `flock()`; Deno opens files close-on-exec, so children do not
 * inherit it). A flock belongs to the open file, so a second open of the
 * same file, even in this process, sees it. An existing pidfile is opened
 * through libc, never through a link and never blocking, and as root refused
 * when another user could change it (`_pidfile_trust.ts`).
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
 *    then gets the lock of the removed file sees that and starts over
 *    (`_start_lock.ts`).
 * 3. No pidfile yet: rename the temp file to the path, unless something has
 *    that name (`renameat2(RENAME_NOREPLACE)`). It appears complete, already
 *    locked by its pid, and with one link: a pidfile with more is refused
 *    (`_pidfile_trust.ts`). Where the file system cannot rename so, `link()`
 *    it and remove the temp name at once (a reader may see two links then).
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
 * sees it run (A holds that lock through its own descriptor, so the check
 * of the lock's holder in `pidfile_locks.ts` passes, and one that cannot be
 * made counts as running), and refuses with `Already running as pid A`;
 * unless A has ended meanwhile, and then B is rightly the only one. Nothing else replaces
 * or removes a file that runs: a stale file is replaced only under the start
 * lock, and `stop` removes one only under it too. And a verdict of stale
 * cannot go bad before the rename: a stale file never runs again (an owner
 * locks only its own new file, before it has the name), and the only other
 * change, an instance removing its own file, comes before it unlocks it, so
 * the starter that saw it unlocked finds the path no longer names it, and
 * names its own file instead (step 3).
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
 * pidfile may be missing or stale, and both are handled.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { pathNames } from "./file_stat.ts";
import type { FlockHolder } from "./flock.ts";
import { effectiveUid } from "./own_file.ts";
import { readPid } from "./open_pidfile.ts";
import { inspectLocks } from "./pidfile_locks.ts";
import { closeFd, O_RDONLY, openNoFollow, readAtMost, renameNoReplace } from "./safe_file.ts";
import { checkFolderAsRoot, openExisting, PIDFILE_ERROR, pidfileError } from "./_pidfile_trust.ts";
import { MAX_ATTEMPTS, withStartLock } from "./_start_lock.ts";
import { type ErrorCode, FlagstaffError } from "../core/errors.ts";

/** Code for "another process holds the pidfile" (exit 2). */
const ALREADY_RUNNING: ErrorCode = "already_running";

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

/** Identity of a file: device and inode. */
interface FileId {
  dev: number;
  ino: number | null;
}

function sameFile(a: FileId, b: FileId): boolean {
  return a.ino !== null && a.dev === b.dev && a.ino === b.ino;
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
   * (see `PidfileLocks.ignored`, `pidfile_locks.ts`); they keep them, on a file that no
   * longer has a name. Empty when none, or not stale. Worth a warning: a
   * process of another user locking a pidfile may be an attempt to keep the
   * daemon from starting.
   */
  readonly ignoredLocks: readonly FlockHolder[];
  /**
   * When the stale pidfile's exclusive lock was in the name of its pid, but
   * that process did not hold it itself: what was found (`pid 1234 no longer
   * runs`; see `PidfileLocks.notHeld`). Another process holds it, inherited:
   * worth a warning. Undefined otherwise.
   */
  readonly lockNotHeld: string | undefined;
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
      lockNotHeld?: string;
      file: Deno.FsFile;
    },
  ) {
    if (token !== TOKEN) throw new TypeError("Use acquirePidfile() to make a Pidfile");
    this.path = init.path;
    this.pid = init.pid;
    this.stale = init.stale;
    this.previousPid = init.previousPid;
    this.ignoredLocks = init.ignoredLocks ?? [];
    this.lockNotHeld = init.lockNotHeld;
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

/**
 * Gives the file `temp` the name `path` unless something has that name (step
 * 3 of the module doc): true when named, and `temp` no longer names it;
 * false when a file is there.
 */
function nameIfFree(temp: string, path: string): boolean {
  const named = renameNoReplace(temp, path);
  if (named !== "unsupported") return named === "renamed";
  try {
    Deno.linkSync(temp, path);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
  Deno.removeSync(temp); // at once: a reader refuses a pidfile with two links
  return true;
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
 * pidfile another user could change (see `_pidfile_trust.ts`), since
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
 * import { acquirePidfile } from "./pidfile.ts";
 * import { readPidfile } from "./open_pidfile.ts";
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
        if (nameIfFree(temp, path)) {
          tempNamed = false;
          return new Pidfile(TOKEN, { path, pid, stale: false, file });
        }
        const old = openExisting(path);
        if (old === undefined) continue; // released meanwhile: name it again
        try {
          const previousPid = readPid(old.fd).pid;
          const locks = inspectLocks(path, old.fd, old.stat, previousPid);
          if (locks.ownerPid !== undefined) {
            const unchecked = locks.unchecked === undefined
              ? ""
              : `, as far as can be told: cannot check that pid ${locks.ownerPid} holds its lock itself: ${locks.unchecked}`;
            throw new FlagstaffError(
              ALREADY_RUNNING,
              `Already running as pid ${locks.ownerPid} (pidfile "${path}")${unchecked}`,
            );
          }
          if (!pathNames(path, old.stat)) continue; // its owner released it meanwhile
          Deno.renameSync(temp, path);
          tempNamed = false;
          return new Pidfile(TOKEN, {
            path,
            pid,
            stale: true,
            previousPid,
            ignoredLocks: locks.ignored,
            lockNotHeld: locks.notHeld,
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
