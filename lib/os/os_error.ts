/**
 * {@link OsError}: a C library call that failed, as the file functions
 * (`safe_file.ts`, `file_stat.ts`, `flock.ts`) throw it, with its `errno`
 * (`errno(3)`) and the C library's words for it (`strerror(3)`), and the
 * `errno` values their callers test for. Linux's values. Private to `lib/`.
 *
 * @module
 */

import { describeErrno, fileLibc } from "./_libc.ts";

/** `EPERM`. */
export const EPERM = 1;
/** `ENOENT`. */
export const ENOENT = 2;
/** `ENXIO`: `openNoFollow()` met a FIFO with no reader (opening to write) or a socket. */
export const ENXIO = 6;
/** `EACCES`. */
export const EACCES = 13;
/** `ELOOP`: `openNoFollow()` met a symbolic link. */
export const ELOOP = 40;

/** A libc call that failed: which call, on what, its `errno`, and why in words. */
export class OsError extends Error {
  /** The C function: `"openat"`. */
  readonly call: string;
  /** The `errno` it left. */
  readonly errno: number;
  /**
   * Why, for the end of a message: `"no such file or directory (errno 2)"`,
   * or `"it is a symbolic link"` for `ELOOP` from `openNoFollow()`.
   */
  readonly reason: string;

  /** Creates the error; `reason` defaults to the C library's words for `code`. */
  constructor(call: string, target: string, code: number, reason?: string) {
    const why = reason ?? describeErrno(code, fileLibc());
    super(`${call}("${target}"): ${why}`);
    this.name = "OsError";
    this.call = call;
    this.errno = code;
    this.reason = why;
  }
}
