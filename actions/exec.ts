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
 *   The static `check()` answers the same questions without setting
 *   anything up, in the same words: `flagstaff check` reports them.
 * - Each run spawns the program and waits for it (it is always reaped). On
 *   Linux and the other POSIX systems the program leads a process group of
 *   its own: Deno's `detached: true` calls `setsid()` in the child, so the
 *   program is the leader of a new session and process group (pgid = its
 *   pid) with no controlling terminal; what it starts (`sh -c 'a & b'`)
 *   joins that group.
 * - When the run's `signal` fires (a stop, or the run's `timeout`), SIGTERM
 *   goes to the whole group (`kill(-pgid, SIGTERM)`), then SIGKILL to the
 *   group if anything of it is still there `killGraceMs` (5 s) later. The
 *   run returns once the program itself has exited; a stop waits (in
 *   tear-down) until every such group is gone or has had its SIGKILL.
 *   SIGCONT follows SIGTERM, as systemd does, so that a stopped member acts
 *   on it; repeated every 50 ms during the grace period, it also tells when
 *   the group is gone (it fails then). A zombie that nobody has reaped yet
 *   still counts as a member.
 * - Out of reach: a descendant that leaves the group (`setsid`, `setpgid`,
 *   a daemon that double-forks into its own session) is never signalled.
 *   Nor is what a program left running when it exited on its own, before
 *   the run's signal fired (`sh -c 'daemon &'`): the run is over then.
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

import type { ActionArgument, ActionContext } from "../lib/runtime/action.ts";
import { delay, setLongTimeout } from "../lib/core/delay.ts";
import { findProgram } from "./_find_program.ts";
import { OutputTail } from "./_output_tail.ts";

/** Whether the OS has process groups (everything but Windows). */
const posix = Deno.build.os !== "windows";
/** How often a process group is checked during the grace period, in milliseconds. */
const GROUP_POLL_MS = 50;

/** Options for {@link ExecAction}, for tests and library mode. */
export interface ExecActionOptions {
  /** How many of the last output lines to log. Default 10. */
  tailLines?: number;
  /** After the run's signal fires (SIGTERM to the group), how long before SIGKILL. Default 5000. */
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
  /** Process groups sent SIGTERM whose SIGKILL (or end) is still awaited. */
  readonly #ending = new Map<number, Promise<void>>();

  /** The runtime constructs the action with its context; `options` are for tests. */
  constructor(context: ActionContext, options: ExecActionOptions = {}) {
    this.#context = context;
    this.#tailLines = options.tailLines ?? 10;
    this.#killGraceMs = options.killGraceMs ?? 5_000;
    this.#drainGraceMs = options.drainGraceMs ?? 1_000;
  }

  /**
   * Says, without side effects, what {@link setUp} would refuse: the same
   * message, or undefined. `flagstaff check` calls it instead of `setUp()`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import ExecAction from "./exec.ts";
   * assert.equal(ExecAction.check("sh", "-c", "true"), undefined);
   * assert.equal(
   *   ExecAction.check("flagstaff-no-such-program"),
   *   'Cannot find program "flagstaff-no-such-program" (searched PATH)',
   * );
   * ```
   */
  static check(command: string, ..._args: string[]): string | undefined {
    const found = findProgram(command);
    return "problem" in found ? found.problem : undefined;
  }

  /**
   * Keeps the command and checks that it can be run.
   *
   * @throws {Error} when the program cannot be found, is not executable, or
   * `--allow-run` does not cover it.
   */
  setUp(command: string, ...args: string[]): void {
    const found = findProgram(command);
    if ("problem" in found) throw new Error(found.problem);
    this.#program = found.program;
    this.#args = args;
    this.#commandLine = [command, ...args].map(quoteWord).join(" ");
    if (found.unknown) {
      this.#context.logger.debug(
        'exec "{command}": cannot check the program now ({why}), at run time then',
        { command: this.#commandLine, why: found.unknown },
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
        // setsid(): the program leads its own session and process group.
        detached: posix,
      }).spawn();
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? `Cannot find program "${this.#program}"`
        : describe(error);
      logger.error('exec "{command}" cannot start: {reason}', { command, reason });
      return;
    }

    // Registered while it may still have members, so that a forced exit kills it too.
    const untrack = posix && child.pid > 1
      ? context.runtime.processGroup?.(child.pid) ?? (() => {})
      : () => {};
    const tail = new OutputTail({ maxLines: this.#tailLines });
    const drain = new AbortController();
    const reading = Promise.all([
      collect(child.stdout, (text) => tail.write("stdout", text), drain.signal),
      collect(child.stderr, (text) => tail.write("stderr", text), drain.signal),
    ]);
    const onAbort = () => this.#endGroup(child, context);
    signal.addEventListener("abort", onAbort, { once: true });
    let status: Deno.CommandStatus;
    try {
      status = await child.status;
    } finally {
      signal.removeEventListener("abort", onAbort);
      const ending = this.#ending.get(child.pid);
      if (ending) ending.finally(untrack);
      else untrack();
    }
    const drainTimer = setLongTimeout(() => drain.abort(), this.#drainGraceMs);
    try {
      await reading;
    } finally {
      drainTimer.cancel();
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

  /**
   * On a stop (its context's `signal` has fired), waits until every process
   * group this action sent SIGTERM is gone or has had its SIGKILL (at most
   * `killGraceMs`), so that flagstaff leaves none behind when it exits.
   * Otherwise (a reload removed the action, or it closed) returns at once:
   * those groups are still ended in the background.
   */
  async tearDown(): Promise<void> {
    if (!this.#context.signal.aborted) return;
    while (this.#ending.size > 0) await Promise.all(this.#ending.values());
  }

  /**
   * Sends SIGTERM to the program's process group, then SIGKILL once the
   * grace period is over if anything of the group is left; tracked in
   * {@link #ending} until then.
   */
  #endGroup(child: Deno.ChildProcess, context: ActionContext): void {
    const pgid = child.pid;
    if (!posix || !(pgid > 1)) {
      // No process groups (Windows): the program alone.
      trySignal(() => child.kill("SIGTERM"));
      const timer = setLongTimeout(() => trySignal(() => child.kill("SIGKILL")), this.#killGraceMs);
      child.status.finally(() => timer.cancel());
      return;
    }
    if (!trySignal(() => Deno.kill(-pgid, "SIGTERM"))) return; // The group is gone already.
    // SIGCONT wakes a stopped member to act on SIGTERM; it fails once the group is empty.
    const groupLeft = () => trySignal(() => Deno.kill(-pgid, "SIGCONT"));
    const ending = (async () => {
      if (!groupLeft()) return;
      const deadlineMs = performance.now() + this.#killGraceMs;
      for (let left = this.#killGraceMs; left > 0; left = deadlineMs - performance.now()) {
        await delay(Math.min(left, GROUP_POLL_MS));
        if (!groupLeft()) return;
      }
      if (trySignal(() => Deno.kill(-pgid, "SIGKILL"))) {
        context.logger.warn(
          'exec "{command}": its process group {pgid} was still there {seconds} s after SIGTERM: sent SIGKILL',
          { command: this.#commandLine, pgid, seconds: this.#killGraceMs / 1000 },
        );
      }
    })();
    this.#ending.set(pgid, ending);
    ending.finally(() => this.#ending.delete(pgid));
  }
}

/** Sends a signal; false when there was nothing to signal any more (`ESRCH`). */
function trySignal(send: () => void): boolean {
  try {
    send();
    return true;
  } catch (error) {
    // EPERM: something is there that flagstaff may not signal.
    return !(error instanceof Deno.errors.NotFound);
  }
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
