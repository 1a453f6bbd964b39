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
 * `/proc/locks` names the process that took a lock, but the lock belongs to
 * the open file, which that process may have handed to a child before it
 * ended (any user who can read the pidfile can lock it, and can fork until
 * it gets the pid a killed instance left in it). So the named process is
 * checked too (`lock_holder.ts`): it must run and hold the lock through one
 * of its own descriptors. When it is seen not to (it no longer runs, or
 * none of its open files holds the lock: an inherited lock, a reused pid),
 * its lock counts no more than any other: the file is stale, `run` replaces
 * it and nothing is signalled ({@link PidfileLocks.notHeld} says what was
 * found). The running flagstaff always passes: it holds its pidfile open
 * and locked, close-on-exec, from before the file has its name until after
 * it is removed. When the check cannot be made (another user's process, not
 * root), the lock counts and {@link PidfileLocks.unchecked} says why: `run`
 * refuses, and `status`, `stop`, `reload` and `signal` neither report nor
 * signal it.
 *
 * @module
 */

import type { FileStat } from "./file_stat.ts";
import { type FlockHolder, flockHolders, tryFlock, unlockFd } from "./flock.ts";
import { checkLockHolder } from "./lock_holder.ts";
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
   * When {@link PidfileLocks.ownerPid} is set: why it could not be checked
   * that the process holds the lock itself (`cannot read "/proc/1234/fd":
   * permission denied (errno 13)`); undefined when it was checked.
   */
  unchecked?: string;
  /**
   * When `/proc/locks` names the pid in the file as the exclusive lock's
   * holder but the process does not hold it: what was found (`pid 1234 no
   * longer runs`, `pid 1234 ("sleep") runs, but none of its open files holds
   * the lock`). The file is then stale, and that lock is in
   * {@link PidfileLocks.ignored}.
   */
  notHeld?: string;
  /**
   * Every other `flock` on the file, from `/proc/locks`: ignored, they make
   * nothing run (a reader's shared lock, another user's lock on a stale
   * file, an exclusive lock held by a process that is not the pid in it, or
   * one the pid in it does not hold itself).
   */
  ignored: FlockHolder[];
}

/**
 * Decides whether the pidfile open as `fd` (`stat`, holding `pid`) runs: the
 * one rule of the module doc, the lock's holder checked (`lock_holder.ts`). A shared `flock` probe, given back at once,
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
    if (owner >= 0) {
      const check = checkLockHolder(pid!, stat);
      if (check.kind === "not_held") {
        return { ownerPid: undefined, notHeld: check.found, ignored: holders };
      }
      const ignored = holders.filter((_, i) => i !== owner);
      if (check.kind === "unknown") return { ownerPid: pid, unchecked: check.reason, ignored };
      return { ownerPid: pid, ignored };
    }
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
