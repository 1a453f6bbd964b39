/**
 * A helper process of a test that is not flagstaff (a victim `sleep`, a
 * `flock` or python lock holder), its stdout read as it comes; closed,
 * killed and reaped when disposed. The CLI itself is `CliProcess` in
 * `_helpers.ts`.
 *
 * @module
 */

/** How long a helper may take to print what a test waits for, in milliseconds. */
const HANG_MS = 20_000;

/** A running helper process; see the module doc. */
export class HelperProcess implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #out = "";
  readonly #pump: Promise<void>;
  /** Called on each chunk of stdout and at its end. */
  readonly #waiters = new Set<() => void>();
  #ended = false;

  /** Starts `argv` with stdin and stdout piped, stderr inherited. */
  constructor(argv: readonly string[]) {
    this.child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    const stdout = this.child.stdout.pipeThrough(new TextDecoderStream());
    this.#pump = (async () => {
      try {
        for await (const chunk of stdout) {
          this.#out += chunk;
          for (const wake of [...this.#waiters]) wake();
        }
      } finally {
        this.#ended = true;
        for (const wake of [...this.#waiters]) wake();
      }
    })();
  }

  /** Its pid. */
  get pid(): number {
    return this.child.pid;
  }

  /** Everything it (and its children) printed so far. */
  get output(): string {
    return this.#out;
  }

  /**
   * Waits until stdout holds `pattern` (a text, or a match): woken by each
   * chunk it writes, never a sleep; fails when stdout ends first or after
   * {@link HANG_MS}. Returns the match.
   */
  async waitFor(pattern: string | RegExp): Promise<RegExpMatchArray> {
    const regexp = typeof pattern === "string"
      ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      : pattern;
    const deadline = Date.now() + HANG_MS;
    for (;;) {
      const match = this.#out.match(regexp);
      if (match) return match;
      if (this.#ended) {
        throw new Error(`pid ${this.pid} ended its output without ${regexp}: ${this.#out}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`No ${regexp} from pid ${this.pid} in ${HANG_MS} ms: ${this.#out}`);
      }
      const { promise, resolve } = Promise.withResolvers<void>();
      const timer = setTimeout(resolve, left);
      this.#waiters.add(resolve);
      try {
        await promise;
      } finally {
        clearTimeout(timer);
        this.#waiters.delete(resolve);
      }
    }
  }

  /** Whether it still ran until now: it ends by `signal` now, not by anything before. */
  async endsBy(signal: Deno.Signal): Promise<boolean> {
    try {
      this.child.kill(signal);
    } catch {
      // Already gone.
    }
    return (await this.child.status).signal === signal;
  }

  /** Closes its stdin (which ends the python helpers and their children), then kills and reaps it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#stdin.close().catch(() => {});
    try {
      this.child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.child.status;
    await this.#pump.catch(() => {});
  }
}
