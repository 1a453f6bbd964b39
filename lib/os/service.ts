/**
 * Operating a running instance through its pidfile: `status`, `stop`,
 * `reload` and `signal`. Whether an instance runs is decided by the one rule
 * that `acquirePidfile()` uses too ({@link OpenPidfile.locks}): the process
 * whose pid is in the pidfile holds its exclusive lock (the running
 * flagstaff holds it for its whole life), as `/proc/locks` tells. Any other
 * lock (a shared one, another user's, an exclusive one held by a process
 * that is not the pid in the file) is ignored: the file is stale, exactly
 * when `run` would replace it. So a pid is signalled only when it is that
 * holder: a stale file never leads to signalling an unrelated process that
 * reused the pid, nor a process that merely locks the file. And that holder
 * is checked to be the process itself, not one that took the lock and handed
 * it to a child before it ended (`lock_holder.ts`): then the file is stale,
 * and what was found is said ({@link ServiceStatus.lockNotHeld}). When the
 * check cannot be made (`/proc/<pid>/fd` unreadable: another user's process,
 * not root), `status` says so (exit 4) and nothing is signalled
 * (`unchecked_instance`, exit 4). The file is opened safely and, as root,
 * refused when another user could change it ({@link openPidfile}); it must
 * have one link (`_pidfile_trust.ts`).
 *
 * @module
 */

import { delay } from "../core/delay.ts";
import { FlagstaffError } from "../core/errors.ts";
import type { FlockHolder } from "./flock.ts";
import { type OpenPidfile, openPidfile } from "./open_pidfile.ts";

/** LSB `status` exit code for a service that is not running. */
export const EXIT_NOT_RUNNING = 3;

/**
 * How often `stop` looks whether the instance let go of its lock, at most, in
 * milliseconds: it looks after 1 ms, then twice as long each time up to this
 * (an instance usually stops within a few milliseconds of TERM).
 */
const RELEASE_POLL_MS = 20;
/** How many times to look again when the pidfile is replaced while it is read. */
const MAX_LOOKS = 5;

/** What `status` found. */
export interface ServiceStatus {
  /** Whether the instance runs: the pid in the pidfile holds its exclusive lock. */
  running: boolean;
  /** The pid in the pidfile, when there is one. */
  pid?: number;
  /** Seconds since the pidfile was written (the instance started), when running. */
  uptimeS?: number;
  /** Whether a pidfile exists whose pid holds no lock on it (left by a crash). */
  stale: boolean;
  /**
   * When stale, the locks other processes hold on it, ignored: they make
   * nothing run, and `run` replaces the file all the same. Worth saying: a
   * lock of another user may be an attempt to keep the daemon from starting.
   */
  ignoredLocks?: FlockHolder[];
  /**
   * When stale because the lock in the name of its pid is not that
   * process's own: what was found (`pid 1234 no longer runs`).
   */
  lockNotHeld?: string;
  /**
   * When running, but whether the pid holds the lock itself could not be
   * checked: why (`cannot read "/proc/1234/fd": …`). Nothing is signalled then.
   */
  unchecked?: string;
}

/** A running instance: its pidfile, open, and its pid (the lock holder's). */
interface Instance {
  file: OpenPidfile;
  pid: number;
}

/**
 * Opens `pidfile` and finds whether its instance runs. Returns the open
 * file and the pid when it runs (the caller closes it), else what `status`
 * says.
 *
 * @throws {FlagstaffError} `pidfile` when the file is refused, or when who
 *   holds it cannot be told.
 */
function findInstance(pidfile: string): Instance | ServiceStatus {
  for (let look = 1;; look++) {
    const file = openPidfile(pidfile);
    if (file === undefined) return { running: false, stale: false };
    let keep = false;
    try {
      const locks = file.locks();
      if (locks.ownerPid !== undefined && locks.unchecked !== undefined) {
        return { running: true, pid: locks.ownerPid, stale: false, unchecked: locks.unchecked };
      }
      if (locks.ownerPid !== undefined) {
        keep = true;
        return { file, pid: locks.ownerPid };
      }
      // A starter replaced it, or its instance removed it, meanwhile: look at the path again.
      if (look < MAX_LOOKS && !file.isCurrent()) continue;
      const stale = { running: false, pid: file.pid, stale: true, ignoredLocks: locks.ignored };
      return locks.notHeld === undefined ? stale : { ...stale, lockNotHeld: locks.notHeld };
    } finally {
      if (!keep) file.close();
    }
  }
}

/**
 * Reads the state of the instance that owns `pidfile`.
 *
 * @throws {FlagstaffError} `pidfile` (exit 1) when the pidfile is refused
 *   (see {@link openPidfile}), or who holds it cannot be told.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { serviceStatus } from "./service.ts";
 * assert.deepEqual(await serviceStatus("/nonexistent/app.pid"), { running: false, stale: false });
 * ```
 */
export function serviceStatus(pidfile: string): Promise<ServiceStatus> {
  return Promise.try(() => {
    const found = findInstance(pidfile);
    if (!("file" in found)) return found;
    using file = found.file;
    const uptimeS = Math.max(0, (Date.now() - file.stat.mtimeMs) / 1000);
    return { running: true, pid: found.pid, uptimeS, stale: false };
  });
}

/** `3723` → `1h 2m 3s`. */
export function formatUptime(seconds: number): string {
  const s = Math.floor(seconds);
  const parts = [[Math.floor(s / 86400), "d"], [Math.floor(s / 3600) % 24, "h"], [
    Math.floor(s / 60) % 60,
    "m",
  ]]
    .filter(([n]) => n).map(([n, unit]) => `${n}${unit}`);
  return [...parts, `${s % 60}s`].join(" ");
}

/**
 * Sends `signal` to the running instance: the pid the pidfile names, when
 * that process holds the file's exclusive lock.
 *
 * @returns The pid signalled.
 * @throws {FlagstaffError} `not_running` when no instance runs (no pidfile,
 *   or a stale one, whatever other locks it has); `unchecked_instance` when
 *   whether the pid holds the lock itself cannot be checked;
 *   `pidfile` when it is refused (as {@link serviceStatus}).
 */
export function signalService(pidfile: string, signal: Deno.Signal): Promise<number> {
  return Promise.try(() => {
    const found = findInstance(pidfile);
    if (!("file" in found)) throw notRunning(pidfile, found);
    using _file = found.file;
    Deno.kill(found.pid, signal);
    return found.pid;
  });
}

/**
 * Why nothing is signalled: `not_running` (exit 3) when no instance runs,
 * `unchecked_instance` (exit 4) when the lock's holder cannot be checked.
 */
function notRunning(pidfile: string, status: ServiceStatus): FlagstaffError {
  if (status.unchecked !== undefined) {
    return new FlagstaffError(
      "unchecked_instance",
      `Not signalling pid ${status.pid}: ${uncheckedReason(pidfile, status)}`,
    );
  }
  return new FlagstaffError(
    "not_running",
    status.stale
      ? `Not running (pidfile "${pidfile}" is stale${staleReason(pidfile, status)})`
      : `Not running (no pidfile "${pidfile}")`,
  );
}

/**
 * Why a pidfile is stale, for the end of a message: `: pid 1234 holds no
 * lock`, or what was found of the pid its lock is in the name of.
 */
export function staleReason(pidfile: string, status: ServiceStatus): string {
  if (status.lockNotHeld !== undefined) {
    return `: its lock is in the name of pid ${status.pid}, but ${status.lockNotHeld}; ` +
      `another process holds it through an inherited descriptor: find it with "fuser -v ${pidfile}"`;
  }
  return status.pid ? `: pid ${status.pid} holds no lock` : "";
}

/** Why it cannot be told whether the pid of a running status holds the lock itself. */
export function uncheckedReason(pidfile: string, status: ServiceStatus): string {
  return `the lock of pidfile "${pidfile}" is in its name, but whether it holds it itself ` +
    `cannot be checked: ${status.unchecked} (root can check it)`;
}

/** Options for {@link stopService}. */
export interface StopServiceOptions {
  /** Seconds to wait for the exit. Default 10. */
  timeoutS?: number;
  /** Send KILL when the timeout runs out. Default false. */
  force?: boolean;
}

/** How a stop ended. */
export interface StopResult {
  /** The pid stopped, when one ran. */
  pid?: number;
  /** Whether it was running at all. */
  wasRunning: boolean;
  /** Whether KILL was needed. */
  killed: boolean;
  /**
   * When not running and the pidfile's lock is in the name of its pid but
   * not that process's own: why it is stale, for the end of a message
   * (`: its lock is in the name of pid 1234, but …`).
   */
  stale?: string;
}

/**
 * Sends TERM to the running instance (as {@link signalService} finds it) and
 * waits until it lets go of its pidfile lock (the last thing it does),
 * optionally KILL after the timeout, if the same process still holds it.
 * Then removes the pidfile if the instance left it (it had dropped
 * privileges and could not, or was killed).
 *
 * @throws {FlagstaffError} `stop_failed` when it still runs after the
 *   timeout; `unchecked_instance` when whether the pid holds the lock
 *   itself cannot be checked (nothing is sent); `pidfile` when the pidfile
 *   is refused.
 */
export async function stopService(
  pidfile: string,
  options: StopServiceOptions = {},
): Promise<StopResult> {
  const found = findInstance(pidfile);
  if (!("file" in found)) {
    if (found.unchecked !== undefined) throw notRunning(pidfile, found);
    return found.lockNotHeld === undefined
      ? { wasRunning: false, killed: false }
      : { wasRunning: false, killed: false, stale: staleReason(pidfile, found) };
  }
  using file = found.file;
  const pid = found.pid;
  const timeoutS = options.timeoutS ?? 10;
  Deno.kill(pid, "SIGTERM");
  if (await waitForRelease(file, timeoutS * 1000)) {
    await file.removeIfStale();
    return { pid, wasRunning: true, killed: false };
  }
  if (!options.force) {
    throw new FlagstaffError(
      "stop_failed",
      `Pid ${pid} is still running ${timeoutS} s after TERM (use --force to send KILL)`,
    );
  }
  // KILL only the process that still holds this very file's lock, checked.
  const locks = file.locks();
  if (locks.ownerPid !== pid || locks.unchecked !== undefined) {
    await file.removeIfStale();
    return { pid, wasRunning: true, killed: false };
  }
  Deno.kill(pid, "SIGKILL");
  if (await waitForRelease(file, 5000)) {
    await file.removeIfStale();
    return { pid, wasRunning: true, killed: true };
  }
  throw new FlagstaffError("stop_failed", `Pid ${pid} is still running after KILL`);
}

/**
 * Waits until the instance no longer holds its pidfile's lock: it is gone,
 * or released it last thing. Other locks on the file do not count.
 */
async function waitForRelease(file: OpenPidfile, timeoutMs: number): Promise<boolean> {
  const deadlineMs = performance.now() + timeoutMs;
  let pollMs = 1;
  while (file.locks().ownerPid !== undefined) {
    if (performance.now() >= deadlineMs) return false;
    await delay(Math.min(pollMs, Math.max(0, deadlineMs - performance.now())));
    pollMs = Math.min(pollMs * 2, RELEASE_POLL_MS);
  }
  return true;
}
