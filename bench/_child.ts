/**
 * A benchmarked child process: spawned with piped output that is read
 * continuously (a full pipe would block the child and skew every figure),
 * each line kept with the wall-clock time the harness read it, and killed
 * and reaped on dispose.
 *
 * Times are milliseconds on `performance.timeOrigin + performance.now()`,
 * the clock the children stamp with (see `_clock.ts`).
 *
 * @module
 */

import { wallMs } from "./_clock.ts";

/** A line of output and when the harness read it. */
export interface Line {
  /** The text, without its newline. */
  readonly text: string;
  /** When the harness read it (wall-clock milliseconds). */
  readonly atMs: number;
}

/** Options for {@link BenchChild}. */
export interface BenchChildOptions {
  /** Environment added to the harness's. Default none. */
  env?: Record<string, string>;
  /** Working directory. Default: the harness's. */
  cwd?: string;
}

/** Options for {@link BenchChild.waitLine}. */
export interface WaitLineOptions {
  /** Which stream. Default `"stdout"`. */
  stream?: "stdout" | "stderr";
  /** Index of the first line to look at. Default 0. */
  from?: number;
  /** Give up after this long, in milliseconds. Default 10 000. */
  timeoutMs?: number;
}

const decoder = new TextDecoder();

/** A running child with its output lines; `await using` kills and reaps it. */
export class BenchChild implements AsyncDisposable {
  /** When spawn() was called (wall-clock milliseconds). */
  readonly spawnedAtMs: number;
  /** stdout lines, in order. */
  readonly stdout: Line[] = [];
  /** stderr lines, in order. */
  readonly stderr: Line[] = [];
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #pumps: Promise<void>[];
  readonly #waiters = new Set<() => void>();
  readonly #cleanups: (() => Promise<void> | void)[] = [];
  #exited = false;

  /** Spawns `command` with `args`. */
  constructor(command: string, args: readonly string[], options: BenchChildOptions = {}) {
    const cmd = new Deno.Command(command, {
      args: [...args],
      env: options.env,
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    this.spawnedAtMs = wallMs();
    this.#child = cmd.spawn();
    this.#pumps = [
      this.#pump(this.#child.stdout, this.stdout),
      this.#pump(this.#child.stderr, this.stderr),
    ];
    this.status = this.#child.status.then((status) => {
      this.#exited = true;
      this.#wake();
      return status;
    });
  }

  /** The child's pid. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether it has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Sends `signal`; false when the process is gone. */
  kill(signal: Deno.Signal): boolean {
    try {
      Deno.kill(this.#child.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Runs `cleanup` once the process has been stopped and reaped (see {@link stop}). */
  defer(cleanup: () => Promise<void> | void): void {
    this.#cleanups.push(cleanup);
  }

  /** Resolves when `test` holds; rejects on timeout, or when the child exits first. */
  wait(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (test()) {
          done();
          resolve();
        } else if (this.#exited) {
          done();
          reject(new Error(`${what}: the process exited first${this.#tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: nothing after ${timeoutMs} ms${this.#tail()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  /** The first line from `options.from` that `match` accepts, waiting for it. */
  async waitLine(match: (text: string) => boolean, options: WaitLineOptions = {}): Promise<Line> {
    const lines = options.stream === "stderr" ? this.stderr : this.stdout;
    let at = options.from ?? 0;
    let found: Line | undefined;
    await this.wait(
      () => {
        for (; at < lines.length && !found; at++) if (match(lines[at].text)) found = lines[at];
        return found !== undefined;
      },
      options.timeoutMs ?? 10_000,
      `Waiting for a line on ${options.stream ?? "stdout"}`,
    );
    return found!;
  }

  /** Wakes waiters (a caller that changed what they test for). */
  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #tail(): string {
    const tail = this.stderr.slice(-5).map((line) => line.text).join("\n  ");
    return tail ? `; stderr ends:\n  ${tail}` : "";
  }

  async #pump(stream: ReadableStream<Uint8Array>, lines: Line[]): Promise<void> {
    let buffer = "";
    for await (const chunk of stream) {
      const atMs = wallMs();
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        lines.push({ text: buffer.slice(0, end), atMs });
        buffer = buffer.slice(end + 1);
      }
      this.#wake();
    }
    if (buffer) lines.push({ text: buffer, atMs: wallMs() });
    this.#wake();
  }

  /** TERM, then KILL after `graceMs`; resolves with the status once reaped and drained. */
  async stop(graceMs = 3000): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      this.kill("SIGTERM");
      const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
      try {
        await this.status;
      } finally {
        clearTimeout(timer);
      }
    }
    // A grandchild that kept the pipe open must not hang the harness.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#pumps),
      new Promise((resolve) => timer = setTimeout(resolve, 1000)),
    ]);
    clearTimeout(timer);
    for (const cleanup of this.#cleanups.splice(0)) await cleanup();
    return await this.status;
  }

  /** Same as {@link stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
