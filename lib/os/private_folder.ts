/**
 * A folder of flagstaff's own (the schedules' state folder), or as root the
 * pidfile's folder, reached without trusting a path: through libc, one step
 * at a time (Deno's file API follows links itself).
 *
 * {@link openPrivateFolder} walks to the folder from `/`: each step is opened
 * with `openat(O_PATH | O_NOFOLLOW)` relative to the descriptor of the step
 * before and checked on its own descriptor (`statx`), so a step swapped for a
 * link meanwhile is seen as the link it is, never followed. A missing step is
 * made with `mkdirat` (mode 0700) when asked, then opened the same way and
 * checked. Every folder on the way must be one no other user can change
 * ({@link pathFolderDistrust}); a symbolic link on the way is followed by
 * hand (its target walked again from `/`) only when it lies in a folder no
 * other user can write ({@link linkDistrust}); the folder itself must be the
 * user's and not writable by group or others ({@link ownFolderDistrust}), or
 * another rule given as `folderDistrust` (the pidfile's; a log folder's, judged by its caller).
 * It returns the folder's descriptor, which `atomic_file.ts` reads and writes
 * relative to; `log_folder.ts` walks to a log file's folder the same way.
 *
 * The rule for a folder on the way is the pidfile's (`start-stop-daemon(8)`:
 * see `_pidfile_trust.ts`) applied to every step, as `code_trust.ts` does for
 * modules, with the user flagstaff runs as beside root. `..` in the path is
 * resolved as written (`/a/b/..` is `/a`).
 *
 * Needs `--allow-ffi`. Linux only.
 *
 * @module
 */

import { resolve } from "node:path";
import { AT_FDCWD, cString, EINTR, errno, fileLibc } from "./_libc.ts";
import { describeFileType, type FileStat, fstatFd } from "./file_stat.ts";
import { ENOENT, OsError } from "./os_error.ts";
import { effectiveUid } from "./own_file.ts";
import { closeFd, NotRegularFileError, O_CLOEXEC, O_NOFOLLOW, O_PATH } from "./safe_file.ts";

export const ACTION = "use the schedules' state file";

/** `EEXIST`: `mkdirat` found something there (made meanwhile). */
const EEXIST = 17;

/** How many symbolic links a walk may follow, as Linux's `ELOOP` limit. */
const MAX_LINK_HOPS = 40;

/** Longest link target read (`PATH_MAX`). */
const PATH_MAX = 4096;

/** Why a file or folder was refused or could not be used: `it is a FIFO, not a regular file`. */
export class FileProblem extends Error {
  /** The reason, for the end of a message. */
  readonly reason: string;
  /**
   * What it is about: `"folder"` for the folder or a step of its path (the
   * folder cannot be used at all), `"file"` for the file in it.
   */
  readonly subject: "folder" | "file";

  /** Creates the problem; the message is the reason. */
  constructor(
    reason: string,
    options: ErrorOptions & { subject?: "folder" | "file" } = {},
  ) {
    super(reason, options);
    this.name = "FileProblem";
    this.reason = reason;
    this.subject = options.subject ?? "folder";
  }
}

/**
 * Why the folder `path`, on the way to the private folder, lets a user other
 * than root and `owner` change what lies below it; or undefined. It must be
 * owned by root or `owner`, and not writable by group or others unless it
 * has the sticky bit (as `/tmp`: others may add entries there, not rename or
 * remove root's or `owner`'s).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathFolderDistrust } from "./private_folder.ts";
 * assert.equal(pathFolderDistrust("/tmp", { uid: 0, mode: 0o1777 }, 0), undefined);
 * assert.equal(
 *   pathFolderDistrust("/srv/a", { uid: 65534, mode: 0o755 }, 0),
 *   'the folder "/srv/a" on its path belongs to uid 65534, not root',
 * );
 * ```
 */
export function pathFolderDistrust(
  path: string,
  stat: Pick<FileStat, "uid" | "mode">,
  owner: number,
): string | undefined {
  const where = `the folder "${path}" on its path`;
  if (stat.uid !== 0 && stat.uid !== owner) {
    return `${where} belongs to uid ${stat.uid}, not ${
      owner === 0 ? "root" : `root or uid ${owner}`
    }`;
  }
  if ((stat.mode & 0o022) !== 0 && (stat.mode & 0o1000) === 0) {
    return `${where} is writable by group or others (mode ${
      octal(stat.mode)
    }) without the sticky bit`;
  }
  return undefined;
}

/**
 * Why the symbolic link `path`, in the folder `holder`, must not be
 * followed; or undefined. Followed only when no other user could have made
 * or changed it: its folder is not writable by group or others (sticky or
 * not: a link in `/tmp` is refused) and the link belongs to root or `owner`.
 * systemd's `DynamicUser=` links `/var/lib/<app>` to `/var/lib/private/<app>`
 * that way.
 */
export function linkDistrust(
  path: string,
  holder: { path: string; stat: Pick<FileStat, "mode"> },
  link: Pick<FileStat, "uid">,
  owner: number,
): string | undefined {
  if ((holder.stat.mode & 0o022) !== 0) {
    return `"${path}" is a symbolic link in "${holder.path}", a folder other users can change`;
  }
  if (link.uid !== 0 && link.uid !== owner) {
    return `"${path}" is a symbolic link that belongs to uid ${link.uid}`;
  }
  return undefined;
}

/** Why `stat`, the private folder itself, is not `owner`'s alone; or undefined. */
export function ownFolderDistrust(
  stat: Pick<FileStat, "type" | "uid" | "mode">,
  owner: number,
): string | undefined {
  if (stat.type !== "directory") return `it is ${describeFileType(stat.type)}, not a folder`;
  if (stat.uid !== owner) return `it belongs to uid ${stat.uid}, not uid ${owner}`;
  if ((stat.mode & 0o022) !== 0) return `other users can write it (mode ${octal(stat.mode)})`;
  return undefined;
}

/** Why `stat`, a file in the private folder, is not `owner`'s alone; or undefined. */
export function ownFileDistrust(
  stat: Pick<FileStat, "uid" | "mode" | "nlink">,
  owner: number,
): string | undefined {
  if (stat.uid !== owner) return `it belongs to uid ${stat.uid}, not uid ${owner}`;
  if ((stat.mode & 0o022) !== 0) return `other users can write it (mode ${octal(stat.mode)})`;
  if (stat.nlink !== 1) return `it has ${stat.nlink} hard links`;
  return undefined;
}

/** Options for {@link openPrivateFolder}. */
export interface OpenPrivateFolderOptions {
  /**
   * The user the folder must belong to (and who, beside root, may own the
   * folders on its path). Default: the effective user (`geteuid(2)`).
   */
  owner?: number;
  /** Make the missing folders of the path (mode 0700, less the umask). Default `false`. */
  create?: boolean;
  /**
   * Why the folder itself is refused, or undefined: the rule for the last
   * step. Default {@link ownFolderDistrust} with `owner` (the user's own, not
   * writable by others); the pidfile's folder passes its own rule (`/tmp` is
   * fine there); a log file's folder is judged by its caller on the
   * descriptor it gets (`log_folder.ts`: `() => undefined`). The folders on
   * the way are checked either way.
   */
  folderDistrust?: (path: string, stat: FileStat) => string | undefined;
}

/**
 * Opens the folder `path` step by step from `/` as the module doc says,
 * checking each step on its descriptor, and returns the folder's descriptor
 * (`O_PATH`: for the `*at` calls; close it with `closeFd`).
 *
 * @param path An absolute path (a relative one is taken from the working folder).
 * @returns The descriptor, or undefined when a step is missing, or is not a
 *   folder, and `create` is not set.
 * @throws {FileProblem} (`subject` `"folder"`) naming why: `the folder "/srv/a"
 *   on its path belongs to uid 65534, not root`, `it belongs to uid 65534, not
 *   uid 0`, `cannot create it: "/srv/a/f" is a regular file, not a folder`, ….
 * @throws {FlagstaffError} `permission` without `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { openPrivateFolder } from "./private_folder.ts";
 * import { closeFd } from "./safe_file.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(openPrivateFolder(`${dir}/state/app`), undefined);
 * closeFd(openPrivateFolder(`${dir}/state/app`, { create: true })!);
 * assert.equal((await Deno.stat(`${dir}/state/app`)).mode! & 0o777, 0o700);
 * await Deno.chmod(`${dir}/state`, 0o777);
 * assert.throws(() => openPrivateFolder(`${dir}/state/app`), /without the sticky bit/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function openPrivateFolder(
  path: string,
  options: OpenPrivateFolderOptions = {},
): number | undefined {
  const owner = options.owner ?? effectiveUid();
  const create = options.create ?? false;
  const last = options.folderDistrust ??
    ((_: string, stat: FileStat) => ownFolderDistrust(stat, owner));
  let steps = resolve(path).split("/").filter((step) => step !== "");
  for (let hops = 0;; hops++) {
    if (hops > MAX_LINK_HOPS) {
      throw new FileProblem(`more than ${MAX_LINK_HOPS} symbolic links on its path`);
    }
    const walked = walk(steps, owner, create, last);
    if (walked.kind !== "link") return walked.kind === "folder" ? walked.fd : undefined;
    steps = walked.steps;
  }
}

type Walked =
  | { kind: "folder"; fd: number }
  | { kind: "missing" }
  | { kind: "link"; steps: string[] };

/** Walks `steps` from `/` until the folder, a missing step, or a link to follow (its new steps). */
function walk(
  steps: readonly string[],
  owner: number,
  create: boolean,
  last: (path: string, stat: FileStat) => string | undefined,
): Walked {
  let fd = openStep(AT_FDCWD, "/", "/");
  let where = "/";
  try {
    let stat = fstatFd(fd);
    for (let i = 0; i < steps.length; i++) {
      const why = pathFolderDistrust(where, stat, owner);
      if (why) throw new FileProblem(why);
      const name = steps[i];
      const next = where === "/" ? `/${name}` : `${where}/${name}`;
      let child = tryOpenStep(fd, name, next);
      if (child === undefined) {
        if (!create) return { kind: "missing" };
        makeStep(fd, name, next);
        child = openStep(fd, name, next);
      }
      let childStat: FileStat;
      try {
        childStat = fstatFd(child);
      } catch (error) {
        closeFd(child);
        throw error;
      }
      if (childStat.type !== "directory") {
        try {
          if (childStat.type === "symlink") {
            const distrust = linkDistrust(next, { path: where, stat }, childStat, owner);
            if (distrust) throw new FileProblem(distrust);
            const target = readLink(child, next);
            const followed = resolve(where, target, ...steps.slice(i + 1));
            return { kind: "link", steps: followed.split("/").filter((step) => step !== "") };
          }
          if (!create) return { kind: "missing" };
          throw new FileProblem(
            `cannot create it: "${next}" is ${describeFileType(childStat.type)}, not a folder`,
          );
        } finally {
          closeFd(child);
        }
      }
      closeFd(fd);
      fd = child;
      stat = childStat;
      where = next;
    }
    const why = last(where, stat);
    if (why) throw new FileProblem(why);
    const folder = fd;
    fd = -1;
    return { kind: "folder", fd: folder };
  } finally {
    if (fd >= 0) closeFd(fd);
  }
}

/** `openat(dirFd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)`; undefined when nothing is there. */
function tryOpenStep(dirFd: number, name: string, path: string): number | undefined {
  const c = fileLibc(ACTION);
  for (;;) {
    const fd = c.openat(dirFd, cString(name), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd >= 0) return fd;
    const code = errno(c);
    if (code === EINTR) continue;
    if (code === ENOENT) return undefined;
    const reason = new OsError("open", path, code).reason;
    throw new FileProblem(`cannot open "${path}": ${reason}`);
  }
}

function openStep(dirFd: number, name: string, path: string): number {
  const fd = tryOpenStep(dirFd, name, path);
  if (fd === undefined) throw new FileProblem(`"${path}" vanished while being opened`);
  return fd;
}

/** `mkdirat(dirFd, name, 0700)`; something made there meanwhile is checked as any step is. */
function makeStep(dirFd: number, name: string, path: string): void {
  const c = fileLibc(ACTION);
  if (c.mkdirat(dirFd, cString(name), 0o700) === 0) return;
  const code = errno(c);
  if (code === EEXIST) return;
  throw new FileProblem(`cannot create it: "${path}": ${new OsError("mkdir", path, code).reason}`);
}

/** The target of the link open as `fd` (`readlinkat(fd, "")`: the very link that was checked). */
function readLink(fd: number, path: string): string {
  const c = fileLibc(ACTION);
  const buffer = new Uint8Array(PATH_MAX);
  const length = Number(c.readlinkat(fd, cString(""), buffer, BigInt(buffer.length)));
  if (length < 0) {
    throw new FileProblem(
      `cannot read the link "${path}": ${new OsError("readlink", path, errno(c)).reason}`,
    );
  }
  if (length >= buffer.length) throw new FileProblem(`the link "${path}" is too long`);
  return new TextDecoder().decode(buffer.subarray(0, length));
}

/**
 * Makes `path` a folder of this user's that no other user can change (mode
 * 0700, parents as needed), or checks the one that is there:
 * {@link openPrivateFolder} with `create`, its descriptor closed.
 *
 * @throws {FileProblem} naming why; a `FlagstaffError` `permission` without `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { ensurePrivateFolder } from "./private_folder.ts";
 * const dir = await Deno.makeTempDir();
 * ensurePrivateFolder(`${dir}/state/app`);
 * assert.equal((await Deno.stat(`${dir}/state/app`)).mode! & 0o777, 0o700);
 * await Deno.chmod(`${dir}/state/app`, 0o777);
 * assert.throws(() => ensurePrivateFolder(`${dir}/state/app`), /other users can write it/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function ensurePrivateFolder(path: string): void {
  closeFd(openPrivateFolder(path, { create: true })!);
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

export function reasonOf(error: unknown): string {
  if (error instanceof OsError || error instanceof NotRegularFileError) return error.reason;
  return error instanceof Error ? error.message : String(error);
}
