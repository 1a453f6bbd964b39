/**
 * Test helpers shared by `pidfile_test.ts` and `open_pidfile_test.ts`: child
 * processes that hold a pidfile (through `acquirePidfile()`) or a plain
 * `flock(1)` lock on it, and a temp folder with the holder script in it.
 *
 * @module
 */

import assert from "node:assert/strict";

const PIDFILE_TS = new URL("./pidfile.ts", import.meta.url).href;

/**
 * The script a child deno runs: waits for a line on stdin (so several can
 * start together), tries to acquire the pidfile `Deno.args[0]`, prints the
 * outcome as one JSON line, holds the pidfile until stdin closes, releases it.
 */
const HOLDER = `
import { acquirePidfile } from "${PIDFILE_TS}";
const reader = Deno.stdin.readable.getReader();
console.log("ready");
await reader.read();
let pidfile;
try {
  pidfile = await acquirePidfile(Deno.args[0]);
  console.log(JSON.stringify({ acquired: true, stale: pidfile.stale, previousPid: pidfile.previousPid ?? null, ignoredLocks: pidfile.ignoredLocks }));
} catch (error) {
  console.log(JSON.stringify({ acquired: false, code: error.code, exitCode: error.exitCode, message: error.message }));
}
while (!(await reader.read()).done);
if (pidfile) console.log(JSON.stringify({ released: pidfile.release() }));
`;

/** Splits a byte stream into lines. */
function lines(stream: ReadableStream<Uint8Array>): ReadableStream<string> {
  let rest = "";
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, string>({
      transform(chunk, controller) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        for (const part of parts) controller.enqueue(part);
      },
      flush(controller) {
        if (rest) controller.enqueue(rest);
      },
    }),
  );
}

/** A child process (deno running a script, or `flock`); killed and reaped when disposed. */
export class Child implements AsyncDisposable {
  readonly process: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stderr: Promise<string>;
  #stdinClosed = false;

  constructor(command: string, args: string[]) {
    this.process = new Deno.Command(command, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#lines = lines(this.process.stdout).getReader();
    this.#stdin = this.process.stdin.getWriter();
    this.#stderr = new Response(this.process.stderr).text();
  }

  /** The next line of stdout; fails after `timeoutMs` or at end of output. */
  async line(timeoutMs = 10_000): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`No line from child within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const { value, done } = await Promise.race([this.#lines.read(), deadline]);
      if (done) throw new Error(`Child ended its output; stderr: ${await this.#stderr}`);
      return value;
    } finally {
      clearTimeout(timer);
    }
  }

  async json(): Promise<Record<string, unknown>> {
    return JSON.parse(await this.line());
  }

  async send(text: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    await this.#stdin.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // Already ended.
    }
    await this.process.status;
    if (!this.#stdinClosed) await this.#stdin.abort().catch(() => {});
    await this.#lines.cancel();
    await this.#stderr;
  }
}

/** A temp folder with the holder script in it; removed when disposed. */
export async function workDir(): Promise<AsyncDisposable & { path: string; holder: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-pidfile-" });
  const holder = `${path}/holder.ts`;
  await Deno.writeTextFile(holder, HOLDER);
  return { path, holder, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

export function holder(dir: { holder: string }, pidfile: string): Child {
  return new Child(Deno.execPath(), [
    "run",
    "--no-config",
    "--allow-read",
    "--allow-write",
    "--allow-ffi",
    dir.holder,
    pidfile,
  ]);
}

/**
 * Another process, `flock(1)`, asking for a shared or exclusive flock on
 * `path` (opened read-only; created if missing) and holding it until its
 * stdin closes or it is disposed: its pid is the lock's. It prints `locked`
 * once it holds it; while the pidfile's owner holds the exclusive lock, it
 * waits.
 */
export function flocker(path: string, exclusive: boolean): Child {
  return new Child("flock", [exclusive ? "-x" : "-s", path, "-c", "echo locked; exec cat"]);
}

/** {@link flocker}, once it holds the lock. */
export async function flockHolder(path: string, exclusive: boolean): Promise<Child> {
  const child = flocker(path, exclusive);
  assert.equal(await child.line(), "locked");
  return child;
}

export async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}
