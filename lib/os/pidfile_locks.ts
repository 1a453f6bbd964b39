/**
 * The one rule that says whether a pidfile's instance runs. The lock, not
 * the file, says who runs, and only one lock counts: an instance runs when
 * the process whose pid is in the file holds the file's exclusive (`WRITE`)
 * `flock(2)` lock, as `/proc/locks` tells (matched by device and inode).
 * Every other lock is ignored: a shared lock (a reader's, or another user's:
 * a pidfile is readable by all, and `flock` works on a read-only
 * descriptor), and an exclusive one held by a process that is not the pid in
 * the file (or that `/proc/locks` shows as pid 0, outside this PID
 * namespace). A pidfile whose pid holds no exclusive lock was left by a
 * process that died (the kernel drops the lock however the holder ends, even
 * on `SIGKILL`): it is stale. `acquirePidfile()` (`pidfile.ts`), `status`,
 * `stop`, `reload` and `signal` all decide through {@link inspectLocks}, so
 * they always agree; another user who holds a lock on a stale pidfile keeps
 * nobody from starting.
 *
 * `/proc/locks` is checked against the kernel: a shared `flock` probe, given
 * back at once, fails when anyone holds the exclusive lock. When the probe
 * fails but `/proc/locks` lists no exclusive lock on the file (a file system
 * whose device numbers `/proc/locks` does not match), nobody can tell who
 * runs: every command refuses the pidfile rather than guess.
 *
 * A process that took the pid in a stale pidfile (pid reuse) and locks that
 * file exclusively makes it look running: that takes a process of that pid,
 * which the system gives out again only after a full cycle of pids.
 *
 * @module
 */

import type { FileStat } from "./file_stat.ts";
import { type FlockHolder, flockHolders, tryFlock, unlockFd } from "./flock.ts";
import { osMessage, PIDFILE_ERROR } from "./_pidfile_trust.ts";
import { FlagstaffError } from "../core/errors.ts";

/**
 * How many times to look again when the probe says the file is locked
 * exclusively but `/proc/locks` lists no exclusive lock on it: a holder that
 * ended between the two looks, or one that locks and unlocks in a loop.
 */
const MAX_LOCK_LOOKS = 20;

/** Who holds locks on a pidfile, and whether that makes its instance run. */
export interface PidfileLocks {
  /**
   * The running instance: the pid in the file, when that process holds the
   * file's exclusive lock; undefined when none runs (the file is stale).
   */
  ownerPid: number | undefined;
  /**
   * Every other `flock` on the file, from `/proc/locks`: ignored, they make
   * nothing run (a reader's shared lock, another user's lock on a stale
   * file, an exclusive lock held by a process that is not the pid in it).
   */
  ignored: FlockHolder[];
}

/**
 * Decides whether the pidfile open as `fd` (`stat`, holding `pid`) runs: the
 * one rule of the module doc. A shared `flock` probe, given back at once,
 * checks `/proc/locks` against the kernel: when the probe meets an exclusive
 * lock that `/proc/locks`, read just after, does not list, it looks again
 * (the holder may have ended in between, or lock and unlock in a loop); when
 * that persists, the table does not describe this file, and nobody can tell.
 *
 * @throws {FlagstaffError} `pidfile` when `/proc/locks` cannot be read, or
 *   keeps listing no exclusive lock on a file the probe finds locked.
 */
export function inspectLocks(
  path: string,
  fd: number,
  stat: FileStat,
  pid: number | undefined,
): PidfileLocks {
  for (let look = 1;; look++) {
    const free = tryFlock(fd, false);
    if (free) unlockFd(fd);
    let holders: FlockHolder[];
    try {
      holders = flockHolders(stat);
    } catch (error) {
      throw new FlagstaffError(
        PIDFILE_ERROR,
        `Cannot tell who holds pidfile "${path}": cannot read "/proc/locks": ${osMessage(error)}`,
        { cause: error },
      );
    }
    const owner = holders.findIndex((lock) => lock.exclusive && lock.pid !== 0 && lock.pid === pid);
    if (owner >= 0) return { ownerPid: pid, ignored: holders.filter((_, i) => i !== owner) };
    if (free || holders.some((lock) => lock.exclusive)) {
      return { ownerPid: undefined, ignored: holders };
    }
    if (look >= MAX_LOCK_LOOKS) {
      throw new FlagstaffError(
        PIDFILE_ERROR,
        `Cannot tell who holds pidfile "${path}": it is locked, but "/proc/locks" lists no lock on it`,
      );
    }
  }
}
