/**
 * Black-box test helpers: run the real CLI (`deno run <permissions> main.ts`)
 * as a child process, wait on its output (never on sleeps), send real
 * signals, and always clean up (`await using`).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));
/** The CLI entry point. */
export const MAIN: string = `${ROOT}main.ts`;
/** How long a wait may take before the test fails and the child is killed. */
export const DEADLINE_MS = 30_000;

/** Options for {@link spawnCli}. */
export interface SpawnOptions {
  /** Working directory. Default: the repository root. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Permission flags. Default: the documented list. */
  permissions?: readonly string[];
  /** Run this module instead of main.ts (an app's main.ts, a URL). */
  main?: string;
  /** Extra `deno run` flags before the module. */
  denoFlags?: readonly string[];
  /** A command to run deno under, e.g. `["unshare", "--pid", "--fork"]`. */
  wrapper?: readonly string[];
  /**
   * The whole command line instead of `deno run <permissions> main.ts ARGS`
   * (e.g. `["setsid", deno, "task", "app"]`); `args` are appended.
   */
  command?: readonly string[];
}

/** The outcome of a finished process. */
export interface Finished {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

type Stream = "stdout" | "stderr";

/** A running CLI: wait on its output, signal it, dispose to kill and reap it. */
export class CliProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #text: Record<Stream, string> = { stdout: "", stderr: "" };
  readonly #cursor: Record<Stream | "any", number> = { stdout: 0, stderr: 0, any: 0 };
  #combined = "";
  readonly #waiters = new Set<() => void>();
  readonly #pumps: Promise<void>[];
  readonly #status: Promise<Deno.CommandStatus>;
  #done = false;

  constructor(args: readonly string[], options: SpawnOptions = {}) {
    const [command, ...prefix] = options.command ?? [...(options.wrapper ?? []), Deno.execPath()];
    this.#child = new Deno.Command(command, {
      args: options.command ? [...prefix, ...args] : [
        ...prefix,
        "run",
        ...(options.denoFlags ?? []),
        ...(options.permissions ?? PERMISSION_FLAGS),
        options.main ?? MAIN,
        ...args,
      ],
      cwd: options.cwd ?? ROOT,
      env: { NO_COLOR: "1", ...options.env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [this.#pump("stdout"), this.#pump("stderr")];
    this.#status = this.#child.status.then((status) => {
      this.#done = true;
      this.#wake();
      return status;
    });
  }

  /** The child's pid. */
  get pid(): number {
    return this.#child.pid;
  }
  /** Everything printed so far. */
  get stdout(): string {
    return this.#text.stdout;
  }
  /** Everything printed on stderr so far. */
  get stderr(): string {
    return this.#text.stderr;
  }

  async #pump(stream: Stream): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child[stream]) {
      const text = decoder.decode(chunk, { stream: true });
      this.#text[stream] += text;
      this.#combined += text;
      this.#wake();
    }
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /**
   * Waits until `pattern` appears in `stream` after the previous match there,
   * and returns the matching line. Fails, with all output, at the deadline or
   * when the process exits first.
   */
  async waitFor(
    pattern: RegExp | string,
    options: { stream?: Stream | "any"; timeoutMs?: number } = {},
  ): Promise<string> {
    const stream = options.stream ?? "any";
    const deadline = Date.now() + (options.timeoutMs ?? DEADLINE_MS);
    while (true) {
      const text = stream === "any" ? this.#combined : this.#text[stream];
      const rest = text.slice(this.#cursor[stream]);
      const match = typeof pattern === "string"
        ? (rest.includes(pattern) ? { index: rest.indexOf(pattern), 0: pattern } : null)
        : rest.match(pattern);
      if (match && match.index !== undefined) {
        const end = this.#cursor[stream] + match.index + match[0].length;
        const lineStart = text.lastIndexOf("\n", end - match[0].length - 1) + 1;
        // A match that ends a line leaves the cursor there; else at the end of its line.
        const lineEnd = match[0].endsWith("\n") ? end - 1 : text.indexOf("\n", end);
        this.#cursor[stream] = lineEnd < 0 ? end : lineEnd;
        return text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
      }
      if (this.#done) await Promise.all(this.#pumps);
      if (this.#done && (stream === "any" ? this.#combined : this.#text[stream]) === text) {
        throw new Error(`Process exited before ${pattern} appeared on ${stream}\n${this.#dump()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.kill("SIGKILL");
        throw new Error(`Timed out waiting for ${pattern} on ${stream}\n${this.#dump()}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1000));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(done);
      }).finally(() => this.#waiters.clear());
    }
  }

  /** Counts the matches of `pattern` in everything printed to `stream` so far. */
  count(pattern: RegExp, stream: Stream | "any" = "any"): number {
    const text = stream === "any" ? this.#combined : this.#text[stream];
    return [
      ...text.matchAll(
        new RegExp(
          pattern.source,
          pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g",
        ),
      ),
    ]
      .length;
  }

  /** Sends a real signal with `kill`, as a user would. */
  async signal(signal: "TERM" | "INT" | "HUP" | "USR1" | "USR2" | "KILL"): Promise<void> {
    const { code } = await new Deno.Command("kill", { args: [`-${signal}`, String(this.pid)] })
      .output();
    if (code !== 0) throw new Error(`kill -${signal} ${this.pid} failed`);
  }

  /** Sends a signal directly (for bursts where spawning `kill` is too slow). */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits for exit (killing it at the deadline) and returns code and output. */
  async finished(timeoutMs: number = DEADLINE_MS): Promise<Finished> {
    const timer = setTimeout(() => this.kill("SIGKILL"), timeoutMs);
    try {
      const status = await this.#status;
      await Promise.all(this.#pumps);
      return { code: status.code, signal: status.signal, stdout: this.stdout, stderr: this.stderr };
    } finally {
      clearTimeout(timer);
    }
  }

  #dump(): string {
    return `--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#done) this.kill("SIGKILL");
    await this.finished();
  }
}

/** Starts the CLI with `args`. */
export function spawnCli(args: readonly string[], options: SpawnOptions = {}): CliProcess {
  return new CliProcess(args, options);
}

/** Runs the CLI to completion and returns its code and output. */
export async function runCli(
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<Finished> {
  await using child = spawnCli(args, options);
  return await child.finished();
}

/** A temp folder removed on dispose. */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff_test_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** Writes files (path relative to `dir` → content) and returns `dir`. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, content);
  }
  return dir;
}

/**
 * Polls `probe` until it returns a value other than undefined, and returns
 * it; fails the test after {@link DEADLINE_MS} with `what` and the last
 * error the probe threw. For effects that no output line announces (a file's
 * content written by another process); never a fixed sleep.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out after ${DEADLINE_MS} ms waiting for ${what}`, { cause: last });
}

/** The file's text once it matches `pattern` (see {@link eventually}). */
export function fileMatching(path: string, pattern: RegExp): Promise<string> {
  return eventually(`${path} to match ${pattern}`, async () => {
    const text = await Deno.readTextFile(path);
    return pattern.test(text) ? text : undefined;
  });
}

/**
 * `Deno.serve` on 127.0.0.1, on a free privileged port (600–1023) when the
 * tests run as root: as root, flagstaff loads a plain `http:` module from
 * loopback only from a port only root can listen on (or with a pin), so a
 * test server stands for a root-run development server. Elsewhere, any free
 * port.
 */
export function serveLoopback(handler: Deno.ServeHandler): Deno.HttpServer<Deno.NetAddr> {
  if (Deno.uid() !== 0) {
    return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  }
  for (let attempt = 0;; attempt++) {
    const port = 600 + Math.floor(Math.random() * 424);
    // The Fetch standard's "bad ports", which fetch() refuses to connect to.
    if ([601, 636, 989, 990, 993, 995].includes(port)) continue;
    try {
      return Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, handler);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse) || attempt > 200) throw error;
    }
  }
}
