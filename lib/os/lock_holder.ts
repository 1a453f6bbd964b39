/**
 * Whether a process itself holds the `flock(2)` lock that `/proc/locks`
 * names it for. `/proc/locks` gives the pid of the process that took a
 * lock, but the lock belongs to the open file: the taker may have handed it
 * to a child (by `fork`) and ended, or closed its own descriptor. The table
 * then still names that pid: a process that no longer runs, or, once the
 * pid is given out again, an unrelated one. {@link checkLockHolder} looks at
 * the process itself: it must run (`kill(pid, 0)`), and one of its open
 * descriptors must be an open file that holds the exclusive lock on that
 * file. `/proc/<pid>/fdinfo/<fd>` lists the locks of the descriptor's open
 * file as `lock:` lines in `/proc/locks`' format, device and inode included
 * (`proc(5)`), so a descriptor of the same file opened apart, without the
 * lock, does not count.
 *
 * Reading `/proc/<pid>/fd` takes root or the process's own user (and not
 * even that user once the process changed user, which makes it
 * non-dumpable): otherwise nothing can be told, and the check says so.
 *
 * Through libc (`--allow-ffi`), as `flock.ts` reads `/proc/locks`. Linux
 * only; private to `lib/`.
 *
 * @module
 */

import { cString, errno, fileLibc } from "./_libc.ts";
import type { FileStat } from "./file_stat.ts";
import { flockOn } from "./flock.ts";
import { ENOENT, EPERM, OsError } from "./os_error.ts";
import { closeFd, O_RDONLY, openNoFollow, readAtMost } from "./safe_file.ts";

/** `ESRCH`: no process has that pid. */
const ESRCH = 3;
/** Offset of `d_name` in glibc's `struct dirent` on 64-bit Linux. */
const D_NAME_OFFSET = 19;
/** The most of one `fdinfo` file read: its `lock:` lines follow a few short ones. */
const FDINFO_LIMIT_BYTES = 16 * 1024;
/** The most of `/proc/<pid>/comm` read (the kernel keeps 16 bytes). */
const COMM_LIMIT_BYTES = 64;

/** What {@link checkLockHolder} found. */
export type LockHolderCheck =
  /** The process runs and one of its descriptors holds the exclusive lock. */
  | { kind: "holds" }
  /**
   * It does not hold it: `found` says what is there instead, for a message:
   * `pid 1234 no longer runs`, `pid 1234 ("sleep") runs, but none of its
   * open files holds the lock`.
   */
  | { kind: "not_held"; found: string }
  /** Nothing can be told: `reason` says why (`cannot read "/proc/1234/fd": …`). */
  | { kind: "unknown"; reason: string };

/** Options for {@link checkLockHolder}. */
export interface CheckLockHolderOptions {
  /** Where `proc(5)` is mounted. Default `/proc`. */
  procPath?: string;
}

/**
 * Checks that the process `pid` runs and holds the exclusive `flock` on the
 * file `stat` describes through one of its own descriptors (see the module
 * doc). Call it for the pid `/proc/locks` names as the holder.
 *
 * @throws {FlagstaffError} `permission` without `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { closeFd, O_RDONLY, openNoFollow } from "./safe_file.ts";
 * import { fstatFd } from "./file_stat.ts";
 * import { tryFlock } from "./flock.ts";
 * import { checkLockHolder } from "./lock_holder.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/f`, "");
 * const fd = openNoFollow(`${dir}/f`, O_RDONLY);
 * const stat = fstatFd(fd);
 * assert.equal(checkLockHolder(Deno.pid, stat).kind, "not_held");
 * tryFlock(fd, true);
 * assert.deepEqual(checkLockHolder(Deno.pid, stat), { kind: "holds" });
 * closeFd(fd);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function checkLockHolder(
  pid: number,
  stat: Pick<FileStat, "devMajor" | "devMinor" | "ino">,
  options: CheckLockHolderOptions = {},
): LockHolderCheck {
  if (!Number.isInteger(pid) || pid <= 0) return unknown(`${pid} is not a pid`);
  const proc = options.procPath ?? "/proc";
  const gone: LockHolderCheck = { kind: "not_held", found: `pid ${pid} no longer runs` };
  const c = fileLibc();
  if (c.kill(pid, 0) !== 0) {
    const code = errno(c);
    if (code === ESRCH) return gone;
    if (code !== EPERM) return unknown(new OsError("kill", String(pid), code).reason);
  }
  const fdDir = `${proc}/${pid}/fd`;
  const dir = c.opendir(cString(fdDir));
  if (dir === null) {
    const code = errno(c);
    if (code === ENOENT) return gone;
    return unknown(`cannot read "${fdDir}": ${new OsError("opendir", fdDir, code).reason}`);
  }
  const fds: string[] = [];
  try {
    for (let entry = c.readdir(dir); entry !== null; entry = c.readdir(dir)) {
      const name = Deno.UnsafePointerView.getCString(entry, D_NAME_OFFSET);
      if (/^[0-9]+$/.test(name)) fds.push(name);
    }
  } finally {
    c.closedir(dir);
  }
  for (const fd of fds) {
    const path = `${proc}/${pid}/fdinfo/${fd}`;
    const info = readProcFile(path, FDINFO_LIMIT_BYTES);
    if (info instanceof OsError) {
      if (info.errno === ENOENT) continue; // closed meanwhile
      return unknown(`cannot read "${path}": ${info.reason}`);
    }
    for (const line of info.split("\n")) {
      if (!line.startsWith("lock:")) continue;
      if (flockOn(line.slice("lock:".length).trimStart(), stat)?.exclusive) {
        return { kind: "holds" };
      }
    }
  }
  const comm = readProcFile(`${proc}/${pid}/comm`, COMM_LIMIT_BYTES);
  const named = typeof comm === "string" ? ` (${JSON.stringify(comm.trimEnd())})` : "";
  return {
    kind: "not_held",
    found: `pid ${pid}${named} runs, but none of its open files holds the lock`,
  };
}

function unknown(reason: string): LockHolderCheck {
  return { kind: "unknown", reason };
}

/** The text of a small `/proc` file, or the error that kept it from being read. */
function readProcFile(path: string, maxBytes: number): string | OsError {
  let fd: number;
  try {
    fd = openNoFollow(path, O_RDONLY);
  } catch (error) {
    if (error instanceof OsError) return error;
    throw error;
  }
  try {
    return new TextDecoder().decode(readAtMost(fd, maxBytes));
  } catch (error) {
    if (error instanceof OsError) return error;
    throw error;
  } finally {
    closeFd(fd);
  }
}
