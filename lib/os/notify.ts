/**
 * The systemd notify protocol, client side, as `sd_notify(3)` defines it: the
 * service manager passes `NOTIFY_SOCKET`, the address of a unix datagram
 * socket (a filesystem path starting with `/`, or an abstract name starting
 * with `@`, whose `@` stands for a NUL byte); the service sends it one
 * datagram per state change, each a newline-separated list of `KEY=value`
 * assignments (`READY=1`, `STATUS=…`, `STOPPING=1`, `WATCHDOG=1`, and on
 * reload `RELOADING=1` with `MONOTONIC_USEC=` from {@link monotonicUsec}).
 * Like `sd_notify()`, nothing is sent when `NOTIFY_SOCKET` is unset, and a
 * failure never stops the service.
 *
 * Deno has no stable unix datagram sockets, so this module calls the C
 * library through FFI and needs `--allow-ffi` (only when `NOTIFY_SOCKET` is
 * set). Linux only.
 *
 * {@link listenNotifySocket} is the other side, with each sender's
 * kernel-verified credentials: for `--daemon`'s ready handshake, and for
 * tests that check what a process sends.
 *
 * @module
 */

import {
  AF_UNIX,
  CLOCK_MONOTONIC,
  describeErrno,
  EAGAIN,
  EINTR,
  errno,
  libc,
  type LibcLibrary,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  openLibc,
  POLLIN,
  sendLibc,
  SHUT_RDWR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SUN_PATH_BYTES,
} from "./_libc.ts";
import { type ErrorCode, FlagstaffError } from "../core/errors.ts";

/** Code of notify errors: a failed send is only reported to `onError`, never turned into an exit. */
const NOTIFY_ERROR: ErrorCode = "notify";

/** Sends state messages to the service manager. */
export interface Notifier {
  /**
   * Sends one message: newline-separated `KEY=value` assignments such as
   * `READY=1` or `STATUS=Sleeping`. Resolves to true when the datagram was
   * handed to the socket, false when it was not; never throws.
   */
  send(message: string): Promise<boolean> | boolean;
  /** Closes the socket; sends after this return false. */
  close(): void;
}

/** Options for {@link notifierFromEnv}. */
export interface NotifierOptions {
  /**
   * Called with the error of a failed send: once for a run of failures, and
   * again only after a send succeeded in between. Default: nothing.
   */
  onError?: (error: FlagstaffError) => void;
}

/** The environment variables {@link notifierFromEnv} reads. */
export interface NotifyEnv {
  /** The socket address set by the service manager. */
  NOTIFY_SOCKET?: string;
}

/** A `struct sockaddr_un` and the length to pass with it, or why there is none. */
type SocketAddress = { bytes: Uint8Array<ArrayBuffer>; length: number } | { problem: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Encodes `address` as `sockaddr_un`: `/path` NUL-terminated; `@name` as a
 * NUL byte then the name, its length counting no trailing NUL (abstract names
 * are compared with their exact length).
 */
function socketAddress(address: string): SocketAddress {
  const bytes = new Uint8Array(2 + SUN_PATH_BYTES);
  new DataView(bytes.buffer).setUint16(0, AF_UNIX, true);
  if (address.startsWith("/")) {
    const path = encoder.encode(address);
    if (path.includes(0)) return { problem: "the path contains a NUL byte" };
    if (path.length >= SUN_PATH_BYTES) {
      return { problem: `the path is longer than ${SUN_PATH_BYTES - 1} bytes` };
    }
    bytes.set(path, 2);
    return { bytes, length: 2 + path.length + 1 };
  }
  if (address.startsWith("@") && address.length > 1) {
    const name = encoder.encode(address.slice(1));
    if (1 + name.length > SUN_PATH_BYTES) {
      return { problem: `the abstract name is longer than ${SUN_PATH_BYTES - 1} bytes` };
    }
    bytes.set(name, 3); // bytes[2] stays 0: the abstract namespace
    return { bytes, length: 2 + 1 + name.length };
  }
  return {
    problem: 'expected an absolute path or an abstract name starting with "@"',
  };
}

/** The sending side: one socket, one datagram per message. */
class SocketNotifier implements Notifier, Disposable {
  readonly #address: string;
  readonly #target: SocketAddress;
  readonly #onError: (error: FlagstaffError) => void;
  #fd = -1;
  #closed = false;
  #failing = false;

  constructor(address: string, options: NotifierOptions) {
    this.#address = address;
    this.#target = socketAddress(address);
    this.#onError = options.onError ?? (() => {});
    sendLibc("use the notify socket"); // fail now, not at the first send, without --allow-ffi
  }

  send(message: string): boolean {
    const problem = this.#trySend(message);
    if (problem === undefined) {
      this.#failing = false;
      return true;
    }
    if (!this.#failing) {
      this.#failing = true;
      try {
        this.#onError(
          new FlagstaffError(NOTIFY_ERROR, `Cannot notify "${this.#address}": ${problem}`),
        );
      } catch {
        // A throwing callback must not turn into a throwing send.
      }
    }
    return false;
  }

  /** Sends `message`; returns what went wrong, or undefined. */
  #trySend(message: string): string | undefined {
    if (this.#closed) return "the notifier is closed";
    const target = this.#target;
    if ("problem" in target) return target.problem;
    const c = sendLibc("use the notify socket");
    if (this.#fd < 0) {
      const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return `cannot create a socket: ${describeErrno(undefined, c)}`;
      this.#fd = fd;
    }
    const data = encoder.encode(message);
    const flags = MSG_DONTWAIT | MSG_NOSIGNAL;
    const sent = c.sendto(this.#fd, data, BigInt(data.length), flags, target.bytes, target.length);
    if (sent < 0n) return describeErrno(undefined, c);
    if (sent !== BigInt(data.length)) return `sent ${sent} of ${data.length} bytes`;
    return undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#fd >= 0) sendLibc("use the notify socket").close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The notifier for the socket named in `env.NOTIFY_SOCKET`, or undefined when
 * it is unset or empty (not started by a service manager that listens). An
 * address that is neither a path nor an `@` name gives a notifier whose sends
 * fail through `onError`, as `sd_notify()` fails.
 *
 * Children inherit `NOTIFY_SOCKET`; remove it from their environment unless
 * they are meant to notify too.
 *
 * @param env Where to read `NOTIFY_SOCKET`: `{ NOTIFY_SOCKET: Deno.env.get("NOTIFY_SOCKET") }`
 *   needs only `--allow-env=NOTIFY_SOCKET` (`Deno.env.toObject()` needs all of `--allow-env`).
 * @throws {FlagstaffError} `permission` when `NOTIFY_SOCKET` is set and deno
 *   runs without `--allow-ffi`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notifierFromEnv } from "./notify.ts";
 * // Not under systemd: nothing to notify.
 * assert.equal(notifierFromEnv({}), undefined);
 * ```
 *
 * @example Under systemd (run with `--allow-ffi --allow-env=NOTIFY_SOCKET`)
 * ```ts ignore
 * import { notifierFromEnv } from "./notify.ts";
 * const notifier = notifierFromEnv({ NOTIFY_SOCKET: Deno.env.get("NOTIFY_SOCKET") }, {
 *   onError: (error) => console.warn(error.message),
 * });
 * notifier?.send("READY=1\nSTATUS=Running");
 * notifier?.close();
 * ```
 */
export function notifierFromEnv(
  env: NotifyEnv,
  options: NotifierOptions = {},
): Notifier | undefined {
  const address = env.NOTIFY_SOCKET;
  if (!address) return undefined;
  return new SocketNotifier(address, options);
}

/**
 * `CLOCK_MONOTONIC` in microseconds, as `MONOTONIC_USEC=` in a reload
 * notification needs it (`sd_notify(3)`: the same clock systemd reads, which
 * `performance.now()` is not).
 *
 * @throws {FlagstaffError} `permission` without `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import { monotonicUsec } from "./notify.ts";
 * const message = `RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}`;
 * ```
 */
export function monotonicUsec(): bigint {
  const timespec = new BigInt64Array(2); // tv_sec, tv_nsec
  const c = libc("read the monotonic clock");
  if (c.clock_gettime(CLOCK_MONOTONIC, timespec) !== 0) {
    // Cannot happen for CLOCK_MONOTONIC on Linux; say so rather than return 0.
    throw new Error(`clock_gettime(CLOCK_MONOTONIC) failed: ${describeErrno()}`);
  }
  return timespec[0] * 1_000_000n + timespec[1] / 1000n;
}

/** The environment variables {@link watchdogIntervalUs} reads. */
export interface WatchdogEnv {
  /** The watchdog timeout in microseconds, set by the service manager. */
  WATCHDOG_USEC?: string;
  /** The pid the watchdog is meant for; unset means this process. */
  WATCHDOG_PID?: string;
}

function parsePositiveInteger(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/**
 * How often to send `WATCHDOG=1`, in microseconds: half of `WATCHDOG_USEC`,
 * as `sd_watchdog_enabled(3)` advises. Undefined when the watchdog is off
 * for process `pid`: `WATCHDOG_USEC` unset or not a positive integer, or
 * `WATCHDOG_PID` set to another pid (or to something not a pid).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { watchdogIntervalUs } from "./notify.ts";
 * assert.equal(watchdogIntervalUs({ WATCHDOG_USEC: "30000000" }, 42), 15_000_000);
 * assert.equal(watchdogIntervalUs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "7" }, 42), undefined);
 * assert.equal(watchdogIntervalUs({}, 42), undefined);
 * ```
 */
export function watchdogIntervalUs(env: WatchdogEnv, pid: number): number | undefined {
  const timeoutUs = env.WATCHDOG_USEC === undefined
    ? undefined
    : parsePositiveInteger(env.WATCHDOG_USEC);
  if (timeoutUs === undefined) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== "") {
    if (parsePositiveInteger(env.WATCHDOG_PID) !== pid) return undefined;
  }
  return Math.floor(timeoutUs / 2);
}

/** Options for {@link NotifyListener.receive} and {@link NotifyListener.receiveMessage}. */
export interface NotifyReceiveOptions {
  /**
   * How long to wait for a message, in milliseconds; `Infinity` waits until
   * `signal` or {@link NotifyListener.close} stops the wait. Default 10000.
   */
  timeoutMs?: number;
  /** Stops the wait; the promise rejects with the signal's reason. Default: none. */
  signal?: AbortSignal;
}

/**
 * Who sent a message, as the kernel saw it (`SCM_CREDENTIALS`, `unix(7)`):
 * the sending process's pid (in this process's PID namespace; 0 when it is
 * not visible there), and its real uid and gid. An unprivileged sender cannot
 * forge them.
 */
export interface NotifySender {
  /** The sending process's pid. */
  pid: number;
  /** The sending process's uid. */
  uid: number;
  /** The sending process's gid. */
  gid: number;
}

/** One datagram received by a {@link NotifyListener}. */
export interface NotifyMessage {
  /** The datagram's text: newline-separated `KEY=value` assignments. */
  text: string;
  /** Its sender; undefined only when the kernel attached no credentials. */
  sender?: NotifySender;
}

/** Longest single `poll()`, in milliseconds: how soon an abort is noticed. */
const POLL_SLICE_MS = 50;
/** Largest message received whole, in bytes (systemd itself accepts 4096). */
const RECEIVE_BUFFER_BYTES = 65536;

// Linux's values and its LP64 layouts (`socket(7)`, `unix(7)`, `recvmsg(2)`).
const SOL_SOCKET = 1;
const SO_PASSCRED = 16;
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const MSG_CMSG_CLOEXEC = 0x40000000;
/** `struct msghdr`: name, namelen, iov, iovlen, control, controllen, flags. */
const MSGHDR_BYTES = 56;
const MSGHDR_IOV = 16;
const MSGHDR_IOVLEN = 24;
const MSGHDR_CONTROL = 32;
const MSGHDR_CONTROLLEN = 40;
/** `struct cmsghdr`: `size_t cmsg_len; int cmsg_level; int cmsg_type;`, then the data. */
const CMSG_HEADER_BYTES = 16;
/** `struct ucred`: `pid_t pid; uid_t uid; gid_t gid;`. */
const UCRED_BYTES = 12;
/**
 * Room for the credentials and for file descriptors that a sender may push
 * along (`SCM_RIGHTS`), which are closed at once; the kernel closes any that
 * do not fit.
 */
const CONTROL_BYTES = 256;

/** The address of `buffer`'s first byte, for a C struct that points to it. */
function addressOf(buffer: Uint8Array<ArrayBuffer>): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}

/**
 * The receiving end of a notify socket, as a service manager holds it: made by
 * {@link listenNotifySocket}. Messages queue in the kernel until received,
 * each with its sender's credentials (the socket has `SO_PASSCRED` on, as
 * systemd's has). It holds its own handle on the C library and closes it on
 * close, so a test that closes its listener leaks nothing.
 *
 * Anyone on the machine who may connect to the address can send to it (for
 * an abstract `@` name: every local user, who can read it in
 * `/proc/net/unix`), so trust a message by its
 * {@link NotifyMessage.sender}, never by its text.
 */
export class NotifyListener implements AsyncDisposable {
  /** The address to pass to a child as `NOTIFY_SOCKET`. */
  readonly address: string;
  readonly #library: LibcLibrary;
  readonly #fd: number;
  readonly #buffer = new Uint8Array(RECEIVE_BUFFER_BYTES);
  readonly #control = new Uint8Array(CONTROL_BYTES);
  readonly #iovec = new Uint8Array(16); // struct iovec { void *iov_base; size_t iov_len; }
  readonly #msghdr = new Uint8Array(MSGHDR_BYTES);
  readonly #polls = new Set<Promise<number>>();
  #closed = false;

  /** Use {@link listenNotifySocket}; the listener owns `library` and `fd`. */
  constructor(address: string, library: LibcLibrary, fd: number) {
    this.address = address;
    this.#library = library;
    this.#fd = fd;
    const iovec = new DataView(this.#iovec.buffer);
    iovec.setBigUint64(0, addressOf(this.#buffer), true);
    iovec.setBigUint64(8, BigInt(this.#buffer.length), true);
    const header = new DataView(this.#msghdr.buffer);
    header.setBigUint64(MSGHDR_IOV, addressOf(this.#iovec), true);
    header.setBigUint64(MSGHDR_IOVLEN, 1n, true);
    header.setBigUint64(MSGHDR_CONTROL, addressOf(this.#control), true);
  }

  /**
   * The next message's text, in the order they were sent, from any sender
   * (see {@link NotifyListener.receiveMessage} to know who sent it).
   *
   * @throws {Deno.errors.TimedOut} when none arrives within `timeoutMs`.
   * @throws {Deno.errors.BadResource} when the listener is closed.
   */
  async receive(options: NotifyReceiveOptions = {}): Promise<string> {
    return (await this.receiveMessage(options)).text;
  }

  /**
   * The next message and its sender, in the order they were sent. An abort
   * never loses a message: one that arrives as `signal` fires stays queued.
   *
   * @throws {Deno.errors.TimedOut} when none arrives within `timeoutMs`.
   * @throws {Deno.errors.BadResource} when the listener is closed.
   * @throws The `signal`'s reason when it fires first.
   */
  async receiveMessage(options: NotifyReceiveOptions = {}): Promise<NotifyMessage> {
    const { timeoutMs = 10_000, signal } = options;
    const deadlineMs = performance.now() + timeoutMs;
    const pollfd = new Uint8Array(8); // struct pollfd { int fd; short events, revents; }
    const view = new DataView(pollfd.buffer);
    view.setInt32(0, this.#fd, true);
    view.setInt16(4, POLLIN, true);
    while (true) {
      signal?.throwIfAborted();
      const message = this.receiveQueued();
      if (message) return message;
      const remainingMs = deadlineMs - performance.now();
      if (remainingMs <= 0) {
        throw new Deno.errors.TimedOut(
          `No notify message on "${this.address}" within ${timeoutMs} ms`,
        );
      }
      const sliceMs = Math.ceil(Math.min(remainingMs, POLL_SLICE_MS));
      const poll = this.#library.symbols.poll(pollfd, 1n, sliceMs);
      this.#polls.add(poll);
      try {
        await poll; // readable, timed out, or woken by close(): the loop tells which
      } finally {
        this.#polls.delete(poll);
      }
    }
  }

  /**
   * The next message already queued, or undefined when none is: never waits.
   * Messages sent before a sender exited are queued by then (a datagram is
   * queued when `sendto()` returns), so this drains everything a process
   * that has exited sent.
   *
   * @throws {Deno.errors.BadResource} when the listener is closed.
   */
  receiveQueued(): NotifyMessage | undefined {
    if (this.#closed) throw new Deno.errors.BadResource("The notify listener is closed");
    const c = this.#library.symbols;
    const header = new DataView(this.#msghdr.buffer);
    while (true) {
      header.setBigUint64(MSGHDR_CONTROLLEN, BigInt(this.#control.length), true);
      const received = c.recvmsg(this.#fd, this.#msghdr, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (received >= 0n) {
        const text = decoder.decode(this.#buffer.subarray(0, Number(received)));
        const controlBytes = Number(header.getBigUint64(MSGHDR_CONTROLLEN, true));
        return { text, sender: this.#senderOf(controlBytes) };
      }
      const code = errno(c);
      if (code === EAGAIN) return undefined;
      if (code !== EINTR) {
        throw new Error(`Cannot receive on "${this.address}": ${describeErrno(code, c)}`);
      }
    }
  }

  /** Reads the credentials in the control data; closes any file descriptor sent along. */
  #senderOf(controlBytes: number): NotifySender | undefined {
    const control = new DataView(this.#control.buffer, 0, Math.min(controlBytes, CONTROL_BYTES));
    let sender: NotifySender | undefined;
    let offset = 0;
    while (offset + CMSG_HEADER_BYTES <= control.byteLength) {
      const length = Number(control.getBigUint64(offset, true));
      if (length < CMSG_HEADER_BYTES || offset + length > control.byteLength) break;
      const level = control.getInt32(offset + 8, true);
      const type = control.getInt32(offset + 12, true);
      const data = offset + CMSG_HEADER_BYTES;
      if (
        level === SOL_SOCKET && type === SCM_CREDENTIALS &&
        length >= CMSG_HEADER_BYTES + UCRED_BYTES
      ) {
        sender = {
          pid: control.getInt32(data, true),
          uid: control.getUint32(data + 4, true),
          gid: control.getUint32(data + 8, true),
        };
      } else if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        for (let at = data; at + 4 <= offset + length; at += 4) {
          this.#library.symbols.close(control.getInt32(at, true));
        }
      }
      offset += Math.ceil(length / 8) * 8; // CMSG_ALIGN
    }
    return sender;
  }

  /** Wakes pending receives, closes the socket and removes its file (for a path). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const c = this.#library.symbols;
    c.shutdown(this.#fd, SHUT_RDWR); // wakes a poll() in flight
    await Promise.allSettled([...this.#polls]);
    c.close(this.#fd);
    this.#library.close();
    if (this.address.startsWith("/")) {
      await Deno.remove(this.address).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
  }

  /** Same as {@link NotifyListener.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Binds a notify socket at `address` (a path, which must not exist yet, or an
 * `@` abstract name), with `SO_PASSCRED` on so that each message comes with
 * its sender's credentials, and returns its listener: for `--daemon`'s
 * handshake, and for tests that check what a process sends when started with
 * `NOTIFY_SOCKET` set to `listener.address`. Needs `--allow-ffi`, and
 * `--allow-write` to remove a path socket on close.
 *
 * @throws {FlagstaffError} `usage` when the address is invalid or cannot be
 *   bound; `permission` without `--allow-ffi`.
 *
 * @example (not run as a doc test: the notifier keeps the C library open, which the sanitizer flags)
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { listenNotifySocket, notifierFromEnv } from "./notify.ts";
 * await using listener = listenNotifySocket(`@flagstaff-example-${Deno.pid}`);
 * const notifier = notifierFromEnv({ NOTIFY_SOCKET: listener.address })!;
 * notifier.send("READY=1");
 * notifier.close();
 * const message = await listener.receiveMessage({ timeoutMs: 1000 });
 * assert.deepEqual([message.text, message.sender?.pid], ["READY=1", Deno.pid]);
 * ```
 */
export function listenNotifySocket(address: string): NotifyListener {
  const target = socketAddress(address);
  if ("problem" in target) {
    throw new FlagstaffError("usage", `Cannot listen on "${address}": ${target.problem}`);
  }
  const library = openLibc("listen on a notify socket");
  const c = library.symbols;
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const on = new Int32Array([1]);
  // SO_PASSCRED before bind: no message can arrive without credentials.
  const problem = fd < 0
    ? describeErrno(undefined, c)
    : c.setsockopt(fd, SOL_SOCKET, SO_PASSCRED, on, on.byteLength) !== 0
    ? `cannot ask for credentials: ${describeErrno(undefined, c)}`
    : c.bind(fd, target.bytes, target.length) !== 0
    ? describeErrno(undefined, c)
    : undefined;
  if (problem !== undefined) {
    if (fd >= 0) c.close(fd);
    library.close();
    throw new FlagstaffError("usage", `Cannot listen on "${address}": ${problem}`);
  }
  return new NotifyListener(address, library, fd);
}
