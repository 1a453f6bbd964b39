/**
 * What a file is, as `statx(2)` tells it without following a symbolic link:
 * {@link fstatFd} for an open descriptor, {@link lstatPath} for a path (the
 * link itself, not its target). `struct statx` has one layout on every
 * architecture. Through libc (`--allow-ffi`), since Deno's `lstat` cannot be
 * pointed at a descriptor or a folder's descriptor. Linux only; private to
 * `lib/`.
 *
 * @module
 */

import { AT_FDCWD, cString, errno, fileLibc } from "./_libc.ts";
import { ENOENT, OsError } from "./os_error.ts";

const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
/** `sizeof(struct statx)`. */
const STATX_BYTES = 256;

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

function statx(dirFd: number, path: string, flags: number, target: string): FileStat {
  const c = fileLibc();
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

/** Whether `a` and `b` describe the same file: device and inode. */
export function sameFileStat(
  a: Pick<FileStat, "ino" | "devMajor" | "devMinor">,
  b: Pick<FileStat, "ino" | "devMajor" | "devMinor">,
): boolean {
  return a.ino === b.ino && a.devMajor === b.devMajor && a.devMinor === b.devMinor;
}

/**
 * Whether `path` (not followed if a link) names the file `stat` describes:
 * false when nothing is there.
 *
 * @throws {OsError} when it cannot be looked at (`EACCES`, …).
 */
export function pathNames(path: string, stat: FileStat): boolean {
  try {
    return sameFileStat(lstatPath(path), stat);
  } catch (error) {
    if (error instanceof OsError && error.errno === ENOENT) return false;
    throw error;
  }
}
