/**
 * The assembly of a run, in the order DESIGN.md sets (and the trust model
 * requires): signal listeners (already installed by `main.ts` or `start()`)
 * → read and validate the config → detach (`--daemon`) → hard stop → umask →
 * root-only resources (pidfile, notify socket, log files) → drop privileges
 * → import and set up user code → ready.
 *
 * @module
 */

import { dirname } from "node:path";
import type { Config } from "../config/config.ts";
import { FlagstaffError, messageOf } from "../core/errors.ts";
import { getLogger } from "../deps.ts";
import { epochNowMs, HardStop } from "../os/hard_stop.ts";
import { InspectorGuard } from "../os/inspector_guard.ts";
import type { Pidfile } from "../os/pidfile.ts";
import type { SignalInbox } from "../os/signals.ts";
import {
  type CommandContext,
  env,
  flagOf,
  loadControllerFor,
  pidfileOption,
  readConfig,
  registryFor,
  stateDirOrProblem,
  stem,
  stringOf,
} from "./context.ts";
import { countScheduleUses, countUses, effectiveUses, noActions } from "./uses.ts";
import { cliSchedules } from "./schedules.ts";
import { IdleCollector } from "../runtime/heap.ts";
import { daemonWarnings } from "./_daemon_warnings.ts";
import { dropPrivilegesNow } from "./drop.ts";
import { verbosityOf } from "./options.ts";
import { exitCodeOf, userError, write } from "./output.ts";

const log = getLogger(["flagstaff", "cli"]);

/**
 * Variables of flagstaff's own supervision, read once and kept from children
 * (sd_notify's unset_environment): a program an action runs is not the
 * service systemd watches, nor flagstaff's `--daemon` child.
 */
const SUPERVISION_ENV = [
  "NOTIFY_SOCKET",
  "WATCHDOG_USEC",
  "WATCHDOG_PID",
  "FLAGSTAFF_READY_SOCKET",
  "FLAGSTAFF_DETACHED",
  "FLAGSTAFF_STANDALONE",
] as const;

type Supervision = Partial<Record<(typeof SUPERVISION_ENV)[number], string>>;

/** Reads the supervision variables, then removes them from the environment children inherit. */
function takeSupervisionEnv(): Supervision {
  const taken: Supervision = {};
  for (const name of SUPERVISION_ENV) {
    const value = env(name);
    if (value === undefined) continue;
    taken[name] = value;
    try {
      Deno.env.delete(name);
    } catch {
      // No env permission for it: it was not readable either.
    }
  }
  return taken;
}

/**
 * Under `deno run` (`FLAGSTAFF_STANDALONE=1` changes only how modules load:
 * Deno's debugger is still there), hold 127.0.0.1:9229 well before Deno's
 * SIGUSR1 debugger can open (500 ms after start), and close any that opens
 * on a USR1; say so once. Every delivery is also counted by `collector`,
 * which collects garbage once a burst of signals is over.
 */
function guardUsr1(inbox: SignalInbox, collector: IdleCollector): InspectorGuard | undefined {
  if (Deno.build.standalone) {
    inbox.setDeliveryHook(() => collector.note());
    return undefined;
  }
  const guard = InspectorGuard.start();
  let warned = false;
  inbox.setDeliveryHook((signal) => {
    collector.note();
    if (signal !== "SIGUSR1") return;
    guard.onSigusr1();
    if (warned) return;
    warned = true;
    const state = guard.state;
    log.warn(
      "Received SIGUSR1 under `deno run`, where Deno opens a V8 debugger on 127.0.0.1:9229 for it; " +
        "{how}. Prefer SIGHUP, or the compiled binary, which has no such debugger",
      {
        how: state.held
          ? 'flagstaff holds that port so it cannot (Deno prints "Failed to start inspector server")'
          : `it cannot while ${state.reason}, and flagstaff closes any that opens`,
      },
    );
  });
  return guard;
}

/**
 * Log files are opened by the user flagstaff runs as: after the privilege
 * drop when there is one, so that a link planted in a folder that user can
 * write gains nothing. Each is checked before LogTape opens it
 * (`prepareLogFile()` of `log_folder.ts`): every folder from `/` to it one
 * that no other user can change (a shared sticky folder such as /tmp only
 * for a file LogTape opens once), and the file a regular file of this user
 * with one link, created if missing, never through a link, a FIFO or a device.
 */
async function logFilePreparer(): Promise<
  (path: string, file: { reopens?: "create" | "rotate" }) => void
> {
  const { prepareLogFile } = await import("../os/log_folder.ts");
  return (path, file) => prepareLogFile(path, file);
}

/** Applies logging; a failure is the config's (`config_invalid`, exit 2). */
async function setUpLogging(apply: () => Promise<void>): Promise<void> {
  try {
    await apply();
  } catch (error) {
    throw new FlagstaffError("config_invalid", `Cannot set up logging: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/**
 * Runs `flagstaff run` (and an app's default command) to its end and
 * returns the exit code.
 *
 * @throws {FlagstaffError} for what stops it before it runs (config, pidfile,
 *   privileges, a controller or action that cannot be loaded).
 */
export async function assembleAndRun(context: CommandContext): Promise<number> {
  const { inbox, options, program } = context;
  const verbosity = verbosityOf(
    typeof context.values.verbose === "number" ? context.values.verbose : 0,
    flagOf(context, "quiet") === true,
  );
  // From here on a TERM is honoured within stop_timeout whatever JavaScript does (the default
  // 10 s until the config is read): the Worker starts before anything slow, such as the config.
  const hardStop = HardStop.start();
  // A TERM that came before the Worker ran counts from when it arrived.
  const stopAt = () =>
    inbox.firstStopAtMs === undefined ? epochNowMs() : performance.timeOrigin + inbox.firstStopAtMs;
  if (inbox.firstStopAtMs !== undefined) hardStop.stopping(stopAt());
  // After a burst of signals, a full collection gives back the heap V8 grew for it.
  const collector = new IdleCollector();
  const guard = guardUsr1(inbox, collector);
  const [
    { detach, isDetachedChild, readyHandshake },
    { notifierFromEnv, watchdogIntervalUs },
    { logNotifyError, systemdObserver },
    { applyLogging, shutdownLogging },
    { Runtime },
  ] = await Promise.all([
    import("../os/daemon.ts"),
    import("../os/notify.ts"),
    import("../os/systemd.ts"),
    import("../logging/logging.ts"),
    import("../runtime/runtime.ts"),
  ]);
  let schedules: Awaited<ReturnType<typeof cliSchedules>>;
  let config: Config;
  try {
    schedules = await cliSchedules(context.schedules, program);
    config = await readConfig(context, { forStart: true });
  } catch (error) {
    // Nothing ran: no Worker is left to keep a library app's process alive.
    guard?.[Symbol.dispose]();
    collector[Symbol.dispose]();
    hardStop[Symbol.dispose]();
    throw error;
  }
  const detached = isDetachedChild();
  const daemon = flagOf(context, "daemon") === true || config.daemon.detach === true;
  if (!detached && flagOf(context, "foreground") !== true && daemon) {
    // The parent waits for the child's handshake; a Ctrl-C (or TERM) meanwhile stops the
    // child it started, so no half-started daemon is left behind, and exits 1.
    guard?.[Symbol.dispose]();
    collector[Symbol.dispose]();
    hardStop[Symbol.dispose](); // The child has its own.
    const interrupted = new AbortController();
    inbox.listen((signal) => {
      if (signal === "SIGTERM" || signal === "SIGINT") interrupted.abort();
    });
    const code = await detach(context.argv, {
      printError: (message) => write(Deno.stderr, `error: ${message}\n`),
      stopTimeoutMs: config.daemon.stop_timeout * 1000,
      signal: interrupted.signal,
    });
    // Once it runs, while there is still a terminal to say it on.
    if (code === 0) {
      for (const warning of daemonWarnings(context, config)) {
        write(Deno.stderr, `warning: ${warning}\n`);
      }
    }
    return code;
  }
  hardStop.configure(config.daemon.stop_timeout * 1000);
  if (config.daemon.umask !== undefined) {
    // Before the first file flagstaff creates (pidfile, log files).
    (await import("../os/privileges.ts")).setUmask(config.daemon.umask);
  }
  // The handshake reads its socket's name; then the supervision variables leave the environment.
  const handshake = readyHandshake();
  (await import("../runtime/loader.ts")).isStandalone();
  const supervision = takeSupervisionEnv();
  let pidfile: Pidfile | undefined;
  const notifier = flagOf(context, "systemd") === false
    ? undefined
    : notifierFromEnv({ NOTIFY_SOCKET: supervision.NOTIFY_SOCKET }, { onError: logNotifyError });
  let reaper: Disposable | undefined;
  try {
    // Detached, there is no terminal: `debug_only` handlers drop out, errors also go to the errors file.
    const foreground = !detached;
    const prepareFile = await logFilePreparer();
    const configureLogging = (next: Config) =>
      applyLogging(next.logging, { foreground, verbosity, prepareFile });
    const dropping = config.daemon.user !== undefined || config.daemon.group !== undefined;
    const pidfilePath = pidfileOption(context) ?? config.daemon.pidfile;
    if (pidfileOption(context) && !(await isFolder(dirname(pidfilePath!)))) {
      // As for Daemon.pidfile (a config error there): a usage error, exit 2.
      throw new FlagstaffError(
        "usage",
        `Cannot create pidfile "${pidfilePath}": its folder "${dirname(pidfilePath!)}" does not ` +
          "exist (flagstaff creates the pidfile, not folders)",
      );
    }
    if (pidfilePath) {
      const { acquirePidfile } = await import("../os/pidfile.ts");
      pidfile = await acquirePidfile(pidfilePath);
      hardStop.configure(config.daemon.stop_timeout * 1000, {
        path: pidfile.path,
        pid: pidfile.pid,
      });
    }
    // With a drop ahead, log files wait for it: their records go to stderr meanwhile.
    await setUpLogging(() =>
      applyLogging(config.logging, { foreground, verbosity, prepareFile, withoutFiles: dropping })
    );
    if (pidfile?.stale) {
      log.info("Replaced stale pidfile {path} (pid {pid} no longer runs)", {
        path: pidfile.path,
        pid: pidfile.previousPid ?? "unknown",
      });
      if (pidfile.lockNotHeld !== undefined) {
        log.warn(
          "The stale pidfile {path} was locked in the name of pid {pid}, but {found}: another process holds its lock through an inherited descriptor; the file was replaced, and lsof +L1 lists the holder among the open files that no longer have a name",
          { path: pidfile.path, pid: pidfile.previousPid, found: pidfile.lockNotHeld },
        );
      }
      for (const lock of pidfile.ignoredLocks) {
        if (pidfile.lockNotHeld !== undefined && lock.pid === pidfile.previousPid) continue;
        log.warn("Ignored a lock held by pid {pid} on the stale pidfile {path}", {
          pid: lock.pid,
          path: pidfile.path,
        });
      }
    }
    const deadline = await hardStop.available();
    // The Worker listens for TERM from now on; one that came before it did counts from its arrival.
    if (inbox.firstStopAtMs !== undefined) hardStop.stopping(stopAt());
    if (!deadline.ok) {
      log.warn("No hard stop deadline (a blocked event loop can outlast stop_timeout): {reason}", {
        reason: deadline.reason,
      });
    }
    if (Deno.pid === 1) reaper = (await import("../os/reaper.ts")).startReaper();
    // The state file has two readers: catch_up at the next start, and `status` (which finds the
    // instance by its pidfile). Without either, nothing is written. As root the default folder
    // is root's (/var/lib/<name>), as `status` finds it.
    const keepsState = config.schedules.length + schedules.length > 0 &&
      (pidfilePath !== undefined || config.schedules.some((schedule) => schedule.catchUp));
    const state = keepsState ? await stateDirOrProblem(context, config) : undefined;
    const stateDir = state && "dir" in state ? state.dir : undefined;
    const sayDropped = await dropPrivilegesNow(config);
    if (dropping) await setUpLogging(() => configureLogging(config));
    sayDropped();
    // User code from here on: after the drop.
    const loaded = await loadControllerFor(context, config);
    if (
      !loaded.controller &&
      countUses(effectiveUses(config, context.actions)) + countScheduleUses(config, schedules) === 0
    ) {
      throw noActions(program);
    }
    const systemd = notifier ? systemdObserver(notifier, { mainPid: detached }) : undefined;
    const watchdogUs = notifier
      ? watchdogIntervalUs({
        WATCHDOG_USEC: supervision.WATCHDOG_USEC,
        WATCHDOG_PID: supervision.WATCHDOG_PID,
      }, Deno.pid)
      : undefined;
    let failure: string | undefined;
    const runtime: InstanceType<typeof Runtime> = new Runtime(loaded.controller, {
      name: loaded.name,
      program: program.name,
      config,
      cliActions: context.actions,
      cliSchedules: schedules,
      stateDir,
      stateDirProblem: state && "problem" in state ? state.problem : undefined,
      loadRegistry: registryFor(context),
      // A reload is refused for what `check` and `run` refuse: the controller it names must load.
      async validate(next) {
        const now = await loadControllerFor(context, next);
        if (now.source !== loaded.source) {
          log.warn(
            "Application.controller changed from {before} to {after}: it takes effect at the next start (or a restart action)",
            { before: loaded.source ?? "(none)", after: now.source ?? "(none)" },
          );
        }
      },
      successfulEmpty: flagOf(context, "successful-empty") === true,
      foreground,
      configureLogging,
      signals: inbox,
      args: context.appArgs,
      watchdogIntervalMs: watchdogUs ? watchdogUs / 1000 : undefined,
      onProcessGroup: (pgid) => hardStop.trackGroup(pgid),
      observe(event) {
        systemd?.(event);
        if (event.type === "ready") handshake.ready();
        if (event.type === "failed") failure ??= event.message;
        if (event.type === "stopping") hardStop.stopping(stopAt());
        if (event.type === "reloaded" && !event.error) {
          hardStop.configure(
            runtime.config.daemon.stop_timeout * 1000,
            pidfile ? { path: pidfile.path, pid: pidfile.pid } : undefined,
          );
        }
      },
    });
    const stopOnAbort = () => runtime.stop("Stopped by the app's AbortSignal");
    if (options.signal?.aborted) stopOnAbort();
    options.signal?.addEventListener("abort", stopOnAbort, { once: true });
    const code = await runtime.run().finally(() =>
      options.signal?.removeEventListener("abort", stopOnAbort)
    );
    if (code !== 0) await handshake.failed(failure ?? `exited with code ${code}`, code);
    return code;
  } catch (error) {
    const shown = userError(error);
    await handshake.failed(messageOf(shown), exitCodeOf(shown));
    if (detached) {
      // Nobody sees this process's stderr: the errors file keeps the cause.
      const { appendErrorsFile } = await import("../os/errors_file.ts");
      const controller = stringOf(context, "controller");
      const name = options.name ??
        (config.file ? stem(config.file) : controller ? stem(controller) : "flagstaff");
      await appendErrorsFile(name, shown).catch(() => undefined);
    }
    throw error;
  } finally {
    try {
      pidfile?.release();
    } catch (error) {
      log.warn("Cannot remove the pidfile: {message}", { message: messageOf(error) });
    }
    notifier?.close();
    reaper?.[Symbol.dispose]();
    collector[Symbol.dispose]();
    await shutdownLogging();
    // After a forced exit, what `exec` started goes too (after a clean one, nothing is left).
    hardStop.killGroups();
    // The listeners stay (the inbox is never closed here): a signal now is ignored, not fatal.
    hardStop[Symbol.dispose]();
    // Last: the debugger's port stays held until nothing of the run is left to await.
    guard?.[Symbol.dispose]();
  }
}

/** Whether `path` is an existing folder (following links, as opening a file in it does). */
async function isFolder(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
