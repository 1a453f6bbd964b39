/**
 * A small file of flagstaff's own in a folder of its own (the schedules'
 * state file): read without following a link or blocking on a FIFO, written
 * atomically, through libc (`lib/os/safe_file.ts`; Deno's file API follows
 * links itself).
 *
 * - {@link ensurePrivateFolder} makes the folder (mode 0700) or checks the
 *   one that is there: a folder of this user that no other user can write,
 *   not reached through a link in a folder other users can write (a link
 *   planted at `/tmp/state` must not send root's writes into `/etc/cron.d`).
 * - {@link readSmallFile} reads at most a given number of bytes from a
 *   regular file; a link, FIFO, device or folder at the path is refused
 *   without being opened for reading.
 * - {@link writeFileAtomically} writes a temp file with a random name
 *   (`O_CREAT | O_EXCL | O_NOFOLLOW`: never an existing file, never through
 *   a link), flushes it (`fsync`, off the JavaScript thread), and renames it
 *   over the file (`renameat`, which replaces a link or hard link planted
 *   there instead of writing through it); then flushes the folder.
 *
 * Needs `--allow-ffi`. Linux only.
 *
 * @module
 */

import { dirname } from "node:path";
import { cString, errno, libc } from "./_libc.ts";
import { describeFileType, fstatFd, lstatPath } from "./file_stat.ts";
import { ENOENT, OsError } from "./os_error.ts";
import { effectiveUid } from "./own_file.ts";
import {
  closeFd,
  NotRegularFileError,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_RDONLY,
  O_WRONLY,
  openFolder,
  openNoFollow,
  openRegularFile,
  readAtMost,
  writeAll,
} from "./safe_file.ts";

const ACTION = "write the schedules' state file";

/** `ENOTDIR`: a part of the path is not a folder (so the file is not there). */
const ENOTDIR = 20;

/** Why a file or folder was refused or could not be used: `it is a FIFO, not a regular file`. */
export class FileProblem extends Error {
  /** The reason, for the end of a message. */
  readonly reason: string;

  /** Creates the problem; the message is the reason. */
  constructor(reason: string, options?: ErrorOptions) {
    super(reason, options);
    this.name = "FileProblem";
    this.reason = reason;
  }
}

/**
 * Makes `path` a folder only this user can write (mode 0700, parents as
 * needed), or checks the folder that is there: it must be a folder, owned by
 * the effective user, not writable by group or others, and when `path` is a
 * symbolic link, the folder holding the link must be one only this user or
 * root can change (systemd's `DynamicUser=` links `/var/lib/<app>` to
 * `/var/lib/private/<app>`; a link in `/tmp` is refused).
 *
 * @param path An absolute path.
 * @throws {FileProblem} naming why; a `FlagstaffError` `permission`
 *   without `--allow-ffi` or `--allow-write`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { ensurePrivateFolder } from "./atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * ensurePrivateFolder(`${dir}/state/app`);
 * assert.equal((await Deno.stat(`${dir}/state/app`)).mode! & 0o777, 0o700);
 * await Deno.chmod(`${dir}/state/app`, 0o777);
 * assert.throws(() => ensurePrivateFolder(`${dir}/state/app`), /other users can write it/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function ensurePrivateFolder(path: string): void {
  try {
    Deno.mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw new FileProblem(`cannot create it: ${messageOf(error)}`, { cause: error });
  }
  const euid = effectiveUid();
  let link;
  try {
    link = lstatPath(path);
  } catch (error) {
    throw new FileProblem(`cannot look at it: ${reasonOf(error)}`, { cause: error });
  }
  if (link.type === "symlink") {
    const parent = dirname(path);
    const holder = lstatPath(parent);
    if ((holder.uid !== 0 && holder.uid !== euid) || (holder.mode & 0o022) !== 0) {
      throw new FileProblem(
        `it is a symbolic link in "${parent}", a folder other users can change`,
      );
    }
  }
  const fd = openFolder(path);
  try {
    const stat = fstatFd(fd);
    if (stat.type !== "directory") {
      throw new FileProblem(`it is ${describeFileType(stat.type)}, not a folder`);
    }
    if (stat.uid !== euid) throw new FileProblem(`it is owned by uid ${stat.uid}, not uid ${euid}`);
    if ((stat.mode & 0o022) !== 0) {
      throw new FileProblem(
        `other users can write it (mode ${stat.mode.toString(8).padStart(4, "0")})`,
      );
    }
  } finally {
    closeFd(fd);
  }
}

/**
 * Reads the regular file `path`, at most `maxBytes` bytes (read one more
 * than you accept to tell a longer file). A link, FIFO, device, socket or
 * folder at the path is refused without being opened for reading.
 *
 * @returns The bytes, or undefined when there is no file (nor its folder).
 * @throws {FileProblem} naming why it cannot be read.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { readSmallFile } from "./atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(readSmallFile(`${dir}/missing`, 10), undefined);
 * await Deno.writeTextFile(`${dir}/f`, "0123456789abc");
 * assert.equal(new TextDecoder().decode(readSmallFile(`${dir}/f`, 11)), "0123456789a");
 * await Deno.symlink(`${dir}/f`, `${dir}/link`);
 * assert.throws(() => readSmallFile(`${dir}/link`, 10), /symbolic link, not a regular file/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readSmallFile(path: string, maxBytes: number): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openRegularFile(path, O_RDONLY).fd;
  } catch (error) {
    if (error instanceof OsError && (error.errno === ENOENT || error.errno === ENOTDIR)) {
      return undefined;
    }
    throw new FileProblem(reasonOf(error), { cause: error });
  }
  try {
    return readAtMost(fd, maxBytes);
  } catch (error) {
    throw new FileProblem(reasonOf(error), { cause: error });
  } finally {
    closeFd(fd);
  }
}

/** Options for {@link writeFileAtomically}. */
export interface WriteFileAtomicallyOptions {
  /** The file's mode, less the umask. Default `0o600`. */
  mode?: number;
}

/**
 * Replaces `folder/name` with `bytes` atomically: a reader (or a crash) sees
 * the old file or the new one, never a part; whatever was at the path (a
 * file, a planted link) is replaced, not written through. Leaves no temp
 * file behind when it fails.
 *
 * @param folder The folder (links in its path are followed).
 * @param name A file name in it (no `/`).
 * @throws {FileProblem} naming why (the folder is missing or not writable, the
 *   disk is full, …); the old file is then untouched.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { writeFileAtomically } from "./atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/target`, "keep");
 * await Deno.symlink(`${dir}/target`, `${dir}/state.json`); // planted
 * await writeFileAtomically(dir, "state.json", new TextEncoder().encode("{}\n"));
 * assert.equal(await Deno.readTextFile(`${dir}/target`), "keep");
 * assert.equal((await Deno.lstat(`${dir}/state.json`)).isFile, true);
 * assert.equal((await Deno.stat(`${dir}/state.json`)).mode! & 0o777, 0o600);
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["state.json", "target"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomically(
  folder: string,
  name: string,
  bytes: Uint8Array,
  options: WriteFileAtomicallyOptions = {},
): Promise<void> {
  if (name.includes("/") || name === "" || name === "." || name === "..") {
    throw new Error(`Bug: "${name}" is not a file name`);
  }
  const c = libc(ACTION);
  let dirFd: number;
  try {
    dirFd = openFolder(folder);
  } catch (error) {
    throw new FileProblem(`cannot open the folder: ${reasonOf(error)}`, { cause: error });
  }
  const temp = `.${name}.${crypto.randomUUID()}.tmp`;
  let created = false;
  try {
    const fd = openNoFollow(temp, O_WRONLY | O_CREAT | O_EXCL, {
      dirFd,
      mode: options.mode ?? 0o600,
    });
    created = true;
    try {
      writeAll(fd, bytes);
      if (await c.fsync(fd) !== 0) throw new FileProblem("fsync failed");
    } finally {
      closeFd(fd);
    }
    if (c.renameat(dirFd, cString(temp), dirFd, cString(name)) !== 0) {
      throw new OsError("rename", `${folder}/${name}`, errno(c));
    }
    created = false;
    // The rename is durable once the folder is flushed; a file system that cannot is left be.
    try {
      const folderFd = openNoFollow(".", O_RDONLY | O_DIRECTORY, { dirFd });
      try {
        await c.fsync(folderFd);
      } finally {
        closeFd(folderFd);
      }
    } catch {
      // The data is flushed; only the rename's durability is the file system's.
    }
  } catch (error) {
    if (error instanceof FileProblem) throw error;
    throw new FileProblem(reasonOf(error), { cause: error });
  } finally {
    if (created) c.unlinkat(dirFd, cString(temp), 0);
    closeFd(dirFd);
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof OsError || error instanceof NotRegularFileError) return error.reason;
  return messageOf(error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
