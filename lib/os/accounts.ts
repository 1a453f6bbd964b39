/**
 * Users and groups as `Daemon.user` and `Daemon.group` name them, looked up
 * without changing anything, as `dropPrivileges()` (`privileges.ts`) will
 * resolve them: {@link lookupUser} (`getpwnam(3)`, `getpwuid(3)`),
 * {@link lookupGroup} (`getgrnam(3)`), and what the process will be after
 * the drop ({@link dropTarget}: uid and groups, `getgrouplist(3)`) and may
 * write ({@link canWriteFolder}, {@link canWriteFile}), so a config can be
 * checked before anything is switched. Through the C library (`--allow-ffi`;
 * Linux with glibc only); each lookup opens and closes its own handle.
 *
 * @module
 */

import { cString, describeErrno, errno, type Libc, setErrno } from "./_libc.ts";
import {
  groupGid,
  isNumeric,
  NOT_FOUND_ERRNOS,
  passwdEntry,
  type Resolved,
  withLibc,
} from "./_passwd.ts";
import { FlagstaffError } from "../core/errors.ts";

/** A user as {@link lookupUser} finds it. */
export interface UserEntry {
  /** The uid. */
  uid: number;
  /** The user's name; undefined for a numeric uid with no entry in the user database. */
  name?: string;
  /** The user's primary gid; undefined for a numeric uid with no entry. */
  gid?: number;
}

/**
 * Looks up a user as `dropPrivileges()` does, changing nothing: a name
 * through `getpwnam(3)`, a numeric uid through `getpwuid(3)` (a uid with no
 * entry is still a user, with no name or group).
 *
 * @param user A user name, or a numeric uid such as `"1000"`.
 * @returns The entry, or undefined when there is no user of that name.
 * @throws {FlagstaffError} `usage` when the database cannot be read (the
 *   system's reason, e.g. an unreachable directory service); `permission`
 *   without `--allow-ffi`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lookupUser } from "./accounts.ts";
 * assert.equal(lookupUser("root")?.uid, 0);
 * assert.equal(lookupUser("no-such-user-flagstaff"), undefined);
 * ```
 */
export function lookupUser(user: string): UserEntry | undefined {
  return withLibc("look up a user", (c) => {
    if (isNumeric(user)) {
      const entry = c.getpwuid(Number(user));
      return entry === null ? { uid: Number(user) } : toUserEntry(passwdEntry(entry));
    }
    const entry = findEntry(c, "user", user, () => c.getpwnam(cString(user)));
    return entry === undefined ? undefined : toUserEntry(passwdEntry(entry));
  });
}

/**
 * Looks up a group as `dropPrivileges()` does, changing nothing: a name
 * through `getgrnam(3)`; a numeric gid is taken as it is.
 *
 * @param group A group name, or a numeric gid such as `"1000"`.
 * @returns The gid, or undefined when there is no group of that name.
 * @throws {FlagstaffError} as {@link lookupUser}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lookupGroup } from "./accounts.ts";
 * assert.equal(lookupGroup("root"), 0);
 * assert.equal(lookupGroup("4242"), 4242);
 * assert.equal(lookupGroup("no-such-group-flagstaff"), undefined);
 * ```
 */
export function lookupGroup(group: string): number | undefined {
  if (isNumeric(group)) return Number(group);
  return withLibc("look up a group", (c) => {
    const entry = findEntry(c, "group", group, () => c.getgrnam(cString(group)));
    return entry === undefined ? undefined : groupGid(entry);
  });
}

function toUserEntry(resolved: Resolved): UserEntry {
  return { uid: resolved.id, name: resolved.name, gid: resolved.primaryGid };
}

/** The database entry `lookup` found; undefined for "no such entry"; a FlagstaffError when the lookup failed. */
function findEntry(
  c: Libc,
  kind: "user" | "group",
  value: string,
  lookup: () => Deno.PointerValue,
): Deno.PointerObject | undefined {
  setErrno(0, c);
  const entry = lookup();
  if (entry !== null) return entry;
  const code = errno(c);
  if (NOT_FOUND_ERRNOS.has(code)) return undefined;
  throw new FlagstaffError(
    "usage",
    `Cannot look up ${kind} "${value}": ${describeErrno(code, c)}`,
  );
}

/** A user flagstaff will run as after dropping root: what it may write is decided by these. */
export interface DropTarget {
  /** The uid. */
  uid: number;
  /** The primary gid, and every supplementary group the user will have. */
  gids: readonly number[];
}

/**
 * The uid and groups that `Daemon.user`/`Daemon.group` will give the process
 * (`dropPrivileges()` sets `initgroups()` for a named user, else only
 * the group), or undefined when they cannot be resolved.
 *
 * @throws {FlagstaffError} `permission` without `--allow-ffi`.
 */
export function dropTarget(user?: string, group?: string): DropTarget | undefined {
  const entry = user === undefined ? undefined : lookupUser(user);
  if (user !== undefined && entry === undefined) return undefined;
  const gid = group !== undefined ? lookupGroup(group) : entry?.gid;
  if (gid === undefined) return undefined;
  const uid = entry?.uid ?? withLibc("look up a user", (c) => c.geteuid());
  if (entry?.name === undefined) return { uid, gids: [gid] };
  const name = entry.name;
  return withLibc("look up a user's groups", (c) => {
    const gids = new Uint32Array(256);
    const count = new Int32Array([gids.length]);
    const found = c.getgrouplist(cString(name), gid, gids, new Uint8Array(count.buffer));
    const n = found < 0 ? gids.length : new Int32Array(count.buffer)[0];
    return { uid, gids: [...new Set([gid, ...gids.subarray(0, Math.min(n, gids.length))])] };
  });
}

/**
 * Whether `target` may create, rename and remove files in the folder
 * `folder` (write and search permission, by owner, group or other bits), as
 * the kernel would decide for a process with those ids (ACLs aside).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canWriteFolder } from "./accounts.ts";
 * const dir = await Deno.makeTempDir(); // mode 0700, ours
 * const me = { uid: (await Deno.stat(dir)).uid!, gids: [] };
 * assert.equal(canWriteFolder(dir, me), true);
 * assert.equal(canWriteFolder(dir, { uid: 65534, gids: [65534] }), me.uid === 65534);
 * await Deno.remove(dir);
 * ```
 */
export function canWriteFolder(folder: string, target: DropTarget): boolean {
  // Creating and removing entries needs write and search (x) on the folder.
  return ((accessBits(folder, target, "folder") ?? 0) & 3) === 3;
}

/**
 * Whether `target` may open the existing regular file `path` for writing
 * (owner, group or other write bit, as the kernel decides; ACLs aside).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canWriteFile } from "./accounts.ts";
 * const file = await Deno.makeTempFile(); // mode 0600, ours
 * assert.equal(canWriteFile(file, { uid: 65534, gids: [65534] }), (await Deno.stat(file)).uid === 65534);
 * await Deno.remove(file);
 * ```
 */
export function canWriteFile(path: string, target: DropTarget): boolean {
  return ((accessBits(path, target, "file") ?? 0) & 2) === 2;
}

/**
 * The rwx bits (`0`–`7`) of `path` that apply to `target`, as the kernel
 * picks them: the owner's, else the group's when one of its groups owns it,
 * else the others'; all seven for root. Undefined when `path` cannot be
 * stat'ed or is not of `kind` (links are followed).
 */
function accessBits(path: string, target: DropTarget, kind: "file" | "folder"): number | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return undefined;
  }
  if (!(kind === "file" ? info.isFile : info.isDirectory) || info.mode === null) return undefined;
  if (target.uid === 0) return 7;
  const mode = info.mode;
  return info.uid === target.uid
    ? (mode >> 6) & 7
    : target.gids.includes(info.gid ?? -1)
    ? (mode >> 3) & 7
    : mode & 7;
}
