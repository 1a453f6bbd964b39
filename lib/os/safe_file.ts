/**
 * Opening files in folders other users can write to, safely, through libc.
 *
 * Deno's file API cannot do it: it resolves symbolic links itself and opens
 * the target (ignoring `O_NOFOLLOW` in `customFlags`), and opening a FIFO
 * blocks until a writer comes. So a user who can write to `/tmp` can make
 * a process that opens `/tmp/app.pid` read `/etc/shadow`, append to
 * `/root/.bashrc`, or hang. These small functions call libc (`openat(2)`,
 * `statx(2)`, `read(2)`, `write(2)`, `flock(2)`, `close(2)`) instead:
 *
 * - {@link openNoFollow} always adds `O_NOFOLLOW` (a link at the last step
 *   fails with `ELOOP`), `O_NONBLOCK` (a FIFO opens at once or fails with
 *   `ENXIO`), `O_NOCTTY` and `O_CLOEXEC`; the caller then checks the file
 *   type with {@link fstatFd} before reading or writing anything. Device nodes
 *   only root can make, and a hard link to one cannot cross into another
 *   file system (`/dev` is its own), so `O_NONBLOCK` is all a device gets.
 * - {@link readAtMost} and {@link writeAll} are bounded: a huge file costs
 *   no more than the bytes asked for, a write gives up after a few calls.
 * - {@link flockHolders} reads `/proc/locks` to tell which process holds a
 *   `flock(2)` lock, so a pid written in a file can be checked against it.
 * - {@link ensureOwnFile} creates or checks a file flagstaff will write:
 *   regular, owned by the effective user, one link.
 *
 * Needs `--allow-ffi` (reading `/proc/locks` through Deno would need
 * `--allow-all`). Linux only; the flag values are those of x86-64 and
 * AArch64, and `statx` has one layout on every architecture. `openat` is
 * variadic in C: its mode is passed as a fourth integer argument, which both
 * architectures' calling conventions pass like a named one. Private to `lib/`.
 *
 * @module
 */

import { cString, describeErrno, errno, type Libc, libc, openLibc } from "./_libc.ts";
import { type ErrorCode, FlagstaffError } from "../core/errors.ts";

const AARCH64 = Deno.build.arch === "aarch64";

/** `O_RDONLY`. */
export const O_RDONLY = 0;
/** `O_WRONLY`. */
export const O_WRONLY = 0o1;
/** `O_RDWR`. */
export const O_RDWR = 0o2;
/** `O_CREAT`. */
export const O_CREAT = 0o100;
/** `O_EXCL`. */
export const O_EXCL = 0o200;
/** `O_NOCTTY`. */
export const O_NOCTTY = 0o400;
/** `O_APPEND`. */
export const O_APPEND = 0o2000;
/** `O_NONBLOCK`. */
export const O_NONBLOCK = 0o4000;
/** `O_DIRECTORY` (its value differs on AArch64). */
export const O_DIRECTORY = AARCH64 ? 0o40000 : 0o200000;
/** `O_NOFOLLOW` (its value differs on AArch64). */
export const O_NOFOLLOW = AARCH64 ? 0o100000 : 0o400000;
/** `O_CLOEXEC`. */
export const O_CLOEXEC = 0o2000000;
/** `O_PATH`: a descriptor that names a file without opening it for reading. */
export const O_PATH = 0o10000000;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
/** `sizeof(struct statx)`. */
const STATX_BYTES = 256;

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** `ENOENT`. */
export const ENOENT = 2;
/** `EPERM`. */
export const EPERM = 1;
/** `EACCES`. */
export const EACCES = 13;
/** `ENXIO`: {@link openNoFollow} met a FIFO with no reader (opening to write) or a socket. */
export const ENXIO = 6;
/** `ELOOP`: {@link openNoFollow} met a symbolic link. */
export const ELOOP = 40;
const EINTR = 4;
const EAGAIN = 11;

const ACTION = "open files safely";

/** The handle of {@link withOwnLibc} while it runs. */
let scoped: Libc | undefined;

/** The C library: {@link withOwnLibc}'s handle, else the shared one. */
function current(): Libc {
  return scoped ?? libc(ACTION);
}

/**
 * Runs `fn` with a handle of its own on the C library, closed when `fn`
 * returns, for code that runs rarely, such as writing the errors file: the
 * process keeps nothing open for it (and a test's resource sanitizer sees
 * nothing left open). Nested calls share the outer handle.
 *
 * @throws {FlagstaffError} `permission` without `--allow-ffi`; what `fn` throws.
 */
export function withOwnLibc<T>(fn: () => T): T {
  if (scoped !== undefined) return fn();
  const library = openLibc(ACTION);
  scoped = library.symbols;
  try {
    return fn();
  } finally {
    scoped = undefined;
    library.close();
  }
}

/** A libc call that failed: which call, on what, its `errno`, and why in words. */
export class OsError extends Error {
  /** The C function: `"openat"`. */
  readonly call: string;
  /** The `errno` it left. */
  readonly errno: number;
  /**
   * Why, for the end of a message: `"no such file or directory (errno 2)"`,
   * or `"it is a symbolic link"` for `ELOOP` from {@link openNoFollow}.
   */
  readonly reason: string;

  /** Creates the error; `reason` defaults to the C library's words for `code`. */
  constructor(call: string, target: string, code: number, reason?: string) {
    const why = reason ?? describeErrno(code, current());
    super(`${call}("${target}"): ${why}`);
    this.name = "OsError";
    this.call = call;
    this.errno = code;
    this.reason = why;
  }
}

/** What {@link fstatFd} and {@link lstatPath} tell about a file (from `struct statx`). */
export interface FileStat {
  /** What kind of file: `"file"` is a regular file. */
  type: FileType;
  /** Permission bits with set-uid, set-gid and sticky: `mode & 0o7777`. */
  mode: number;
  /** Owner's uid. */
  uid: number;
  /** Group's gid. */
  gid: number;
  /** Number of hard links. */
  nlink: number;
  /** Size in bytes. */
  size: number;
  /** Inode number. */
  ino: bigint;
  /** Major number of the device the file is on (as in `/proc/locks`). */
  devMajor: number;
  /** Minor number of the device the file is on. */
  devMinor: number;
  /** Last modification, in milliseconds since the epoch. */
  mtimeMs: number;
}

/** A file's kind, from its mode's `S_IFMT` bits. */
export type FileType =
  | "file"
  | "directory"
  | "symlink"
  | "fifo"
  | "socket"
  | "character device"
  | "block device"
  | "unknown";

const TYPES: Record<number, FileType> = {
  0o100000: "file",
  0o040000: "directory",
  0o120000: "symlink",
  0o010000: "fifo",
  0o140000: "socket",
  0o020000: "character device",
  0o060000: "block device",
};

/** The file type in words, for messages: `"a FIFO"`, `"a symbolic link"`. */
export function describeFileType(type: FileType): string {
  switch (type) {
    case "file":
      return "a regular file";
    case "directory":
      return "a folder";
    case "symlink":
      return "a symbolic link";
    case "fifo":
      return "a FIFO";
    case "socket":
      return "a socket";
    case "unknown":
      return "a file of unknown type";
    default:
      return `a ${type}`;
  }
}

/** Options for {@link openNoFollow}. */
export interface OpenNoFollowOptions {
  /** Mode of a file `O_CREAT` creates, less the umask. Default `0o600`. */
  mode?: number;
  /** A folder's descriptor that a relative `path` is resolved in. Default: the working folder. */
  dirFd?: number;
}

/**
 * `openat(dirFd, path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode)`:
 * opens `path` without following a symbolic link at its last step and
 * without blocking on a FIFO. Links in the folders above are followed. Check
 * the type with {@link fstatFd} before using the descriptor.
 *
 * @param flags `O_RDONLY`, `O_WRONLY | O_APPEND | O_CREAT`, …
 * @returns The file descriptor; close it with {@link closeFd}.
 * @throws {OsError} `ELOOP` ("it is a symbolic link") for a link, `ENXIO`
 *   ("it is a FIFO with no reader, or a socket"), `ENOENT`, `EACCES`, ….
 * @throws {FlagstaffError} `permission` without `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { closeFd, fstatFd, O_RDONLY, openNoFollow, OsError } from "./safe_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/real`, "42\n");
 * await Deno.symlink(`${dir}/real`, `${dir}/link`);
 * const fd = openNoFollow(`${dir}/real`, O_RDONLY);
 * assert.equal(fstatFd(fd).type, "file");
 * closeFd(fd);
 * assert.throws(() => openNoFollow(`${dir}/link`, O_RDONLY), OsError);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function openNoFollow(
  path: string,
  flags: number,
  options: OpenNoFollowOptions = {},
): number {
  const c = current();
  const all = flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  for (;;) {
    const fd = c.openat(options.dirFd ?? AT_FDCWD, cString(path), all, options.mode ?? 0o600);
    if (fd >= 0) return fd;
    const code = errno(c);
    if (code === EINTR) continue;
    throw new OsError("open", path, code, openReason(code));
  }
}

function openReason(code: number): string | undefined {
  if (code === ELOOP) return "it is a symbolic link";
  if (code === ENXIO) return "it is a FIFO with no reader, or a socket";
  return undefined;
}

/** A file that is not a regular file (a link, FIFO, device, socket, folder), refused. */
export class NotRegularFileError extends Error {
  /** What it is. */
  readonly type: FileType;
  /** Why, for the end of a message: `"it is a FIFO, not a regular file"`. */
  readonly reason: string;

  /** Creates the error for `path`, which is a `type`. */
  constructor(path: string, type: FileType) {
    const reason = `it is ${describeFileType(type)}, not a regular file`;
    super(`"${path}": ${reason}`);
    this.name = "NotRegularFileError";
    this.type = type;
    this.reason = reason;
  }
}

/**
 * Opens the regular file `path` with {@link openNoFollow}, refusing anything
 * else before opening it: what is at the path is looked at first
 * (`statx` without following), so a FIFO, device, socket, folder or link
 * there is never opened at all. Should it be swapped between that look and
 * the open, the open cannot follow a link or block, and the opened file is
 * checked again (a regular file, the same one when one was there).
 *
 * @param flags As for {@link openNoFollow}; with `O_CREAT`, a missing file is created.
 * @returns The descriptor (close it with {@link closeFd}) and what the file is.
 * @throws {NotRegularFileError} when something other than a regular file is there.
 * @throws {OsError} when it cannot be opened (`ENOENT`, `EACCES`, `ELOOP`, …).
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { closeFd, NotRegularFileError, O_RDONLY, openRegularFile } from "./safe_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/app.pid`, "42\n");
 * const { fd, stat } = openRegularFile(`${dir}/app.pid`, O_RDONLY);
 * assert.equal(stat.size, 3);
 * closeFd(fd);
 * await Deno.symlink(`${dir}/app.pid`, `${dir}/link.pid`);
 * assert.throws(() => openRegularFile(`${dir}/link.pid`, O_RDONLY), NotRegularFileError);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function openRegularFile(
  path: string,
  flags: number,
  options: OpenNoFollowOptions = {},
): { fd: number; stat: FileStat } {
  let before: FileStat | undefined;
  try {
    before = lstatPath(path, options.dirFd);
  } catch (error) {
    if (!(error instanceof OsError && error.errno === ENOENT)) throw error;
  }
  if (before !== undefined && before.type !== "file") {
    throw new NotRegularFileError(path, before.type);
  }
  let fd: number;
  try {
    fd = openNoFollow(path, flags, options);
  } catch (error) {
    if (error instanceof OsError && error.errno === ELOOP) {
      throw new NotRegularFileError(path, "symlink");
    }
    throw error;
  }
  try {
    const stat = fstatFd(fd);
    if (stat.type !== "file") throw new NotRegularFileError(path, stat.type);
    if (before !== undefined && before.ino !== stat.ino) {
      throw new OsError("open", path, EAGAIN, "it was replaced while being opened");
    }
    return { fd, stat };
  } catch (error) {
    closeFd(fd);
    throw error;
  }
}

/**
 * Opens the folder `path` (`O_PATH | O_DIRECTORY | O_CLOEXEC`: search
 * permission is enough), following links in it, to check it with
 * {@link fstatFd} and open files in it with {@link openNoFollow}'s `dirFd`:
 * the file is then looked up in the very folder that was checked, even if
 * the path is changed meanwhile.
 *
 * @returns The folder's descriptor; close it with {@link closeFd}.
 * @throws {OsError} `ENOENT`, `ENOTDIR`, `EACCES`, ….
 */
export function openFolder(path: string): number {
  const c = current();
  for (;;) {
    const fd = c.openat(AT_FDCWD, cString(path), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd >= 0) return fd;
    const code = errno(c);
    if (code !== EINTR) throw new OsError("open", path, code);
  }
}

/**
 * `close(fd)`. Errors are ignored: Linux frees the descriptor even when
 * `close` reports one, and nothing flagstaff closes here has data in flight.
 */
export function closeFd(fd: number): void {
  current().close(fd);
}

function statx(dirFd: number, path: string, flags: number, target: string): FileStat {
  const c = current();
  const buffer = new Uint8Array(STATX_BYTES);
  if (c.statx(dirFd, cString(path), flags, STATX_BASIC_STATS, buffer) !== 0) {
    throw new OsError("statx", target, errno(c));
  }
  const view = new DataView(buffer.buffer);
  const mode = view.getUint16(28, true);
  return {
    type: TYPES[mode & 0o170000] ?? "unknown",
    mode: mode & 0o7777,
    nlink: view.getUint32(16, true),
    uid: view.getUint32(20, true),
    gid: view.getUint32(24, true),
    ino: view.getBigUint64(32, true),
    size: Number(view.getBigUint64(40, true)),
    mtimeMs: Number(view.getBigInt64(112, true)) * 1000 + view.getUint32(120, true) / 1e6,
    devMajor: view.getUint32(136, true),
    devMinor: view.getUint32(140, true),
  };
}

/**
 * `statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS)`: what the open file
 * `fd` is.
 *
 * @throws {OsError} on a bad descriptor.
 */
export function fstatFd(fd: number): FileStat {
  return statx(fd, "", AT_EMPTY_PATH, `fd ${fd}`);
}

/**
 * `statx(dirFd, path, AT_SYMLINK_NOFOLLOW)`: what `path` names, a link
 * itself rather than its target.
 *
 * @param dirFd A folder's descriptor for a relative `path`. Default: the working folder.
 * @throws {OsError} `ENOENT` when nothing is there, ….
 */
export function lstatPath(path: string, dirFd: number = AT_FDCWD): FileStat {
  return statx(dirFd, path, AT_SYMLINK_NOFOLLOW, path);
}

/**
 * Reads from `fd` until `maxBytes` bytes or the end of the file, whichever
 * comes first: a huge file costs at most `maxBytes` of memory. Read one byte
 * more than you accept to tell "exactly that long" from "longer".
 *
 * @throws {OsError} when `read(2)` fails (`EAGAIN` on an empty FIFO).
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { closeFd, O_RDONLY, openNoFollow, readAtMost } from "./safe_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/big`, "x".repeat(100_000));
 * const fd = openNoFollow(`${dir}/big`, O_RDONLY);
 * assert.equal(readAtMost(fd, 33).length, 33);
 * closeFd(fd);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readAtMost(fd: number, maxBytes: number): Uint8Array {
  const c = current();
  const buffer = new Uint8Array(maxBytes);
  let length = 0;
  while (length < maxBytes) {
    const read = Number(c.read(fd, buffer.subarray(length), BigInt(maxBytes - length)));
    if (read === 0) break;
    if (read < 0) {
      const code = errno(c);
      if (code === EINTR) continue;
      throw new OsError("read", `fd ${fd}`, code);
    }
    length += read;
  }
  return buffer.subarray(0, length);
}

/** Options for {@link writeAll}. */
export interface WriteAllOptions {
  /** Most `write(2)` calls before giving up on a short-writing file. Default 16. */
  maxCalls?: number;
}

/**
 * Writes all of `bytes` to `fd`, in at most `maxCalls` calls of `write(2)`.
 * On a descriptor opened by {@link openNoFollow} (non-blocking) it never
 * waits for a reader: a full pipe fails with `EAGAIN`.
 *
 * @throws {OsError} when a write fails, or (`EAGAIN`) when the calls run out.
 */
export function writeAll(fd: number, bytes: Uint8Array, options: WriteAllOptions = {}): void {
  const c = current();
  const maxCalls = options.maxCalls ?? 16;
  let written = 0;
  for (let calls = 0; written < bytes.length; calls++) {
    if (calls >= maxCalls) {
      throw new OsError("write", `fd ${fd}`, EAGAIN, `gave up after ${calls} short writes`);
    }
    const count = Number(c.write(fd, bytes.subarray(written), BigInt(bytes.length - written)));
    if (count < 0) {
      const code = errno(c);
      if (code === EINTR) continue;
      throw new OsError("write", `fd ${fd}`, code);
    }
    written += count;
  }
}

/**
 * `flock(fd, LOCK_SH|LOCK_EX | LOCK_NB)`: takes the lock if nobody holds a
 * conflicting one, without waiting. A shared probe succeeds unless someone
 * holds the exclusive lock. Release with {@link unlockFd} (or close).
 *
 * @param exclusive Take the exclusive lock (`LOCK_EX`) rather than a shared one.
 * @returns Whether the lock was taken; false when another open file holds it.
 * @throws {OsError} on other errors.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { closeFd, O_RDONLY, openNoFollow, tryFlock } from "./safe_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/f`, "");
 * const [a, b] = [openNoFollow(`${dir}/f`, O_RDONLY), openNoFollow(`${dir}/f`, O_RDONLY)];
 * assert.equal(tryFlock(a, true), true);
 * assert.equal(tryFlock(b, false), false, "a flock belongs to the open file");
 * closeFd(a);
 * assert.equal(tryFlock(b, false), true);
 * closeFd(b);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function tryFlock(fd: number, exclusive: boolean): boolean {
  const c = current();
  for (;;) {
    if (c.flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) === 0) return true;
    const code = errno(c);
    if (code === EAGAIN) return false;
    if (code !== EINTR) throw new OsError("flock", `fd ${fd}`, code);
  }
}

/** `flock(fd, LOCK_UN)`: gives back a lock {@link tryFlock} took. */
export function unlockFd(fd: number): void {
  current().flock(fd, LOCK_UN);
}

/** One `flock(2)` lock on a file, from `/proc/locks`. */
export interface FlockHolder {
  /**
   * The process that took it, as this process's PID namespace sees it: 0
   * when it is outside that namespace. Children that inherited the open file
   * share the lock but are not listed.
   */
  pid: number;
  /** Whether it is the exclusive (`WRITE`) lock. */
  exclusive: boolean;
}

/** One `/proc/locks` line: `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`; waiters have `->`. */
const LOCK_LINE = /^\d+:\s+FLOCK\s+\S+\s+(READ|WRITE)\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/;

/** Options for {@link flockHolders}. */
export interface FlockHoldersOptions {
  /** The lock table to read. Default `/proc/locks`. */
  locksPath?: string;
}

/**
 * The processes holding a `flock(2)` lock on the file `stat` describes
 * (matched by device `major:minor` and inode), read from `/proc/locks` in
 * chunks (memory stays small however many locks the system has). Processes
 * waiting for the lock are not holders.
 *
 * @throws {OsError} when the table cannot be read.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { closeFd, flockHolders, fstatFd, O_RDONLY, openNoFollow, tryFlock } from "./safe_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/f`, "");
 * const fd = openNoFollow(`${dir}/f`, O_RDONLY);
 * tryFlock(fd, true);
 * assert.deepEqual(flockHolders(fstatFd(fd)), [{ pid: Deno.pid, exclusive: true }]);
 * closeFd(fd);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function flockHolders(
  stat: Pick<FileStat, "devMajor" | "devMinor" | "ino">,
  options: FlockHoldersOptions = {},
): FlockHolder[] {
  const path = options.locksPath ?? "/proc/locks";
  const fd = openNoFollow(path, O_RDONLY);
  const holders: FlockHolder[] = [];
  try {
    const decoder = new TextDecoder();
    let rest = "";
    for (;;) {
      const chunk = readAtMost(fd, 65536);
      const text = rest + decoder.decode(chunk, { stream: chunk.length > 0 });
      const lines = text.split("\n");
      rest = chunk.length === 0 ? "" : lines.pop()!;
      for (const line of lines) {
        const match = LOCK_LINE.exec(line);
        if (
          match && parseInt(match[3], 16) === stat.devMajor &&
          parseInt(match[4], 16) === stat.devMinor && BigInt(match[5]) === stat.ino
        ) {
          holders.push({ pid: Math.max(0, Number(match[2])), exclusive: match[1] === "WRITE" });
        }
      }
      if (chunk.length === 0) return holders;
    }
  } finally {
    closeFd(fd);
  }
}

/** The effective uid of this process (`geteuid(2)`). */
export function effectiveUid(): number {
  return current().geteuid();
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
 * import { ensureOwnFile } from "./safe_file.ts";
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
    opened = openRegularFile(path, O_WRONLY | O_CREAT | O_APPEND, {
      mode: options.mode ?? 0o640,
    });
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
      if (current().fchown(opened.fd, to.uid, to.gid) !== 0) {
        throw new FlagstaffError(
          code,
          `Cannot give ${what} "${path}" to uid ${to.uid}: ${describeErrno(undefined, current())}`,
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
 * import { notOwnFile } from "./safe_file.ts";
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
