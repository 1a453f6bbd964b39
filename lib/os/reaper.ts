/**
 * Reaping orphans as PID 1. In a container, flagstaff may be the init
 * process: every orphaned process (a grandchild started by an `exec` action,
 * a daemon the app spawned) is re-parented to it and, when it exits, stays a
 * zombie until PID 1 waits for it (krallin/tini does this job for others).
 *
 * Deno reaps the children it spawned itself (`Deno.Command`) and must keep
 * doing so, or their `status` would never resolve. So the reaper only peeks
 * (`waitid(…, WNOWAIT)`) at an exited child, and reaps it with `waitpid` only
 * when it is still unreaped {@link GRACE_MS} later: then nobody else will.
 *
 * A sweep runs on each SIGCHLD (coalesced) and when the earliest grace ends,
 * never otherwise: no timer runs while no child has exited. It lists every
 * child of this process from `/proc/self/task/<tid>/children` (read through
 * libc, as Deno's file API wants `--allow-all` for `/proc/self`), so it sees
 * every exited child at once and reaps all whose grace has passed. Where that
 * file is missing (a kernel without `CONFIG_PROC_CHILDREN`, or a `/proc` of
 * another PID namespace), `waitid(P_ALL, WNOWAIT)` shows one exited child at
 * a time, so orphans are reaped one per grace period (about 4 a second).
 *
 * @module
 */

import { cString, type Libc, libc } from "./_libc.ts";
import { type LongTimer, setLongTimeout } from "../core/delay.ts";
import { getLogger } from "../deps.ts";

const log = getLogger(["flagstaff", "reaper"]);

const P_ALL = 0;
const P_PID = 1;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
/** `siginfo_t` is 128 bytes on Linux; `si_pid` is at byte 16 on 64-bit. */
const SIGINFO_BYTES = 128;
const SI_PID_OFFSET = 16;
/** `struct dirent` (glibc, 64-bit): `d_name` starts at byte 19. */
const D_NAME_OFFSET = 19;
/** Bytes read from a `children` file at a time (room for ~9,000 pids: one read, one snapshot). */
const BUFFER_BYTES = 65536n;

/** How long an exited child may wait for its own parent (Deno) before the reaper takes it. */
export const GRACE_MS = 200;

/** Options for {@link startReaper}. */
export interface ReaperOptions {
  /** Reap even when this process is not PID 1 (tests, a child subreaper). Default false. */
  force?: boolean;
  /**
   * List children from `/proc/self/task/<tid>/children`. Default true; false
   * forces the one-at-a-time `waitid(P_ALL)` fallback (tests).
   */
  listChildren?: boolean;
}

/** A running reaper; dispose to stop it. */
export interface Reaper extends Disposable {
  /** How many orphans it has reaped. */
  readonly reaped: number;
  /** How it finds exited children: all at once from `/proc` (`"children"`), or one at a time (`"wait"`). */
  readonly source: "children" | "wait";
}

/** What one sweep decides: see {@link planSweep}. */
export interface SweepPlan {
  /** Pids to reap now: exited at least `graceMs` ago, and Deno has not reaped them. */
  reap: number[];
  /** Exited pids still in their grace → when they were first seen exited (ms). */
  waiting: Map<number, number>;
  /** When the next sweep is due (ms, on the same clock as `nowMs`); `Infinity` for none. */
  nextSweepMs: number;
}

/**
 * Decides one sweep, a pure function of time: which exited children to reap
 * now, which to keep waiting for their own parent, and when to look again.
 * A pid first seen exited now starts its grace now; a pid no longer exited
 * (Deno reaped it) is forgotten, so a reused pid starts a fresh grace.
 *
 * @param exitedPids The children seen exited (zombies) in this sweep.
 * @param firstSeenMs The previous sweep's `waiting`: pid → first seen exited (ms).
 * @param nowMs The time of this sweep (ms, monotonic).
 * @param graceMs How long a zombie is left to its own parent. Default {@link GRACE_MS}.
 * @returns The pids to reap, the pids still waiting, and the next sweep's time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planSweep } from "./reaper.ts";
 * const plan = planSweep([7, 8], new Map([[7, 1000], [9, 1000]]), 1250, 200);
 * assert.deepEqual(plan.reap, [7]);
 * assert.deepEqual([...plan.waiting], [[8, 1250]]);
 * assert.equal(plan.nextSweepMs, 1450);
 * ```
 */
export function planSweep(
  exitedPids: Iterable<number>,
  firstSeenMs: ReadonlyMap<number, number>,
  nowMs: number,
  graceMs: number = GRACE_MS,
): SweepPlan {
  const reap: number[] = [];
  const waiting = new Map<number, number>();
  const seen = new Set<number>();
  let nextSweepMs = Infinity;
  for (const pid of exitedPids) {
    if (seen.has(pid)) continue;
    seen.add(pid);
    const seenMs = firstSeenMs.get(pid) ?? nowMs;
    if (nowMs - seenMs >= graceMs) {
      reap.push(pid);
    } else {
      waiting.set(pid, seenMs);
      nextSweepMs = Math.min(nextSweepMs, seenMs + graceMs);
    }
  }
  return { reap, waiting, nextSweepMs };
}

/**
 * Starts reaping orphans when this process is PID 1 (or `force`): a sweep at
 * once, then on each SIGCHLD and when an exited child's grace ends. Returns
 * undefined when not PID 1.
 *
 * @throws {FlagstaffError} from {@link libc} (`permission` without `--allow-ffi`).
 *
 * @example
 * ```ts ignore
 * using reaper = startReaper();
 * ```
 */
export function startReaper(options: ReaperOptions = {}): Reaper | undefined {
  if (Deno.pid !== 1 && !options.force) return undefined;
  const c = libc("reap orphaned processes as PID 1");
  const children = new ChildLister(c);
  const source = options.listChildren !== false && children.list() !== undefined
    ? "children"
    : "wait";
  const info = new Uint8Array(SIGINFO_BYTES);
  const view = new DataView(info.buffer);
  const status = new Uint8Array(4);
  let firstSeenMs = new Map<number, number>();
  let reaped = 0;
  let timer: LongTimer | undefined;
  let timerAtMs = Infinity;
  let disposed = false;

  /** The pid of the exited child `waitid` picks (`P_ALL`: the first in the kernel's list), or 0. */
  const exitedChild = (idType: number, id: number): number => {
    info.fill(0);
    if (c.waitid(idType, id, info, WEXITED | WNOHANG | WNOWAIT) !== 0) return 0;
    return view.getInt32(SI_PID_OFFSET, true);
  };

  const schedule = (atMs: number) => {
    if (disposed || atMs >= timerAtMs) return;
    timer?.cancel();
    timerAtMs = atMs;
    timer = setLongTimeout(sweep, atMs - performance.now(), { persistent: false });
  };

  function sweep() {
    timer = undefined;
    timerAtMs = Infinity;
    const nowMs = performance.now();
    const candidates = (source === "children" ? children.list() : undefined) ??
      firstSeenMs.keys();
    const exited: number[] = [];
    for (const pid of candidates) if (exitedChild(P_PID, pid) === pid) exited.push(pid);
    const plan = planSweep(exited, firstSeenMs, nowMs);
    const done: number[] = [];
    for (const pid of plan.reap) {
      if (c.waitpid(pid, status, WNOHANG) === pid) done.push(pid);
    }
    // Whatever the list missed (the fallback, or a child that exited meanwhile): the first
    // exited child the kernel knows starts its grace now.
    const first = exitedChild(P_ALL, 0);
    if (first > 0 && !plan.waiting.has(first)) {
      plan.waiting.set(first, nowMs);
      plan.nextSweepMs = Math.min(plan.nextSweepMs, nowMs + GRACE_MS);
    }
    firstSeenMs = plan.waiting;
    if (done.length > 0) {
      reaped += done.length;
      log.debug("Reaped {count} orphaned process(es): {pids}", {
        count: done.length,
        pids: done.join(" "),
      });
    }
    schedule(plan.nextSweepMs);
  }

  const onChild = () => schedule(performance.now());
  Deno.addSignalListener("SIGCHLD", onChild);
  sweep();
  log.info("Running as PID 1: reaping orphaned processes");
  log.debug("Finding exited children {how}", {
    how: source === "children" ? "in /proc/self/task/*/children" : "one at a time (waitid)",
  });
  return {
    get reaped() {
      return reaped;
    },
    source,
    [Symbol.dispose]() {
      disposed = true;
      Deno.removeSignalListener("SIGCHLD", onChild);
      timer?.cancel();
    },
  };
}

/**
 * Lists this process's children from `/proc/self/task/<tid>/children` (one
 * file per thread: each thread has its own children), through libc.
 */
class ChildLister {
  readonly #c: Libc;
  readonly #taskDir = cString("/proc/self/task");
  readonly #buffer = new Uint8Array(Number(BUFFER_BYTES));

  constructor(c: Libc) {
    this.#c = c;
  }

  /**
   * Every child's pid, or undefined when `/proc` cannot tell: no `children`
   * file, or a `/proc` mounted for another PID namespace (where this
   * process's main thread is not `/proc/self/task/<Deno.pid>`).
   */
  list(): number[] | undefined {
    const tids = this.#tids();
    if (!tids?.includes(Deno.pid)) return undefined;
    const pids: number[] = [];
    for (const tid of tids) {
      const ok = this.#readPids(`/proc/self/task/${tid}/children`, pids);
      // A thread may end meanwhile; the main thread's file must be there.
      if (!ok && tid === Deno.pid) return undefined;
    }
    return pids;
  }

  #tids(): number[] | undefined {
    const dir = this.#c.opendir(this.#taskDir);
    if (dir === null) return undefined;
    const tids: number[] = [];
    try {
      for (let entry = this.#c.readdir(dir); entry !== null; entry = this.#c.readdir(dir)) {
        const tid = Number(Deno.UnsafePointerView.getCString(entry, D_NAME_OFFSET));
        if (Number.isInteger(tid) && tid > 0) tids.push(tid);
      }
    } finally {
      this.#c.closedir(dir);
    }
    return tids;
  }

  /** Appends the space-separated pids in `path` to `pids`; false if it cannot be read. */
  #readPids(path: string, pids: number[]): boolean {
    const fd = this.#c.open(cString(path), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    try {
      let pid = 0;
      while (true) {
        const count = Number(this.#c.read(fd, this.#buffer, BUFFER_BYTES));
        if (count < 0) return false;
        if (count === 0) break;
        for (let i = 0; i < count; i++) {
          const byte = this.#buffer[i];
          if (byte >= 0x30 && byte <= 0x39) {
            pid = pid * 10 + byte - 0x30;
          } else if (pid > 0) {
            pids.push(pid);
            pid = 0;
          }
        }
      }
      if (pid > 0) pids.push(pid);
      return true;
    } finally {
      this.#c.close(fd);
    }
  }
}
