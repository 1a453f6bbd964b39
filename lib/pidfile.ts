/**
 * The pidfile: a file holding the daemon's pid, locked with `flock(2)` for as
 * long as the daemon runs. The lock, not the file, says who runs: a pidfile
 * nobody holds the lock on was left by a process that died (it is stale), and
 * the kernel drops the lock however the holder ends, even on `SIGKILL`.
 *
 * Deno's `FsFile.tryLockSync()` is a non-blocking `flock()`, so this needs no
 * FFI: only `--allow-read` and `--allow-write` for the pidfile's folder. A
 * flock belongs to the open file, so a second open of the same file, even in
 * this process, sees it; Deno opens files close-on-exec, so children do not
 * inherit it.
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

import { basename, dirname, join } from "node:path";
import { type ErrorCode, FlagstaffError } from "./errors.ts";

/** Code for "another process holds the pidfile" (exit 2). */
const ALREADY_RUNNING: ErrorCode = "already_running";
/** Code for a pidfile that cannot be created, read or removed (exit 1). */
const PIDFILE_ERROR: ErrorCode = "pidfile";

/** The largest pid Linux hands out (`PID_MAX_LIMIT` on 64-bit). */
const PID_MAX = 4_194_304;
/** How often to try a lock that someone else holds, in milliseconds. */
const LOCK_RETRY_MS = 10;
/** How many times to start over when the pidfile is replaced while acquiring it. */
const MAX_ATTEMPTS = 20;
/** How much of a pidfile is read, in bytes. */
const READ_LIMIT_BYTES = 4096;

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
  /** Whether a process holds the lock: true means it runs. */
  locked: boolean;
}

/** Identity of a file: device and inode. */
interface FileId {
  dev: number;
  ino: number | null;
}

function sameFile(a: FileId, b: FileId): boolean {
  return a.ino !== null && a.dev === b.dev && a.ino === b.ino;
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
  const message = error instanceof Error ? error.message : String(error);
  const text = /^.*?\(os error \d+\)/.exec(message)?.[0] ?? message;
  return `${text.charAt(0).toLowerCase()}${text.slice(1)}`;
}

function pidfileError(action: string, path: string, error: unknown): FlagstaffError {
  if (error instanceof FlagstaffError) return error;
  if (error instanceof Deno.errors.NotCapable) {
    return new FlagstaffError(
      "permission",
      `Cannot ${action} pidfile "${path}": run deno with --allow-read and --allow-write`,
      { cause: error },
    );
  }
  return new FlagstaffError(
    PIDFILE_ERROR,
    `Cannot ${action} pidfile "${path}": ${osMessage(error)}`,
    {
      cause: error,
    },
  );
}

function readText(file: Deno.FsFile): string {
  const buffer = new Uint8Array(READ_LIMIT_BYTES);
  let length = 0;
  while (length < buffer.length) {
    const read = file.readSync(buffer.subarray(length));
    if (read === null) break;
    length += read;
  }
  return new TextDecoder().decode(buffer.subarray(0, length));
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
}

/** The refusal, naming the pid the path holds now. */
function alreadyRunning(path: string): FlagstaffError {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    return new FlagstaffError(
      ALREADY_RUNNING,
      `Already running (pidfile "${path}" is locked but unreadable: ${osMessage(error)})`,
    );
  }
  const pid = parsePid(text);
  if (pid !== undefined) {
    return new FlagstaffError(ALREADY_RUNNING, `Already running as pid ${pid} (pidfile "${path}")`);
  }
  const found = text.trim() === "" ? "is empty" : `holds ${JSON.stringify(text.slice(0, 40))}`;
  return new FlagstaffError(
    ALREADY_RUNNING,
    `Already running (pidfile "${path}" is locked but ${found} instead of a pid)`,
  );
}

function statIfExists(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function tryLockFor(file: Deno.FsFile, waitMs: number): Promise<boolean> {
  const deadlineMs = performance.now() + waitMs;
  while (true) {
    if (file.tryLockSync(true)) return true;
    if (performance.now() >= deadlineMs) return false;
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
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
   * A process that dropped privileges may no longer be allowed to remove a
   * file in the pidfile's folder (`/run` is root's); use a folder the user
   * can write to, such as `/run/NAME/` owned by the user.
   *
   * @throws {FlagstaffError} when the file cannot be removed; it is unlocked
   *   all the same.
   */
  release(): boolean {
    const file = this.#file;
    if (file === undefined) return false;
    this.#file = undefined;
    try {
      const current = statIfExists(this.path);
      if (current === undefined || !sameFile(current, this.#id)) return false;
      Deno.removeSync(this.path);
      return true;
    } catch (error) {
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
 * @throws {FlagstaffError} when another process holds it:
 *   `Already running as pid 1234 (pidfile "/run/app.pid")`, exit code 2;
 *   `permission` without `--allow-read` and `--allow-write`; another code
 *   when the file cannot be created.
 *
 * @example
 * ```ts
 * import { acquirePidfile, readPidfile } from "./pidfile.ts";
 * const dir = await Deno.makeTempDir();
 * {
 *   using pidfile = await acquirePidfile(`${dir}/app.pid`);
 *   const status = await readPidfile(`${dir}/app.pid`);
 *   console.assert(status.pid === Deno.pid && status.locked && !pidfile.stale);
 * }
 * console.assert(!(await readPidfile(`${dir}/app.pid`)).exists);
 * await Deno.remove(dir);
 * ```
 */
export async function acquirePidfile(path: string, options: PidfileOptions = {}): Promise<Pidfile> {
  const { pid = Deno.pid, mode = 0o644, lockWaitMs = 100 } = options;
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
      let old: Deno.FsFile;
      try {
        old = Deno.openSync(path, { read: true });
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue; // released meanwhile: link again
        throw error;
      }
      try {
        if (!await tryLockFor(old, lockWaitMs)) throw alreadyRunning(path);
        const current = statIfExists(path);
        if (current === undefined || !sameFile(old.statSync(), current)) continue; // replaced meanwhile
        const previousPid = parsePid(readText(old));
        Deno.renameSync(temp, path);
        tempNamed = false;
        result = new Pidfile(TOKEN, { path, pid, stale: true, previousPid, file });
      } finally {
        old.close();
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
 * Reads the pidfile at `path` for `status` and `stop`: the pid in it, and
 * whether a process holds its lock (tested by taking a shared lock for an
 * instant). Needs only `--allow-read`.
 *
 * @throws {FlagstaffError} when the file exists but cannot be read.
 *
 * @example
 * ```ts
 * import { readPidfile } from "./pidfile.ts";
 * const status = await readPidfile("/nonexistent/app.pid");
 * console.assert(!status.exists && !status.locked && status.pid === undefined);
 * ```
 */
export async function readPidfile(path: string): Promise<PidfileStatus> {
  for (let attempt = 0;; attempt++) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return { exists: false, pid: undefined, locked: false };
      }
      throw pidfileError("read", path, error);
    }
    try {
      const pid = parsePid(readText(file));
      const free = await file.tryLock(false);
      // A free lock on a file that was replaced meanwhile says nothing: look again.
      if (free && attempt < 3 && !sameFile(await file.stat(), await Deno.stat(path))) continue;
      return { exists: true, pid, locked: !free };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return { exists: false, pid: undefined, locked: false };
      }
      throw pidfileError("read", path, error);
    } finally {
      file.close();
    }
  }
}
