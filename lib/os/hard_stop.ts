/**
 * The hard stop: `Daemon.stop_timeout` and the "second TERM forces the exit"
 * rule enforced outside the event loop.
 *
 * The runtime's own stop logic runs on the JavaScript thread: a `cleanup()`
 * or `process()` that blocks that thread (synchronous work) would hold the
 * process past any `setTimeout`. So a Worker, which has its own thread and
 * event loop, watches too:
 *
 * - it listens for TERM and INT itself (a process-wide signal reaches every
 *   listener, the Worker's while the main thread is blocked);
 * - from the first TERM/INT, or from a stop the main thread reports (a
 *   `stop` action, `run()` returning), it arms the deadline: `stop_timeout`
 *   plus {@link MARGIN_MS}, and a TERM or INT that comes
 *   {@link REPEAT_WINDOW_MS} or more after the stop began arms the force
 *   fuse ({@link MARGIN_MS}): if the main thread has not ended the process by
 *   then (it normally does, with its own log lines), the Worker writes one
 *   line to stderr if stderr can take it at once (`poll()` first: a full
 *   pipe or a stopped terminal must not hold the exit), kills the process
 *   groups `exec` actions started, removes the pidfile if it still holds this
 *   pid, and calls libc `_exit(1)` through FFI, which ends the whole process
 *   at once. (`Deno.exit()` in a Worker ends only the Worker.)
 *
 * The main thread starts it first thing in `run` and tells it of a TERM that
 * came even earlier (the signal inbox keeps when the first one arrived), so
 * the deadline counts from the signal, not from when the Worker started.
 *
 * The Worker's code is a string loaded from a `blob:` URL, so it works the
 * same from a checkout, from a URL and in the compiled binary (no file to
 * embed). It needs `--allow-ffi`; without it there is no hard deadline and
 * {@link HardStop.available} says why. A Worker costs about 19 MB of memory
 * (a second V8 isolate): the price of a deadline that holds.
 *
 * @module
 */

/** A TERM/INT this long or longer after the stop began forces the exit, in milliseconds. */
export const REPEAT_WINDOW_MS = 500;
/** How long the Worker lets the main thread end the process itself, in milliseconds. */
export const MARGIN_MS = 250;

/** What the main thread tells the Worker. */
export type HardStopMessage =
  | { type: "config"; stopTimeoutMs: number; pidfile?: { path: string; pid: number } }
  | { type: "stopping"; atEpochMs: number }
  | { type: "group"; pgid: number; add: boolean };

const WORKER_SOURCE = `
const REPEAT_WINDOW_MS = ${REPEAT_WINDOW_MS};
const MARGIN_MS = ${MARGIN_MS};
const MAX_TIMER_MS = 2 ** 31 - 1;
const encoder = new TextEncoder();
let libc;
let unavailable;
try {
  libc = Deno.dlopen("libc.so.6", {
    _exit: { parameters: ["i32"], result: "void" },
    poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    kill: { parameters: ["i32", "i32"], result: "i32" },
  }).symbols;
} catch (error) {
  unavailable = String(error && error.message || error);
}
const now = () => performance.timeOrigin + performance.now();
let stopTimeoutMs = 10000;
let pidfile;
const groups = new Set();
let stopAt;
let deadline;
let fuse;
// The Worker cannot import lib/core/delay.ts (it is a string): the same chaining, past 2^31-1 ms.
function at(epochMs, fn) {
  let handle;
  const arm = () => {
    const left = epochMs - now();
    if (left <= 0) return fn();
    handle = setTimeout(arm, Math.min(Math.ceil(left), MAX_TIMER_MS));
  };
  handle = setTimeout(arm, Math.min(Math.max(0, Math.ceil(epochMs - now())), MAX_TIMER_MS));
  return () => clearTimeout(handle);
}
function say(message) {
  // One short write, only if stderr takes it now: POLLOUT on a pipe means room for PIPE_BUF bytes.
  if (!libc) return;
  const fds = new Uint8Array(8);
  new DataView(fds.buffer).setInt32(0, 2, true);
  new DataView(fds.buffer).setInt16(4, 4, true); // POLLOUT
  if (libc.poll(fds, 1n, 0) !== 1 || (new DataView(fds.buffer).getInt16(6, true) & 4) === 0) return;
  const bytes = encoder.encode(("flagstaff: " + message).slice(0, 500) + "\\n");
  libc.write(2, bytes, BigInt(bytes.length));
}
function die(message) {
  try {
    say(message);
  } catch {}
  for (const pgid of groups) {
    try {
      libc?.kill(-pgid, 9);
    } catch {}
  }
  try {
    if (pidfile && Number(Deno.readTextFileSync(pidfile.path).trim()) === pidfile.pid) {
      Deno.removeSync(pidfile.path);
    }
  } catch {}
  if (libc) libc._exit(1);
  try { Deno.kill(Deno.pid, "SIGKILL"); } catch {}
}
function armDeadline() {
  if (deadline) deadline();
  if (stopAt === undefined || !Number.isFinite(stopTimeoutMs)) return;
  const seconds = stopTimeoutMs / 1000;
  deadline = at(stopAt + stopTimeoutMs + MARGIN_MS, () =>
    die("Stop timed out after " + seconds + " s (Daemon.stop_timeout) and JavaScript is still busy: forcing exit"));
}
function stopping(atEpochMs) {
  if (stopAt !== undefined && stopAt <= atEpochMs) return;
  stopAt = atEpochMs;
  armDeadline();
}
function onSignal(signal) {
  const t = now();
  if (stopAt === undefined) return stopping(t);
  if (t - stopAt >= REPEAT_WINDOW_MS && !fuse) {
    fuse = at(t + MARGIN_MS, () => die("Received " + signal + " again while stopping and JavaScript is still busy: forcing exit"));
  }
}
for (const signal of ["SIGTERM", "SIGINT"]) {
  try { Deno.addSignalListener(signal, () => onSignal(signal)); } catch {}
}
// Said once the listeners are in place: a TERM from now on reaches this thread.
self.postMessage(unavailable === undefined ? { type: "ready" } : { type: "unavailable", reason: unavailable });
self.onmessage = (event) => {
  const message = event.data;
  if (message.type === "config") {
    stopTimeoutMs = message.stopTimeoutMs;
    pidfile = message.pidfile;
    armDeadline();
  } else if (message.type === "stopping") {
    stopping(message.atEpochMs);
  } else if (message.type === "group") {
    if (message.add) groups.add(message.pgid);
    else groups.delete(message.pgid);
  }
};
`;

/** The main thread's handle on the hard-stop Worker. */
export class HardStop implements Disposable {
  readonly #worker: Worker | undefined;
  readonly #url: string | undefined;
  readonly #groups = new Set<number>();
  #available: Promise<{ ok: true } | { ok: false; reason: string }>;

  private constructor(worker: Worker | undefined, url: string | undefined, reason?: string) {
    this.#worker = worker;
    this.#url = url;
    if (!worker) {
      this.#available = Promise.resolve({ ok: false, reason: reason ?? "no worker" });
      return;
    }
    this.#available = new Promise((resolve) => {
      worker.onmessage = (event: MessageEvent) => {
        const data = event.data as { type: string; reason?: string };
        if (data.type === "ready") resolve({ ok: true });
        if (data.type === "unavailable") resolve({ ok: false, reason: data.reason ?? "unknown" });
      };
      worker.onerror = (event) => {
        event.preventDefault();
        resolve({ ok: false, reason: event.message });
      };
    });
  }

  /**
   * Starts the Worker. It listens for TERM and INT from the moment its
   * thread runs (a few milliseconds), whatever the main thread does.
   */
  static start(): HardStop {
    let url: string | undefined;
    try {
      url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
      const worker = new Worker(url, { type: "module" });
      return new HardStop(worker, url);
    } catch (error) {
      if (url) URL.revokeObjectURL(url);
      return new HardStop(
        undefined,
        undefined,
        error instanceof Error ? error.message : String(error),
      );
    }
  }

  /**
   * Resolves once the Worker has started: `ok` when it can end the process,
   * else why not (no `--allow-ffi`).
   */
  available(): Promise<{ ok: true } | { ok: false; reason: string }> {
    return this.#available;
  }

  /**
   * Tells the Worker the stop timeout (milliseconds; `Infinity` for none)
   * and the pidfile to remove if it must end the process.
   */
  configure(stopTimeoutMs: number, pidfile?: { path: string; pid: number }): void {
    this.#post({ type: "config", stopTimeoutMs, pidfile });
  }

  /** Tells the Worker that a stop began at `atEpochMs` (`performance.timeOrigin + performance.now()`). */
  stopping(atEpochMs: number): void {
    this.#post({ type: "stopping", atEpochMs });
  }

  /**
   * Registers a process group to kill (SIGKILL) if the exit must be forced;
   * returns the function that unregisters it.
   */
  trackGroup(pgid: number): () => void {
    this.#groups.add(pgid);
    this.#post({ type: "group", pgid, add: true });
    return () => {
      if (!this.#groups.delete(pgid)) return;
      this.#post({ type: "group", pgid, add: false });
    };
  }

  /** Kills the registered process groups now (a forced exit on the main thread). */
  killGroups(): void {
    for (const pgid of this.#groups) {
      try {
        Deno.kill(-pgid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    this.#groups.clear();
  }

  #post(message: HardStopMessage): void {
    try {
      this.#worker?.postMessage(message);
    } catch {
      // Terminated.
    }
  }

  /** Ends the Worker (only for tests and library users that do not exit). */
  [Symbol.dispose](): void {
    this.#worker?.terminate();
    if (this.#url) URL.revokeObjectURL(this.#url);
  }
}

/** Milliseconds since the Unix epoch, on the clock the Worker uses too. */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}
