/**
 * Operating a running instance through its pidfile: `status`, `stop`,
 * `reload` and `signal`. A pidfile is trusted only while a process holds its
 * lock (the running flagstaff holds it for its whole life), so a stale file
 * never leads to signalling an unrelated process that reused the pid.
 *
 * @module
 */

import { FlagstaffError } from "./errors.ts";
import { readPidfile } from "./pidfile.ts";

/** LSB `status` exit code for a service that is not running. */
export const EXIT_NOT_RUNNING = 3;

/** What `status` found. */
export interface ServiceStatus {
  /** Whether a process holds the pidfile's lock. */
  running: boolean;
  /** The pid in the pidfile, when there is one. */
  pid?: number;
  /** Seconds since the pidfile was written (the instance started), when running. */
  uptimeS?: number;
  /** Whether a pidfile exists that nobody holds (left by a crash). */
  stale: boolean;
}

/**
 * Reads the state of the instance that owns `pidfile`.
 *
 * @example
 * ```ts
 * import { serviceStatus } from "./service.ts";
 * const status = await serviceStatus("/nonexistent/app.pid");
 * console.assert(!status.running && !status.stale);
 * ```
 */
export async function serviceStatus(pidfile: string): Promise<ServiceStatus> {
  const found = await readPidfile(pidfile);
  if (!found.locked || found.pid === undefined) {
    return { running: false, pid: found.pid, stale: found.exists };
  }
  let uptimeS: number | undefined;
  try {
    const mtime = (await Deno.stat(pidfile)).mtime;
    if (mtime) uptimeS = Math.max(0, (Date.now() - mtime.getTime()) / 1000);
  } catch {
    uptimeS = undefined;
  }
  return { running: true, pid: found.pid, uptimeS, stale: false };
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
 * Sends `signal` to the running instance.
 *
 * @throws {FlagstaffError} `not_running` when no process holds the pidfile.
 */
export async function signalService(pidfile: string, signal: Deno.Signal): Promise<number> {
  const status = await serviceStatus(pidfile);
  if (!status.running) throw notRunning(pidfile, status);
  Deno.kill(status.pid!, signal);
  return status.pid!;
}

function notRunning(pidfile: string, status: ServiceStatus): FlagstaffError {
  return new FlagstaffError(
    "not_running",
    status.stale
      ? `Not running (pidfile "${pidfile}" is stale${
        status.pid ? `: pid ${status.pid} holds no lock` : ""
      })`
      : `Not running (no pidfile "${pidfile}")`,
  );
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
}

/**
 * Sends TERM and waits until the instance releases its pidfile lock (the last
 * thing it does), optionally KILL after the timeout.
 *
 * @throws {FlagstaffError} `stop_failed` when it still runs after the timeout.
 */
export async function stopService(
  pidfile: string,
  options: StopServiceOptions = {},
): Promise<StopResult> {
  const status = await serviceStatus(pidfile);
  if (!status.running) return { wasRunning: false, killed: false };
  const pid = status.pid!;
  const timeoutS = options.timeoutS ?? 10;
  Deno.kill(pid, "SIGTERM");
  if (await waitForRelease(pidfile, timeoutS * 1000)) {
    return { pid, wasRunning: true, killed: false };
  }
  if (!options.force) {
    throw new FlagstaffError(
      "stop_failed",
      `Pid ${pid} is still running ${timeoutS} s after TERM (use --force to send KILL)`,
    );
  }
  Deno.kill(pid, "SIGKILL");
  if (await waitForRelease(pidfile, 5000)) return { pid, wasRunning: true, killed: true };
  throw new FlagstaffError("stop_failed", `Pid ${pid} is still running after KILL`);
}

/** Waits until nobody holds the pidfile's lock: the instance is gone or released it last thing. */
async function waitForRelease(pidfile: string, timeoutMs: number): Promise<boolean> {
  // The lock is released when the process exits (or releases its pidfile last thing).
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(pidfile, { read: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  try {
    if (file) {
      const locked = file.lock(false).then(() => true, () => true);
      const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs));
      const got = await Promise.race([locked, timer]);
      if (!got) return false;
      await file.unlock().catch(() => {});
    }
    return true;
  } finally {
    file?.close();
  }
}
