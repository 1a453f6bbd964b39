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
 * `notify_listener.ts` is the other side, with each sender's
 * kernel-verified credentials: for `--daemon`'s ready handshake, and for
 * tests that check what a process sends.
 *
 * @module
 */

import {
  AF_UNIX,
  CLOCK_MONOTONIC,
  describeErrno,
  libc,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  sendLibc,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
} from "./_libc.ts";
import { type SocketAddress, socketAddress } from "./_sockaddr.ts";
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

const encoder = new TextEncoder();

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
