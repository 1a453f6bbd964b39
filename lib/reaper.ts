/**
 * Reaping orphans as PID 1. In a container, flagstaff may be the init
 * process: every orphaned process (a grandchild started by an `exec` action,
 * a daemon the app spawned) is re-parented to it and, when it exits, stays a
 * zombie until PID 1 waits for it (krallin/tini does this job for others).
 *
 * Deno reaps the children it spawned itself (`Deno.Command`) and must keep
 * doing so, or their `status` would never resolve. So the reaper only peeks
 * (`waitid(…, WNOWAIT)`) at an exited child, and reaps it with `waitpid` only
 * when it is still unreaped a moment later: then nobody else will.
 *
 * @module
 */

import { libc } from "./_libc.ts";
import { getLogger } from "./deps.ts";

const log = getLogger(["flagstaff", "reaper"]);

const P_ALL = 0;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
/** `siginfo_t` is 128 bytes on Linux; `si_pid` is at byte 16 on 64-bit. */
const SIGINFO_BYTES = 128;
const SI_PID_OFFSET = 16;

/** How long an exited child may wait for its own parent (Deno) before the reaper takes it. */
export const GRACE_MS = 200;

/** A running reaper; dispose to stop it. */
export interface Reaper extends Disposable {
  /** How many orphans it has reaped. */
  readonly reaped: number;
}

/**
 * Starts reaping orphans when this process is PID 1 (or `force`), on each
 * SIGCHLD and every second. Returns undefined when not PID 1.
 *
 * @example
 * ```ts ignore
 * using reaper = startReaper();
 * ```
 */
export function startReaper(options: { force?: boolean } = {}): Reaper | undefined {
  if (Deno.pid !== 1 && !options.force) return undefined;
  const c = libc("reap orphaned processes as PID 1");
  const info = new Uint8Array(SIGINFO_BYTES);
  const view = new DataView(info.buffer);
  const status = new Uint8Array(4);
  const firstSeen = new Map<number, number>();
  let reaped = 0;
  let pending: ReturnType<typeof setTimeout> | undefined;

  /** The pid of some exited, unreaped child, or 0. */
  const peek = (): number => {
    info.fill(0);
    if (c.waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) !== 0) return 0;
    return view.getInt32(SI_PID_OFFSET, true);
  };

  const sweep = () => {
    pending = undefined;
    const now = performance.now();
    for (let guard = 0; guard < 1000; guard++) {
      const pid = peek();
      if (pid <= 0) break;
      const seen = firstSeen.get(pid);
      if (seen === undefined) {
        firstSeen.set(pid, now);
        break;
      }
      if (now - seen < GRACE_MS) break;
      firstSeen.delete(pid);
      if (c.waitpid(pid, status, WNOHANG) === pid) {
        reaped++;
        log.debug("Reaped orphan {pid}", { pid });
      }
    }
    // Forget pids that went away (reaped by Deno).
    if (firstSeen.size > 0) pending = setTimeout(sweep, GRACE_MS + 50);
    for (const [pid, seen] of firstSeen) if (now - seen > 10_000) firstSeen.delete(pid);
  };

  const onChild = () => {
    if (!pending) pending = setTimeout(sweep, 0);
  };
  Deno.addSignalListener("SIGCHLD", onChild);
  const interval = setInterval(onChild, 1000);
  log.info("Running as PID 1: reaping orphaned processes");
  return {
    get reaped() {
      return reaped;
    },
    [Symbol.dispose]() {
      Deno.removeSignalListener("SIGCHLD", onChild);
      clearInterval(interval);
      clearTimeout(pending);
    },
  };
}
