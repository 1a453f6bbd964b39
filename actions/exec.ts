/**
 * `exec COMMAND [ARGS...]`: runs a program on each run, without a shell
 * (`Deno.Command`: no globbing, no pipes, no variables; ARGS reach it as they
 * are), with stdin closed and stdout and stderr captured.
 *
 * - Set-up checks that the program exists: a path (with a `/`) must be an
 *   executable file, a bare name must be found on `PATH`. When flagstaff may
 *   not read `PATH` (no `--allow-env=PATH`) or stat the file (no
 *   `--allow-read`), the check waits for the first run. Set-up also checks
 *   that `--allow-run` covers the program, for a clear message up front.
 * - Each run spawns the program and waits for it (it is always reaped). The
 *   run's `signal` (a stop, or the run's `timeout`) sends it SIGTERM, then
 *   SIGKILL if it is still running 5 s later.
 * - The exit is logged at info (`exec "cmd args" exited with code 0`), or at
 *   warning for a non-zero code or a signal, followed by the last 10 lines of
 *   its output (stdout and stderr together) at the same level. A program that
 *   cannot start is logged at error. Nothing is thrown.
 *
 * Output pipes that a grandchild keeps open (`sh -c 'daemon &'`) are read for
 * 1 s more after the program exits, then closed, so a run never hangs on them.
 *
 * @module
 */

import { delimiter, join, resolve } from "node:path";
import type { ActionArgument, ActionContext } from "../lib/action.ts";
import { OutputTail } from "./_output_tail.ts";

/** Options for {@link ExecAction}, for tests and library mode. */
export interface ExecActionOptions {
  /** How many of the last output lines to log. Default 10. */
  tailLines?: number;
  /** After the run's signal fires (SIGTERM), how long before SIGKILL. Default 5000. */
  killGraceMs?: number;
  /** After the program exits, how long to keep reading pipes others hold open. Default 1000. */
  drainGraceMs?: number;
}

/** Runs a program without a shell on each run and logs how it ended. */
export default class ExecAction {
  /** One line for `flagstaff list`. */
  static readonly description =
    "Runs a program without a shell and logs its exit code and the end of its output";
  /** The arguments it takes. */
  static readonly arguments: readonly ActionArgument[] = [
    { name: "command", doc: "program to run: a path, or a name looked up on PATH" },
    { name: "args", variadic: true, doc: "its arguments, passed as they are (no shell)" },
  ];

  readonly #context: ActionContext;
  readonly #tailLines: number;
  readonly #killGraceMs: number;
  readonly #drainGraceMs: number;
  #program = "";
  #args: string[] = [];
  #commandLine = "";

  /** The runtime constructs the action with its context; `options` are for tests. */
  constructor(context: ActionContext, options: ExecActionOptions = {}) {
    this.#context = context;
    this.#tailLines = options.tailLines ?? 10;
    this.#killGraceMs = options.killGraceMs ?? 5_000;
    this.#drainGraceMs = options.drainGraceMs ?? 1_000;
  }

  /**
   * Keeps the command and checks that it can be run.
   *
   * @throws {Error} when the program cannot be found, is not executable, or
   * `--allow-run` does not cover it.
   */
  setUp(command: string, ...args: string[]): void {
    if (command === "") throw new Error('Argument "command" is empty');
    this.#program = isPath(command) ? absolute(command) : command;
    this.#args = args;
    this.#commandLine = [command, ...args].map(quoteWord).join(" ");
    const permission = Deno.permissions.querySync({ name: "run", command: this.#program });
    if (permission.state !== "granted") {
      throw new Error(
        `Flagstaff may not run "${command}": give it --allow-run=${command} (or --allow-run)`,
      );
    }
    const found = isPath(command) ? checkFile(this.#program) : searchPath(command);
    if (found.state === "missing") throw new Error(found.message);
    if (found.state === "unknown") {
      this.#context.logger.debug(
        'exec "{command}": cannot check the program now ({why}), at run time then',
        { command: this.#commandLine, why: found.why },
      );
    }
  }

  /** Runs the program, waits for it, and logs its exit and the end of its output. */
  async run(context: ActionContext): Promise<void> {
    const { logger, signal } = context;
    const command = this.#commandLine;
    if (signal.aborted) {
      logger.debug('exec "{command}" not started: {reason}', {
        command,
        reason: describe(signal.reason),
      });
      return;
    }
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(this.#program, {
        args: this.#args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal,
      }).spawn();
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? `Cannot find program "${this.#program}"`
        : describe(error);
      logger.error('exec "{command}" cannot start: {reason}', { command, reason });
      return;
    }

    const tail = new OutputTail({ maxLines: this.#tailLines });
    const drain = new AbortController();
    const reading = Promise.all([
      collect(child.stdout, (text) => tail.write("stdout", text), drain.signal),
      collect(child.stderr, (text) => tail.write("stderr", text), drain.signal),
    ]);
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      // Deno sends SIGTERM itself; this is the fallback for a program that ignores it.
      killTimer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // It has exited meanwhile.
        }
      }, this.#killGraceMs);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    let status: Deno.CommandStatus;
    try {
      status = await child.status;
    } finally {
      signal.removeEventListener("abort", onAbort);
      clearTimeout(killTimer);
    }
    const drainTimer = setTimeout(() => drain.abort(), this.#drainGraceMs);
    try {
      await reading;
    } finally {
      clearTimeout(drainTimer);
    }
    tail.end();

    const level = status.code === 0 && status.signal === null ? "info" : "warn";
    if (status.signal !== null) {
      const why = signal.aborted ? `, after its run was aborted: ${describe(signal.reason)}` : "";
      logger[level]('exec "{command}" was killed by {signal}{why}', {
        command,
        signal: status.signal,
        why,
      });
    } else {
      logger[level]('exec "{command}" exited with code {code}', { command, code: status.code });
    }
    if (tail.total > 0) {
      const shown = tail.lines.length;
      const count = shown === tail.total ? `${shown}` : `last ${shown} of ${tail.total}`;
      logger[level]('exec "{command}" output ({count} line{s}):\n{output}', {
        command,
        count,
        s: tail.total === 1 ? "" : "s",
        output: tail.lines.map((line) => `  ${line}`).join("\n"),
      });
    }
  }
}

/** Whether a command names a file (has a path separator) rather than a name to look up. */
function isPath(command: string): boolean {
  return command.includes("/") || (Deno.build.os === "windows" && command.includes("\\"));
}

/** Makes a path absolute against the working directory, if flagstaff may read it. */
function absolute(path: string): string {
  try {
    return resolve(path);
  } catch {
    return path;
  }
}

/** What set-up learnt about a program: found, missing, or not knowable with the permissions given. */
type Found =
  | { state: "found" }
  | { state: "missing"; message: string }
  | { state: "unknown"; why: string };

/** Checks that a path is an executable file. */
function checkFile(path: string): Found {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      return { state: "unknown", why: "no read permission" };
    }
    return { state: "missing", message: `Cannot find program "${path}": ${describe(error)}` };
  }
  if (!info.isFile) {
    return { state: "missing", message: `Cannot run program "${path}": it is not a file` };
  }
  if (!isExecutable(info)) {
    return { state: "missing", message: `Cannot run program "${path}": it is not executable` };
  }
  return { state: "found" };
}

/** Looks a bare name up on PATH, as `execvp` does (an empty entry is the working directory). */
function searchPath(name: string): Found {
  let path: string | undefined;
  let extensions = [""];
  try {
    path = Deno.env.get("PATH");
    if (Deno.build.os === "windows" && !/\.[^.\\/]+$/.test(name)) {
      const pathext = Deno.env.get("PATHEXT") ?? ".COM;.EXE;.BAT;.CMD";
      extensions = ["", ...pathext.split(";").filter((ext) => ext !== "")];
    }
  } catch {
    return { state: "unknown", why: "no env permission for PATH" };
  }
  if (path === undefined) return { state: "unknown", why: "PATH is not set" };
  for (const dir of path.split(delimiter)) {
    for (const extension of extensions) {
      try {
        const info = Deno.statSync(join(dir || ".", name + extension));
        if (info.isFile && isExecutable(info)) return { state: "found" };
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) {
          return { state: "unknown", why: `no read permission for "${dir}"` };
        }
      }
    }
  }
  return { state: "missing", message: `Cannot find program "${name}" (searched PATH)` };
}

/** Whether any execute bit is set (always true where modes do not exist). */
function isExecutable(info: Deno.FileInfo): boolean {
  return info.mode === null || (info.mode & 0o111) !== 0;
}

/** Quotes a word as a POSIX shell would need it, for log lines people may paste. */
function quoteWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Reads a stream to its end (or until `stop` fires), decoding it as UTF-8. */
async function collect(
  stream: ReadableStream<Uint8Array>,
  onText: (text: string) => void,
  stop: AbortSignal,
): Promise<void> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const onStop = () => {
    reader.cancel().catch(() => {});
  };
  stop.addEventListener("abort", onStop, { once: true });
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      onText(decoder.decode(value, { stream: true }));
    }
  } catch {
    // A read error ends the output; the exit status is still logged.
  } finally {
    stop.removeEventListener("abort", onStop);
    onText(decoder.decode());
    reader.releaseLock();
  }
}

/** Describes an error or abort reason in a few words. */
function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
