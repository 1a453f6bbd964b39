/**
 * Dropping root: switch to `Daemon.user` and `Daemon.group` and set the umask,
 * as a daemon started by root should before it runs user code. Deno has no
 * API for this, so it calls the C library through FFI (`--allow-ffi`; Linux
 * with glibc only).
 *
 * The order is the one that works: supplementary groups first
 * (`initgroups()`, which needs root), then `setgid()`, then `setuid()`, which
 * gives up root for good; then a check that root cannot be regained
 * (`setuid(0)` must fail) and that real and effective ids are the ones asked
 * for. Deno runs many threads and Linux keeps credentials per thread; glibc's
 * `setuid()`, `setgid()` and `setgroups()` apply the change to every thread of
 * the process (its "setxid" broadcast), which the tests check in
 * `/proc/self/task/*\/status`.
 *
 * Files the daemon opens later are opened as the new user: an open pidfile or
 * log file stays usable, but removing the pidfile at exit needs a folder the
 * user can write to.
 *
 * @module
 */

import { cString, describeErrno, errno, type Libc, libc, openLibc, setErrno } from "./_libc.ts";
import { type ErrorCode, FlagstaffError } from "../core/errors.ts";

/** Code for a switch the system refused (exit 1); names that do not exist are config errors (`usage`). */
const PRIVILEGES_ERROR: ErrorCode = "privileges";

/** Options for {@link dropPrivileges}. */
export interface DropPrivilegesOptions {
  /** User name, or numeric uid, to run as. Default: stay the current user. */
  user?: string;
  /**
   * Group name, or numeric gid, to run as. Default: the user's primary group
   * when `user` is given, else stay in the current group.
   */
  group?: string;
  /** File mode creation mask to set, such as `0o027`. Default: keep the current one. */
  umask?: number;
}

/** What the process runs as after {@link dropPrivileges}. */
export interface Privileges {
  /** The real and effective user id. */
  uid: number;
  /** The real and effective group id. */
  gid: number;
  /** Whether the user or group was switched. */
  switched: boolean;
  /** The umask before it was set; undefined when `umask` was not given. */
  previousUmask?: number;
}

/** An entry of the user or group database, or a number not in it. */
interface Resolved {
  id: number;
  /** The user's name, for `initgroups()`; undefined for a group or a uid with no entry. */
  name?: string;
  /** The user's primary group; undefined for a group or a uid with no entry. */
  primaryGid?: number;
}

// glibc's struct passwd and struct group on 64-bit Linux.
const PW_NAME_OFFSET = 0;
const PW_UID_OFFSET = 16;
const PW_GID_OFFSET = 20;
const GR_GID_OFFSET = 16;
/** errno values with which getpwnam()/getgrnam() say "no such entry" (see their man page). */
const NOT_FOUND_ERRNOS = new Set([0, 1, 2, 3, 9]); // 0, EPERM, ENOENT, ESRCH, EBADF

function isNumeric(text: string): boolean {
  return /^[0-9]{1,10}$/.test(text) && Number(text) <= 0xfffffffe;
}

/** The database entry `lookup` found, or a FlagstaffError saying why there is none. */
function lookUp(
  c: Libc,
  kind: "user" | "group",
  value: string,
  lookup: () => Deno.PointerValue,
): Deno.PointerObject {
  setErrno(0, c);
  const entry = lookup();
  if (entry !== null) return entry;
  const code = errno(c);
  const why = NOT_FOUND_ERRNOS.has(code)
    ? `no such ${kind}`
    : `cannot look it up: ${describeErrno(code, c)}`;
  throw new FlagstaffError("usage", `Cannot switch to ${kind} "${value}": ${why}`);
}

function passwdEntry(entry: Deno.PointerObject): Resolved {
  const view = new Deno.UnsafePointerView(entry);
  const name = view.getPointer(PW_NAME_OFFSET);
  return {
    id: view.getUint32(PW_UID_OFFSET),
    name: name === null ? undefined : Deno.UnsafePointerView.getCString(name),
    primaryGid: view.getUint32(PW_GID_OFFSET),
  };
}

function resolveUser(c: Libc, user: string): Resolved {
  if (isNumeric(user)) {
    const uid = Number(user);
    const entry = c.getpwuid(uid); // a uid with no entry is allowed, with a group
    return entry === null ? { id: uid } : { ...passwdEntry(entry), id: uid };
  }
  return passwdEntry(lookUp(c, "user", user, () => c.getpwnam(cString(user))));
}

function resolveGroup(c: Libc, group: string): number {
  if (isNumeric(group)) return Number(group);
  const entry = lookUp(c, "group", group, () => c.getgrnam(cString(group)));
  return new Deno.UnsafePointerView(entry).getUint32(GR_GID_OFFSET);
}

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
 * Looks up a user as {@link dropPrivileges} does, changing nothing: a name
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
 * import { lookupUser } from "./privileges.ts";
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
 * Looks up a group as {@link dropPrivileges} does, changing nothing: a name
 * through `getgrnam(3)`; a numeric gid is taken as it is.
 *
 * @param group A group name, or a numeric gid such as `"1000"`.
 * @returns The gid, or undefined when there is no group of that name.
 * @throws {FlagstaffError} as {@link lookupUser}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lookupGroup } from "./privileges.ts";
 * assert.equal(lookupGroup("root"), 0);
 * assert.equal(lookupGroup("4242"), 4242);
 * assert.equal(lookupGroup("no-such-group-flagstaff"), undefined);
 * ```
 */
export function lookupGroup(group: string): number | undefined {
  if (isNumeric(group)) return Number(group);
  return withLibc("look up a group", (c) => {
    const entry = findEntry(c, "group", group, () => c.getgrnam(cString(group)));
    return entry === undefined
      ? undefined
      : new Deno.UnsafePointerView(entry).getUint32(GR_GID_OFFSET);
  });
}

/**
 * Runs `body` with a handle of its own on libc, closed afterwards: a lookup
 * (about 3 ms) leaves nothing open, and config validation can run in a test
 * without the resource sanitizer blaming it.
 */
function withLibc<T>(action: string, body: (c: Libc) => T): T {
  const library = openLibc(action);
  try {
    return body(library.symbols);
  } finally {
    library.close();
  }
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

/**
 * Switches the whole process to `options.user` and `options.group` when
 * running as root, and sets `options.umask`. Asking for the user and group
 * the process already runs as is allowed without root.
 *
 * @throws {FlagstaffError} `usage` for a user or group that does not exist,
 *   for a switch without root (`Cannot switch to user "app": not running as
 *   root (uid 1000)`), for an invalid umask, and when a step fails (naming
 *   the step and the system's reason); `permission` without `--allow-ffi`.
 *   Nothing has changed when a name cannot be resolved; after a failed step
 *   the process may be half switched and should exit.
 *
 * @example
 * ```ts ignore
 * import { dropPrivileges } from "./privileges.ts";
 * // As root, with --allow-ffi:
 * const now = dropPrivileges({ user: "nobody", group: "nogroup", umask: 0o027 });
 * console.assert(now.uid === 65534);
 * ```
 */
export function dropPrivileges(options: DropPrivilegesOptions = {}): Privileges {
  const { user, group, umask } = options;
  if (umask !== undefined && !(Number.isInteger(umask) && umask >= 0 && umask <= 0o777)) {
    throw new FlagstaffError(
      "usage",
      `Invalid umask ${JSON.stringify(umask)}: expected a number from 0 to 0o777`,
    );
  }
  const c = libc("switch user and group");
  // Resolve everything before changing anything.
  const target = user === undefined ? undefined : resolveUser(c, user);
  const gid = group !== undefined ? resolveGroup(c, group) : target?.primaryGid;
  const subject = user !== undefined ? `user "${user}"` : `group "${group}"`;
  if (target !== undefined && gid === undefined) {
    throw new FlagstaffError(
      "usage",
      `Cannot switch to ${subject}: uid ${target.id} has no entry in the user database, so a group is needed`,
    );
  }

  const euid = c.geteuid();
  let switched = false;
  if (euid !== 0) {
    // Without root only staying who we are is possible.
    if (target !== undefined && target.id !== euid) {
      throw new FlagstaffError(
        "usage",
        `Cannot switch to user "${user}": not running as root (uid ${euid})`,
      );
    }
    if (gid !== undefined && gid !== c.getegid()) {
      throw new FlagstaffError(
        "usage",
        `Cannot switch to group "${group ?? gid}": not running as root (uid ${euid})`,
      );
    }
  } else if (gid !== undefined) {
    const step = (name: string, result: number): void => {
      if (result !== 0) {
        throw new FlagstaffError(
          PRIVILEGES_ERROR,
          `Cannot switch to ${subject}: ${name} failed: ${describeErrno(undefined, c)}`,
        );
      }
    };
    // Replace root's supplementary groups too: the user's, or only the group.
    if (target?.name !== undefined) {
      step(`initgroups("${target.name}", ${gid})`, c.initgroups(cString(target.name), gid));
    } else {
      step(`setgroups([${gid}])`, c.setgroups(1n, new Uint32Array([gid])));
    }
    step(`setgid(${gid})`, c.setgid(gid));
    if (target !== undefined) step(`setuid(${target.id})`, c.setuid(target.id));
    switched = true;
    verify(c, subject, target?.id ?? euid, gid);
  }
  const now: Privileges = { uid: c.geteuid(), gid: c.getegid(), switched };
  if (umask !== undefined) now.previousUmask = c.umask(umask);
  return now;
}

/** Checks the ids, and that a process that gave up root cannot take it back. */
function verify(c: Libc, subject: string, uid: number, gid: number): void {
  const fail = (what: string): never => {
    throw new FlagstaffError(PRIVILEGES_ERROR, `Cannot switch to ${subject}: ${what}`);
  };
  if (uid !== 0 && c.setuid(0) === 0) fail(`root could be regained after setuid(${uid})`);
  const ids = { uid: c.getuid(), euid: c.geteuid(), gid: c.getgid(), egid: c.getegid() };
  const expected = { uid, euid: uid, gid, egid: gid };
  if (JSON.stringify(ids) !== JSON.stringify(expected)) {
    fail(`ids are ${JSON.stringify(ids)} instead of ${JSON.stringify(expected)}`);
  }
}

/**
 * Sets the file mode creation mask, as `umask(2)`, and returns the previous
 * one. flagstaff sets `Daemon.umask` before it creates any file (pidfile,
 * log files), so they get the mode asked for.
 *
 * @param mask The mask, from 0 to 0o777.
 * @returns The mask before the call.
 * @throws {FlagstaffError} `usage` for a mask out of range; `permission`
 *   without `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import { setUmask } from "./privileges.ts";
 * const before = setUmask(0o077);
 * setUmask(before);
 * ```
 */
export function setUmask(mask: number): number {
  if (!(Number.isInteger(mask) && mask >= 0 && mask <= 0o777)) {
    throw new FlagstaffError(
      "usage",
      `Invalid umask ${JSON.stringify(mask)}: expected a number from 0 to 0o777`,
    );
  }
  return libc("set the umask").umask(mask);
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
 * ({@link dropPrivileges} sets `initgroups()` for a named user, else only
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
 * import { canWriteFolder } from "./privileges.ts";
 * const dir = await Deno.makeTempDir(); // mode 0700, ours
 * const me = { uid: (await Deno.stat(dir)).uid!, gids: [] };
 * assert.equal(canWriteFolder(dir, me), true);
 * assert.equal(canWriteFolder(dir, { uid: 65534, gids: [65534] }), me.uid === 65534);
 * await Deno.remove(dir);
 * ```
 */
export function canWriteFolder(folder: string, target: DropTarget): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(folder);
  } catch {
    return false;
  }
  if (!info.isDirectory || info.mode === null) return false;
  if (target.uid === 0) return true;
  const mode = info.mode;
  const bits = info.uid === target.uid
    ? (mode >> 6) & 7
    : target.gids.includes(info.gid ?? -1)
    ? (mode >> 3) & 7
    : mode & 7;
  return (bits & 3) === 3;
}

/**
 * Whether `target` may open the existing regular file `path` for writing
 * (owner, group or other write bit, as the kernel decides; ACLs aside).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canWriteFile } from "./privileges.ts";
 * const file = await Deno.makeTempFile(); // mode 0600, ours
 * assert.equal(canWriteFile(file, { uid: 65534, gids: [65534] }), (await Deno.stat(file)).uid === 65534);
 * await Deno.remove(file);
 * ```
 */
export function canWriteFile(path: string, target: DropTarget): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return false;
  }
  if (!info.isFile || info.mode === null) return false;
  if (target.uid === 0) return true;
  const mode = info.mode;
  const bits = info.uid === target.uid
    ? (mode >> 6) & 7
    : target.gids.includes(info.gid ?? -1)
    ? (mode >> 3) & 7
    : mode & 7;
  return (bits & 2) === 2;
}
