/**
 * The C library, opened once and lazily through `Deno.dlopen` (needs
 * `--allow-ffi`), for the few OS edges Deno has no API for: the sd_notify
 * datagram socket, `CLOCK_MONOTONIC`, switching user and group, and opening
 * files without following links. Private to `lib/`: never re-exported.
 *
 * Handles: {@link libc} is shared and stays open; {@link sendLibc} binds only
 * what a notify datagram needs; {@link openLibc} is an object's own, closed
 * with it; {@link withOwnLibc} lends the file functions ({@link fileLibc}) a
 * handle for the length of one call.
 *
 * Linux with glibc on a 64-bit machine only (`libc.so.6`; the struct offsets
 * and flag values below are Linux's LP64 ones).
 *
 * About `errno`: calls declared without `nonblocking` run on the JavaScript
 * thread, so {@link errno} read right after a failed call (a return of -1 or
 * NULL) is that call's. The `nonblocking` calls (`poll`, `fsync`) run on a
 * worker thread whose `errno` cannot be read from here; their callers only
 * look at the return value.
 *
 * @module
 */

import { FlagstaffError } from "../core/errors.ts";

/** `AF_UNIX`. */
export const AF_UNIX = 1;
/** `SOCK_DGRAM`. */
export const SOCK_DGRAM = 2;
/** `SOCK_CLOEXEC` (Linux: `O_CLOEXEC`). */
export const SOCK_CLOEXEC = 0o2000000;
/** `MSG_DONTWAIT`. */
export const MSG_DONTWAIT = 0x40;
/** `MSG_NOSIGNAL`. */
export const MSG_NOSIGNAL = 0x4000;
/** `CLOCK_MONOTONIC`. */
export const CLOCK_MONOTONIC = 1;
/** `POLLIN`. */
export const POLLIN = 0x1;
/** `SHUT_RDWR`. */
export const SHUT_RDWR = 2;
/** `EINTR`. */
export const EINTR = 4;
/** `EAGAIN` (also `EWOULDBLOCK`). */
export const EAGAIN = 11;
/** `AT_FDCWD`: a relative path is looked up in the working folder. */
export const AT_FDCWD = -100;
/** Bytes in `struct sockaddr_un.sun_path`. */
export const SUN_PATH_BYTES = 108;

const SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  close: { parameters: ["i32"], result: "i32" },
  // Notify socket (and the listener that tests use).
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  // Users and groups.
  getpwnam: { parameters: ["buffer"], result: "pointer" },
  getpwuid: { parameters: ["u32"], result: "pointer" },
  getgrnam: { parameters: ["buffer"], result: "pointer" },
  initgroups: { parameters: ["buffer", "u32"], result: "i32" },
  setgroups: { parameters: ["usize", "buffer"], result: "i32" },
  setgid: { parameters: ["u32"], result: "i32" },
  setuid: { parameters: ["u32"], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  geteuid: { parameters: [], result: "u32" },
  getgid: { parameters: [], result: "u32" },
  getegid: { parameters: [], result: "u32" },
  umask: { parameters: ["u32"], result: "u32" },
  // Reaping orphans as PID 1.
  waitid: { parameters: ["i32", "u32", "buffer", "i32"], result: "i32" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // Opening files without following links or blocking (safe_file.ts, file_stat.ts, flock.ts, own_file.ts).
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  getgrouplist: { parameters: ["buffer", "u32", "buffer", "buffer"], result: "i32" },
  // The --daemon handshake: the sender's kernel-verified credentials (SO_PASSCRED, SCM_CREDENTIALS).
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  // Listing PID 1's children (/proc/self/task/*/children) for the reaper.
  open: { parameters: ["buffer", "i32"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  // Writing a small file atomically in a folder (lib/os/atomic_file.ts); fsync may wait on the
  // disk, so it runs off the JavaScript thread.
  renameat: { parameters: ["i32", "buffer", "i32", "buffer"], result: "i32" },
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // Walking to that folder one step at a time, from the previous step's descriptor.
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  readlinkat: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
  fsync: { parameters: ["i32"], result: "i32", nonblocking: true },
  // Naming a new pidfile atomically without a second link; whether a lock's pid still runs.
  renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
} as const;

/** The libc functions flagstaff calls. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** A handle on the C library, with the functions flagstaff calls; `close()` releases it. */
export interface LibcLibrary {
  /** The functions, each bound on first use. */
  readonly symbols: Libc;
  /** Closes the handle: its functions may not be called after. */
  close(): void;
}

let opened: Libc | undefined;

/**
 * What sending a notify datagram needs. Binding a symbol costs Deno about
 * 0.1 ms (all of {@link SYMBOLS} at once: ~5 ms of start-up), so each handle
 * binds a function when it is first used (see {@link openLibc}).
 */
const SEND_SYMBOLS = {
  __errno_location: SYMBOLS.__errno_location,
  strerror: SYMBOLS.strerror,
  close: SYMBOLS.close,
  socket: SYMBOLS.socket,
  sendto: SYMBOLS.sendto,
} as const;

/** The libc functions that sending a notify datagram calls. */
export type SendLibc = Deno.DynamicLibrary<typeof SEND_SYMBOLS>["symbols"];
/** The functions `errno` and its text need. */
export type ErrnoLibc = Pick<Libc, "__errno_location" | "strerror">;

let sendOpened: SendLibc | undefined;

/**
 * The C library's functions, opening it on first use. It stays open for the
 * life of the process; a test file that calls this should call it once at
 * load time too, or the test sanitizer blames the first test that opens it.
 *
 * @param action What needs it, for the error message: `"use the notify socket"`.
 * @throws {FlagstaffError} `permission` without `--allow-ffi`; `usage` on a
 *   system other than Linux or when `libc.so.6` cannot be opened.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { libc } from "./_libc.ts";
 * const uid = libc("run the example").getuid();
 * assert.equal(uid, Deno.uid());
 * ```
 */
export function libc(action: string): Libc {
  opened ??= openLibc(action).symbols;
  return opened;
}

/**
 * The functions of {@link SEND_SYMBOLS}, opening the C library for them
 * alone on first use (or those of {@link libc} when it is open already).
 *
 * @throws {FlagstaffError} as {@link libc}.
 */
export function sendLibc(action: string): SendLibc {
  sendOpened ??= opened ?? lazyLibc(action, SEND_SYMBOLS).symbols;
  return sendOpened;
}

/**
 * A handle of its own on the C library, for an object that closes it when it
 * is closed (so a test that opens and closes the object leaks nothing). It
 * opens the library now (so a missing `--allow-ffi` fails here) and binds
 * each function on its first use: binding all of them at once cost about
 * 5 ms per handle (`Deno.dlopen` makes a trampoline for each), and a command
 * calls only a few.
 *
 * @throws {FlagstaffError} as {@link libc}.
 */
export function openLibc(action: string): LibcLibrary {
  return lazyLibc(action, SYMBOLS);
}

/**
 * Opens the C library for `wanted`, binding each function when it is first
 * read: the handle looks up every address at once (as static symbols, which
 * is cheap) and makes a callable of one on its first use.
 */
function lazyLibc<S extends Deno.ForeignLibraryInterface>(
  action: string,
  wanted: S,
): { readonly symbols: Deno.DynamicLibrary<S>["symbols"]; close(): void } {
  const addresses: Record<string, Deno.ForeignStatic<"pointer">> = {};
  for (const name of Object.keys(wanted)) addresses[name] = { type: "pointer" };
  // Fails now without --allow-ffi or without the library, as binding every function did.
  const library = dlopenLibc(action, addresses);
  const symbols: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(wanted)) {
    Object.defineProperty(symbols, name, {
      configurable: true,
      enumerable: true,
      get() {
        const address = library.symbols[name] as Deno.PointerValue<Deno.ForeignFunction>;
        if (address === null) throw new Error(`libc.so.6 has no "${name}"`);
        const fn = new Deno.UnsafeFnPointer(address, definition as Deno.ForeignFunction);
        const bound = fn.call.bind(fn);
        Object.defineProperty(symbols, name, { value: bound, enumerable: true });
        return bound;
      },
    });
  }
  return {
    symbols: symbols as Deno.DynamicLibrary<S>["symbols"],
    close: () => library.close(),
  };
}

/** What the file functions need the C library for, in messages. */
const FILES_ACTION = "open files safely";

/** The handle of {@link withOwnLibc} while it runs. */
let scoped: Libc | undefined;

/**
 * The C library for the file functions (`safe_file.ts`, `file_stat.ts`,
 * `flock.ts`, `own_file.ts`, `os_error.ts`): {@link withOwnLibc}'s handle
 * while it runs, else the shared one of {@link libc} (opened for `action`,
 * which a missing `--allow-ffi` names: default `"open files safely"`).
 *
 * @throws {FlagstaffError} as {@link libc}.
 */
export function fileLibc(action: string = FILES_ACTION): Libc {
  return scoped ?? libc(action);
}

/**
 * Runs `fn` with a handle of its own on the C library, closed when `fn`
 * returns, for code that runs rarely, such as writing the errors file: the
 * process keeps nothing open for it (and a test's resource sanitizer sees
 * nothing left open). Nested calls share the outer handle.
 *
 * @throws {FlagstaffError} `permission` without `--allow-ffi`; what `fn` throws.
 */
export function withOwnLibc<T>(fn: () => T): T {
  if (scoped !== undefined) return fn();
  const library = openLibc(FILES_ACTION);
  scoped = library.symbols;
  try {
    return fn();
  } finally {
    scoped = undefined;
    library.close();
  }
}

function dlopenLibc<S extends Deno.ForeignLibraryInterface>(
  action: string,
  symbols: S,
): Deno.DynamicLibrary<S> {
  if (Deno.build.os !== "linux") {
    throw new FlagstaffError(
      "usage",
      `Cannot ${action} on "${Deno.build.os}": it needs Linux and its C library`,
    );
  }
  try {
    return Deno.dlopen("libc.so.6", symbols);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new FlagstaffError("permission", `Cannot ${action}: run deno with --allow-ffi`, {
        cause: error,
      });
    }
    throw new FlagstaffError(
      "usage",
      `Cannot ${action}: cannot open "libc.so.6": ${messageOf(error)}`,
      { cause: error },
    );
  }
}

function errnoView(c: ErrnoLibc): Int32Array {
  const pointer = c.__errno_location();
  if (pointer === null) throw new Error("__errno_location() returned NULL");
  return new Int32Array(Deno.UnsafePointerView.getArrayBuffer(pointer, 4));
}

/** This thread's `errno`; meaningful right after a failed synchronous call. */
export function errno(c: ErrnoLibc = libc("read errno")): number {
  return errnoView(c)[0];
}

/** Sets this thread's `errno` (to 0 before calls that signal "not found" by leaving it). */
export function setErrno(value: number, c: ErrnoLibc = libc("read errno")): void {
  errnoView(c)[0] = value;
}

/** `strerror(code)`, as the C library words it: `"No such file or directory"`. */
export function errnoText(code: number, c: ErrnoLibc = libc("read errno")): string {
  const pointer = c.strerror(code);
  return pointer === null ? `Error ${code}` : Deno.UnsafePointerView.getCString(pointer);
}

/**
 * An `errno` and its text for the end of a message:
 * `"no such file or directory (errno 2)"`.
 */
export function describeErrno(code?: number, c: ErrnoLibc = libc("read errno")): string {
  const value = code ?? errno(c);
  const text = errnoText(value, c);
  return `${text.charAt(0).toLowerCase()}${text.slice(1)} (errno ${value})`;
}

const encoder = new TextEncoder();

/** `text` as a NUL-terminated C string. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** The message of any thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
