/**
 * A small file of flagstaff's own in a folder of its own (the schedules'
 * state file), read and written relative to the folder's descriptor that
 * `private_folder.ts`'s `openPrivateFolder()` returns; the path is never
 * used again after that walk.
 *
 * - {@link readPrivateFile}: a regular file (a link, FIFO, device or folder
 *   is refused without being opened for reading) of the user's, not writable
 *   by group or others, with one link (`ownFileDistrust()`); at most a given
 *   number of bytes.
 * - {@link writePrivateFile} writes a temp file with a random name relative
 *   to that descriptor (`O_CREAT | O_EXCL | O_NOFOLLOW`: never an existing
 *   file, never through a link), flushes it (`fsync`, off the JavaScript
 *   thread), renames it over the file (`renameat`, which replaces a link or
 *   hard link planted there instead of writing through it), then flushes the
 *   folder.
 *
 * Needs `--allow-ffi`. Linux only.
 *
 * @module
 */

import {
  ACTION,
  FileProblem,
  openPrivateFolder,
  ownFileDistrust,
  reasonOf,
} from "./private_folder.ts";
import { cString, errno, libc } from "./_libc.ts";
import { type FileStat } from "./file_stat.ts";
import { ENOENT, OsError } from "./os_error.ts";
import { effectiveUid } from "./own_file.ts";
import {
  closeFd,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_RDONLY,
  O_WRONLY,
  openNoFollow,
  openRegularFile,
  readAtMost,
  writeAll,
} from "./safe_file.ts";

/** Options for {@link readPrivateFile}. */
export interface ReadPrivateFileOptions {
  /** The user the folder and the file must belong to. Default: the effective user. */
  owner?: number;
}

/**
 * Reads the file `name` in the private folder `folder` (see the module doc):
 * at most `maxBytes` bytes (read one more than you accept to tell a longer
 * file).
 *
 * @returns The bytes, or undefined when the folder or the file is missing.
 * @throws {FileProblem} naming why it cannot be read or is refused; its
 *   `subject` says whether the folder (or its path) or the file is at fault.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { readPrivateFile } from "./atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(readPrivateFile(dir, "missing", 10), undefined);
 * await Deno.writeTextFile(`${dir}/f`, "0123456789abc");
 * assert.equal(new TextDecoder().decode(readPrivateFile(dir, "f", 11)), "0123456789a");
 * await Deno.symlink(`${dir}/f`, `${dir}/link`);
 * assert.throws(() => readPrivateFile(dir, "link", 10), /symbolic link, not a regular file/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readPrivateFile(
  folder: string,
  name: string,
  maxBytes: number,
  options: ReadPrivateFileOptions = {},
): Uint8Array | undefined {
  checkName(name);
  const owner = options.owner ?? effectiveUid();
  const dirFd = openPrivateFolder(folder, { owner });
  if (dirFd === undefined) return undefined;
  try {
    let opened: { fd: number; stat: FileStat };
    try {
      opened = openRegularFile(name, O_RDONLY, { dirFd });
    } catch (error) {
      if (error instanceof OsError && error.errno === ENOENT) return undefined;
      throw new FileProblem(reasonOf(error), { cause: error, subject: "file" });
    }
    try {
      const why = ownFileDistrust(opened.stat, owner);
      if (why) throw new FileProblem(why, { subject: "file" });
      return readAtMost(opened.fd, maxBytes);
    } catch (error) {
      if (error instanceof FileProblem) throw error;
      throw new FileProblem(reasonOf(error), { cause: error, subject: "file" });
    } finally {
      closeFd(opened.fd);
    }
  } finally {
    closeFd(dirFd);
  }
}

/** Options for {@link writePrivateFile}. */
export interface WritePrivateFileOptions {
  /** The file's mode, less the umask. Default `0o600`. */
  mode?: number;
}

/**
 * Replaces `folder/name` with `bytes` atomically, in the private folder
 * `folder` of the effective user (made, mode 0700, when missing; see the
 * module doc): a reader (or a crash) sees the old file or the new one, never
 * a part; whatever was at the path (a file, a planted link) is replaced, not
 * written through. Leaves no temp file behind when it fails.
 *
 * @param folder The folder, an absolute path.
 * @param name A file name in it (no `/`).
 * @throws {FileProblem} naming why (the folder is refused or cannot be made,
 *   the disk is full, …); the old file is then untouched.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { writePrivateFile } from "./atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/target`, "keep");
 * await Deno.symlink(`${dir}/target`, `${dir}/state.json`); // planted
 * await writePrivateFile(dir, "state.json", new TextEncoder().encode("{}\n"));
 * assert.equal(await Deno.readTextFile(`${dir}/target`), "keep");
 * assert.equal((await Deno.lstat(`${dir}/state.json`)).isFile, true);
 * assert.equal((await Deno.stat(`${dir}/state.json`)).mode! & 0o777, 0o600);
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["state.json", "target"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writePrivateFile(
  folder: string,
  name: string,
  bytes: Uint8Array,
  options: WritePrivateFileOptions = {},
): Promise<void> {
  checkName(name);
  const c = libc(ACTION);
  const dirFd = openPrivateFolder(folder, { create: true })!;
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
      if (await c.fsync(fd) !== 0) throw new FileProblem("fsync failed", { subject: "file" });
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
    throw new FileProblem(reasonOf(error), { cause: error, subject: "file" });
  } finally {
    if (created) c.unlinkat(dirFd, cString(temp), 0);
    closeFd(dirFd);
  }
}

function checkName(name: string): void {
  if (name.includes("/") || name === "" || name === "." || name === "..") {
    throw new Error(`Bug: "${name}" is not a file name`);
  }
}
