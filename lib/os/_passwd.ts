/**
 * Reading the user and group databases through glibc (`getpwnam(3)`,
 * `getpwuid(3)`, `getgrnam(3)`): the fields flagstaff needs from
 * `struct passwd` and `struct group` (64-bit Linux layouts), how a lookup
 * says "no such entry", and numeric ids. Shared by `privileges.ts` and
 * `accounts.ts`; needs `--allow-ffi`.
 *
 * @module
 */

import { type Libc, openLibc } from "./_libc.ts";

/** An entry of the user or group database, or a number not in it. */
export interface Resolved {
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
export const NOT_FOUND_ERRNOS = new Set([0, 1, 2, 3, 9]); // 0, EPERM, ENOENT, ESRCH, EBADF

/** Whether `text` is a numeric uid or gid (up to `0xfffffffe`; `-1` means "unchanged"). */
export function isNumeric(text: string): boolean {
  return /^[0-9]{1,10}$/.test(text) && Number(text) <= 0xfffffffe;
}

/** The uid, name and primary gid of a `struct passwd`. */
export function passwdEntry(entry: Deno.PointerObject): Resolved {
  const view = new Deno.UnsafePointerView(entry);
  const name = view.getPointer(PW_NAME_OFFSET);
  return {
    id: view.getUint32(PW_UID_OFFSET),
    name: name === null ? undefined : Deno.UnsafePointerView.getCString(name),
    primaryGid: view.getUint32(PW_GID_OFFSET),
  };
}

/** The gid of a `struct group`. */
export function groupGid(entry: Deno.PointerObject): number {
  return new Deno.UnsafePointerView(entry).getUint32(GR_GID_OFFSET);
}

/**
 * Runs `body` with a handle of its own on libc, closed afterwards: a lookup
 * (about 3 ms) leaves nothing open, and config validation can run in a test
 * without the resource sanitizer blaming it.
 */
export function withLibc<T>(action: string, body: (c: Libc) => T): T {
  const library = openLibc(action);
  try {
    return body(library.symbols);
  } finally {
    library.close();
  }
}
