/**
 * Opening files in folders other users can write to, safely, through libc.
 *
 * Deno's file API cannot do it: it resolves symbolic links itself and opens
 * the target (ignoring `O_NOFOLLOW` in `customFlags`), and opening a FIFO
 * blocks until a writer comes. So a user who can write to `/tmp` can make
 * a process that opens `/tmp/app.pid` read `/etc/shadow`, append to
 * `/root/.bashrc`, or hang. These small functions call libc (`openat(2)`,
 * `read(2)`, `write(2)`, `close(2)`) instead:
 *
 * - {@link openNoFollow} always adds `O_NOFOLLOW` (a link at the last step
 *   fails with `ELOOP`), `O_NONBLOCK` (a FIFO opens at once or fails with
 *   `ENXIO`), `O_NOCTTY` and `O_CLOEXEC`; the caller then checks the file
 *   type with `fstatFd()` (`file_stat.ts`) before reading or writing
 *   anything, or lets {@link openRegularFile} do it. Device nodes only root
 *   can make, and a hard link to one cannot cross into another file system
 *   (`/dev` is its own), so `O_NONBLOCK` is all a device gets.
 * - {@link readAtMost} and {@link writeAll} are bounded: a huge file costs
 *   no more than the bytes asked for, a write gives up after a few calls.
 *
 * Beside it: `file_stat.ts` (what a file is, `statx(2)`), `flock.ts` (who
 * holds a `flock(2)` lock, from `/proc/locks`), `own_file.ts` (a file
 * flagstaff writes as its own) and `os_error.ts` (the error they throw).
 *
 * Needs `--allow-ffi`. Linux only; the flag values are those of x86-64 and
 * AArch64. `openat` is variadic in C: its mode is passed as a fourth integer
 * argument, which both architectures' calling conventions pass like a named
 * one. Private to `lib/`.
 *
 * @module
 */

import { AT_FDCWD, cString, EAGAIN, EINTR, errno, fileLibc } from "./_libc.ts";
import { describeFileType, type FileStat, type FileType, fstatFd, lstatPath } from "./file_stat.ts";
import { ELOOP, ENOENT, ENXIO, OsError } from "./os_error.ts";

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
 * import { closeFd, O_RDONLY, openNoFollow } from "./safe_file.ts";
 * import { fstatFd } from "./file_stat.ts";
 * import { OsError } from "./os_error.ts";
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
  const c = fileLibc();
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
  const c = fileLibc();
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
  fileLibc().close(fd);
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
  const c = fileLibc();
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
  const c = fileLibc();
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

/** `RENAME_NOREPLACE`: `renameat2(2)` fails with `EEXIST` rather than replace. */
const RENAME_NOREPLACE = 1;
/** `EEXIST`. */
const EEXIST = 17;
/** `EINVAL`: the file system cannot rename without replacing. */
const EINVAL = 22;
/** `ENOSYS`: the kernel has no `renameat2`. */
const ENOSYS = 38;

/**
 * `renameat2(from, to, RENAME_NOREPLACE)`: gives the file `from` the name
 * `to` only if nothing has that name, atomically, and the file never has two
 * names (as `link()` then `unlink()` would give it for a moment).
 *
 * @returns `"renamed"`; `"exists"` when something is at `to`;
 *   `"unsupported"` when the file system (or kernel) cannot do it.
 * @throws {OsError} on other errors.
 */
export function renameNoReplace(from: string, to: string): "renamed" | "exists" | "unsupported" {
  const c = fileLibc();
  for (;;) {
    if (c.renameat2(AT_FDCWD, cString(from), AT_FDCWD, cString(to), RENAME_NOREPLACE) === 0) {
      return "renamed";
    }
    const code = errno(c);
    if (code === EINTR) continue;
    if (code === EEXIST) return "exists";
    if (code === EINVAL || code === ENOSYS) return "unsupported";
    throw new OsError("renameat2", to, code);
  }
}
