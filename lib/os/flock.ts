/**
 * `flock(2)` locks: {@link tryFlock} takes one without waiting,
 * {@link unlockFd} gives it back, and {@link flockHolders} reads
 * `/proc/locks` (`proc(5)`) to tell which process holds one on a file, so a
 * pid written in a file can be checked against it. A flock belongs to the
 * open file, not the process: a second open of the same file, even in this
 * process, sees it.
 *
 * Through libc (`--allow-ffi`; reading `/proc/locks` through Deno would need
 * `--allow-all`). Linux only; private to `lib/`.
 *
 * @module
 */

import { EAGAIN, EINTR, errno, fileLibc } from "./_libc.ts";
import type { FileStat } from "./file_stat.ts";
import { OsError } from "./os_error.ts";
import { closeFd, O_RDONLY, openNoFollow, readAtMost } from "./safe_file.ts";

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/**
 * `flock(fd, LOCK_SH|LOCK_EX | LOCK_NB)`: takes the lock if nobody holds a
 * conflicting one, without waiting. A shared probe succeeds unless someone
 * holds the exclusive lock. Release with {@link unlockFd} (or close).
 *
 * @param exclusive Take the exclusive lock (`LOCK_EX`) rather than a shared one.
 * @returns Whether the lock was taken; false when another open file holds it.
 * @throws {OsError} on other errors.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { closeFd, O_RDONLY, openNoFollow } from "./safe_file.ts";
 * import { tryFlock } from "./flock.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/f`, "");
 * const [a, b] = [openNoFollow(`${dir}/f`, O_RDONLY), openNoFollow(`${dir}/f`, O_RDONLY)];
 * assert.equal(tryFlock(a, true), true);
 * assert.equal(tryFlock(b, false), false, "a flock belongs to the open file");
 * closeFd(a);
 * assert.equal(tryFlock(b, false), true);
 * closeFd(b);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function tryFlock(fd: number, exclusive: boolean): boolean {
  const c = fileLibc();
  for (;;) {
    if (c.flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) === 0) return true;
    const code = errno(c);
    if (code === EAGAIN) return false;
    if (code !== EINTR) throw new OsError("flock", `fd ${fd}`, code);
  }
}

/** `flock(fd, LOCK_UN)`: gives back a lock {@link tryFlock} took. */
export function unlockFd(fd: number): void {
  fileLibc().flock(fd, LOCK_UN);
}

/** One `flock(2)` lock on a file, from `/proc/locks`. */
export interface FlockHolder {
  /**
   * The process that took it, as this process's PID namespace sees it: 0
   * when it is outside that namespace. Children that inherited the open file
   * share the lock but are not listed.
   */
  pid: number;
  /** Whether it is the exclusive (`WRITE`) lock. */
  exclusive: boolean;
}

/** One `/proc/locks` line: `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`; waiters have `->`. */
const LOCK_LINE = /^\d+:\s+FLOCK\s+\S+\s+(READ|WRITE)\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/;

/**
 * The `flock` lock a `/proc/locks` line (or the rest of a `lock:` line of
 * `/proc/<pid>/fdinfo/<fd>`) describes, when it is one on the file `stat`
 * describes (device `major:minor` and inode); undefined for any other line,
 * a waiter's (`->`) included.
 */
export function flockOn(
  line: string,
  stat: Pick<FileStat, "devMajor" | "devMinor" | "ino">,
): FlockHolder | undefined {
  const match = LOCK_LINE.exec(line);
  if (
    !match || parseInt(match[3], 16) !== stat.devMajor ||
    parseInt(match[4], 16) !== stat.devMinor || BigInt(match[5]) !== stat.ino
  ) {
    return undefined;
  }
  return { pid: Math.max(0, Number(match[2])), exclusive: match[1] === "WRITE" };
}

/** Options for {@link flockHolders}. */
export interface FlockHoldersOptions {
  /** The lock table to read. Default `/proc/locks`. */
  locksPath?: string;
}

/**
 * The processes holding a `flock(2)` lock on the file `stat` describes
 * (matched by device `major:minor` and inode), read from `/proc/locks` in
 * chunks (memory stays small however many locks the system has). Processes
 * waiting for the lock are not holders.
 *
 * @throws {OsError} when the table cannot be read.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { closeFd, O_RDONLY, openNoFollow } from "./safe_file.ts";
 * import { fstatFd } from "./file_stat.ts";
 * import { flockHolders, tryFlock } from "./flock.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/f`, "");
 * const fd = openNoFollow(`${dir}/f`, O_RDONLY);
 * tryFlock(fd, true);
 * assert.deepEqual(flockHolders(fstatFd(fd)), [{ pid: Deno.pid, exclusive: true }]);
 * closeFd(fd);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function flockHolders(
  stat: Pick<FileStat, "devMajor" | "devMinor" | "ino">,
  options: FlockHoldersOptions = {},
): FlockHolder[] {
  const path = options.locksPath ?? "/proc/locks";
  const fd = openNoFollow(path, O_RDONLY);
  const holders: FlockHolder[] = [];
  try {
    const decoder = new TextDecoder();
    let rest = "";
    for (;;) {
      const chunk = readAtMost(fd, 65536);
      const text = rest + decoder.decode(chunk, { stream: chunk.length > 0 });
      const lines = text.split("\n");
      rest = chunk.length === 0 ? "" : lines.pop()!;
      for (const line of lines) {
        const holder = flockOn(line, stat);
        if (holder) holders.push(holder);
      }
      if (chunk.length === 0) return holders;
    }
  } finally {
    closeFd(fd);
  }
}
