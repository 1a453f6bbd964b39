/**
 * A unix socket address as `NOTIFY_SOCKET` gives it (`sd_notify(3)`): a
 * filesystem path starting with `/`, or an abstract name starting with `@`,
 * whose `@` stands for a NUL byte (`unix(7)`), encoded as the
 * `struct sockaddr_un` that `sendto(2)` and `bind(2)` take. Shared by the
 * notifier (`notify.ts`) and the listener (`notify_listener.ts`).
 *
 * @module
 */

import { AF_UNIX, SUN_PATH_BYTES } from "./_libc.ts";

/** A `struct sockaddr_un` and the length to pass with it, or why there is none. */
export type SocketAddress = { bytes: Uint8Array<ArrayBuffer>; length: number } | {
  problem: string;
};

const encoder = new TextEncoder();

/**
 * Encodes `address` as `sockaddr_un`: `/path` NUL-terminated; `@name` as a
 * NUL byte then the name, its length counting no trailing NUL (abstract names
 * are compared with their exact length).
 */
export function socketAddress(address: string): SocketAddress {
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
