/**
 * `status`, `stop`, `reload` and `signal`: operating a running instance
 * through its pidfile (`--pidfile FILE`, relative to the working directory,
 * or `-c FILE` with `Daemon.pidfile`).
 *
 * @module
 */

import { EXIT_CODES, FlagstaffError } from "../core/errors.ts";
import { signalName } from "../core/signal_table.ts";
import type { Config } from "../config/config.ts";
import {
  type CommandContext,
  pidfileOption,
  readConfig,
  stateDirFor,
  stringOf,
} from "./context.ts";
import { INSTANCE_OPTIONS } from "./options.ts";
import { out } from "./output.ts";
import type { CommandSpec } from "./spec.ts";

/** The spec of `status`. */
export const STATUS_SPEC: CommandSpec = {
  name: "status",
  summary:
    "say whether the instance runs (exit 0), not (exit 3) or cannot be told (exit 4), with its pid, uptime and the next run of each schedule",
  options: INSTANCE_OPTIONS,
};

/** The spec of `stop`. */
export const STOP_SPEC: CommandSpec = {
  name: "stop",
  summary: "send TERM to the instance and wait until it has stopped",
  options: [
    ...INSTANCE_OPTIONS,
    {
      long: "timeout",
      value: "seconds",
      description: "how long to wait for it to stop",
      defaultText: "10",
    },
    { long: "force", description: "send KILL when the timeout runs out" },
  ],
};

/** The spec of `reload`. */
export const RELOAD_SPEC: CommandSpec = {
  name: "reload",
  summary: "send HUP to the instance (reload its config)",
  options: INSTANCE_OPTIONS,
};

/** The spec of `signal`. */
export const SIGNAL_SPEC: CommandSpec = {
  name: "signal",
  summary: "send a signal to the instance",
  options: INSTANCE_OPTIONS,
  arguments: [{ name: "signal", description: "HUP, USR1, USR2, TERM or INT" }],
};

async function pidfileOf(context: CommandContext, config?: Config): Promise<string> {
  const path = pidfileOption(context) ?? (config ?? await readConfig(context)).daemon.pidfile;
  if (!path) {
    const file = stringOf(context, "config");
    throw new FlagstaffError(
      "usage",
      file
        ? `No pidfile: ${file} has no Daemon.pidfile; give --pidfile FILE`
        : "No pidfile: give --pidfile FILE, or -c FILE with Daemon.pidfile set",
    );
  }
  return path;
}

/**
 * Runs `status`: 0 when it runs, 3 when not, 4 when the pid its pidfile's
 * lock is in the name of cannot be checked to hold it (not root). When it runs, each schedule's
 * next run is read from the state file in the folder `run` uses
 * (`Daemon.state_dir`, else the default for the app's name), if that file
 * was written by the running instance (its pid).
 */
export async function status(context: CommandContext): Promise<number> {
  const config = await readConfig(context);
  const pidfile = await pidfileOf(context, config);
  const { formatUptime, serviceStatus, staleReason, uncheckedReason } = await import(
    "../os/service.ts"
  );
  const found = await serviceStatus(pidfile);
  if (found.running && found.unchecked !== undefined) {
    out(`unknown: pid ${found.pid} may run: ${uncheckedReason(pidfile, found)}\n`);
    return EXIT_CODES.unknown;
  }
  if (found.running) {
    const uptime = found.uptimeS === undefined ? "" : `, up ${formatUptime(found.uptimeS)}`;
    out(`running as pid ${found.pid} (pidfile ${pidfile})${uptime}\n`);
    for (const line of await scheduleLines(context, config, found.pid)) out(`${line}\n`);
    return EXIT_CODES.ok;
  }
  const why = found.stale
    ? `pidfile ${pidfile} is stale${staleReason(pidfile, found)}`
    : `no pidfile ${pidfile}`;
  out(`not running (${why})\n`);
  return EXIT_CODES.notRunning;
}

/**
 * The next run of each schedule of the instance `pid`, from its state file;
 * none when the file is not its. The file is read only from a folder and
 * file of the instance's user (its effective uid, from `/proc/<pid>/status`)
 * that no other user can change (`readScheduleState`); otherwise one line
 * says why nothing is shown. Every text taken from the file is escaped
 * ({@link escapeText}): the file is data, never terminal control.
 */
async function scheduleLines(
  context: CommandContext,
  config: Config,
  pid: number | undefined,
): Promise<string[]> {
  const dir = await stateDirFor(context, config);
  if (!dir || pid === undefined) return [];
  const [{ readScheduleState, SCHEDULE_STATE_FILE }, { formatZoned }, { join }] = await Promise
    .all([
      import("../schedules/state_file.ts"),
      import("../schedules/zoned_time.ts"),
      import("node:path"),
    ]);
  let state;
  try {
    const owner = await processUid(pid);
    if (owner === undefined) {
      return [`schedules: not shown: cannot tell which user pid ${pid} runs as`];
    }
    state = readScheduleState(join(dir, SCHEDULE_STATE_FILE), { owner });
  } catch {
    return []; // No libc (--allow-ffi): nothing to say.
  }
  if (state.problem) {
    const { subject, path, reason } = state.problem;
    const said = subject === "folder" ? `is refused: ${reason}` : reason;
    return [escapeText(`schedules: not shown: the state ${subject} "${path}" ${said}`)];
  }
  if (state.pid !== pid) return [];
  return state.nextRuns.map((next) => {
    let at = "none (its timetable has ended)";
    if (next.atMs !== null) {
      try {
        at = formatZoned(next.atMs, next.timezone);
      } catch {
        at = new Date(next.atMs).toISOString(); // A zone this system does not know.
      }
    }
    return `schedule ${quoteText(next.name)}: next run ${escapeText(at)} (${
      escapeText(next.timetable)
    })`;
  });
}

/**
 * What a terminal must not get raw from a file: C0 and C1 controls, DEL, the
 * line and paragraph separators, bidi marks, overrides and isolates,
 * zero-width characters, lone surrogates, and the backslash that escapes
 * them.
 */
const UNSAFE_TEXT =
  // deno-lint-ignore no-control-regex
  /[\\\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with each character of {@link UNSAFE_TEXT} as `\uXXXX` (a backslash as `\\`). */
function escapeText(text: string): string {
  return text.replace(
    UNSAFE_TEXT,
    (char) => char === "\\" ? "\\\\" : `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** `text` in double quotes, escaped as {@link escapeText} does, with `"` as `\"`. */
function quoteText(text: string): string {
  return `"${escapeText(text).replaceAll('"', '\\"')}"`;
}

/**
 * The effective uid of process `pid` (the `Uid:` line of
 * `/proc/<pid>/status`, read through libc); undefined when it cannot be read.
 */
async function processUid(pid: number): Promise<number | undefined> {
  const { closeFd, O_RDONLY, openNoFollow, readAtMost } = await import("../os/safe_file.ts");
  let fd: number;
  try {
    fd = openNoFollow(`/proc/${pid}/status`, O_RDONLY);
  } catch {
    return undefined;
  }
  try {
    const text = new TextDecoder().decode(readAtMost(fd, 8192));
    const uids = /^Uid:\s+\d+\s+(\d+)/m.exec(text);
    return uids ? Number(uids[1]) : undefined;
  } catch {
    return undefined;
  } finally {
    closeFd(fd);
  }
}

/** Runs `stop`. */
export async function stop(context: CommandContext): Promise<number> {
  const pidfile = await pidfileOf(context);
  const given = stringOf(context, "timeout");
  const timeoutS = given === undefined ? 10 : Number(given);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    throw new FlagstaffError(
      "usage",
      `--timeout takes a positive number of seconds, got "${given}"`,
    );
  }
  const { stopService } = await import("../os/service.ts");
  const result = await stopService(pidfile, {
    timeoutS,
    force: context.values.force === true,
  });
  out(
    result.wasRunning
      ? `stopped pid ${result.pid}${result.killed ? " (with KILL)" : ""}\n`
      : `not running (pidfile ${pidfile}${result.stale ?? ""})\n`,
  );
  return EXIT_CODES.ok;
}

/** Runs `signal` (and `reload`, with HUP). */
export async function signal(context: CommandContext, name?: string): Promise<number> {
  const given = name ?? context.positionals[0];
  const found = signalName(given);
  if (!found) {
    throw new FlagstaffError(
      "usage",
      `Unknown signal "${given}" (expected HUP, USR1, USR2, TERM or INT)`,
    );
  }
  const pidfile = await pidfileOf(context);
  const { signalService } = await import("../os/service.ts");
  const pid = await signalService(pidfile, found);
  out(`sent ${found} to pid ${pid}\n`);
  return EXIT_CODES.ok;
}

/** Runs `reload`: `signal HUP`. */
export function reload(context: CommandContext): Promise<number> {
  return signal(context, "HUP");
}
