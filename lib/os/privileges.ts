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
 * user can write to. `accounts.ts` looks users and groups up, and tells what
 * the new user may write, without changing anything.
 *
 * @module
 */

import { cString, describeErrno, errno, type Libc, libc, setErrno } from "./_libc.ts";
import { groupGid, isNumeric, NOT_FOUND_ERRNOS, passwdEntry, type Resolved } from "./_passwd.ts";
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
  return groupGid(lookUp(c, "group", group, () => c.getgrnam(cString(group))));
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
 * import assert from "node:assert/strict";
 * import { dropPrivileges } from "./privileges.ts";
 * // As root, with --allow-ffi:
 * const now = dropPrivileges({ user: "nobody", group: "nogroup", umask: 0o027 });
 * assert.equal(now.uid, 65534);
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
        "privileges",
        `Cannot switch to user "${user}": not running as root (uid ${euid})`,
      );
    }
    if (gid !== undefined && gid !== c.getegid()) {
      throw new FlagstaffError(
        "privileges",
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
