/**
 * The receiving end of the systemd notify protocol (`sd_notify(3)`), as a
 * service manager holds it: {@link listenNotifySocket} binds a unix datagram
 * socket at a `NOTIFY_SOCKET` address (a path, or an `@` abstract name) and
 * returns a {@link NotifyListener}, whose messages come with each sender's
 * kernel-verified credentials (`SO_PASSCRED` and `SCM_CREDENTIALS`,
 * `unix(7)`; received with `recvmsg(2)`). For `--daemon`'s ready handshake,
 * and for tests that check what a process sends through `notify.ts`.
 *
 * Deno has no stable unix datagram sockets, so this module calls the C
 * library through FFI and needs `--allow-ffi`. Linux only.
 *
 * @module
 */

import {
  AF_UNIX,
  describeErrno,
  EAGAIN,
  EINTR,
  errno,
  type LibcLibrary,
  MSG_DONTWAIT,
  openLibc,
  POLLIN,
  SHUT_RDWR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
} from "./_libc.ts";
import { socketAddress } from "./_sockaddr.ts";
import { FlagstaffError } from "../core/errors.ts";

const decoder = new TextDecoder();

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
 * import { listenNotifySocket } from "./notify_listener.ts";
 * import { notifierFromEnv } from "./notify.ts";
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
