/**
 * The command line, shared by `main.ts` (tool mode: `flagstaff run …`) and
 * `start()` (library mode: an app's own binary). This module and `main.ts`
 * are the only ones that print; {@link runCli} returns the exit code and
 * `main.ts` exits with it.
 *
 * @module
 */

import { basename, dirname, extname, join } from "node:path";
import {
  type ActionClass,
  checkArguments,
  declaredArguments,
  formatArguments,
} from "../runtime/action.ts";
import type { ActionRegistry } from "../runtime/action_registry.ts";
import { splitActionArgv } from "./_argv.ts";
import {
  ACTION_SIGNALS,
  type ActionSignal,
  type ActionUse,
  type Config,
  defaultConfig,
  loadConfig,
  validateConfigFile,
} from "../config/config.ts";
import type { ControllerClass } from "../runtime/controller.ts";
import {
  type Command,
  type CommanderModule,
  getLogger,
  loadCommander,
  loadFileSinks,
} from "../deps.ts";
import { ConfigError, EXIT_CODES, FlagstaffError } from "../core/errors.ts";
import type { Pidfile } from "../os/pidfile.ts";
import { dieBy, SignalInbox, signalName } from "../os/signals.ts";
import { epochNowMs, HardStop } from "../os/hard_stop.ts";
import { InspectorGuard } from "../os/inspector_guard.ts";
import { VERSION } from "../core/version.ts";

// Only what every command needs is imported above. Each command imports the
// rest when it runs, and `run` is parsed without commander when it can be:
// under `deno run`, start-up time is mostly module loading
// (`bench/results/latest.md`, "Where start-up goes").

/** Options for {@link runCli}. */
export interface CliOptions {
  /** Library mode: the app's controller class; `--controller` is then not offered. */
  controller?: ControllerClass;
  /** Library mode: the app's name (program name, logger category, errors file). */
  name?: string;
  /** Library mode: the app's version for `--version`. Default flagstaff's. */
  version?: string;
  /** The built-in actions by name (main.ts hands in `actions/mod.ts`'s). Default none. */
  builtinActions?: Readonly<Record<string, ActionClass>>;
  /** The built-ins' own folder: never scanned as a user's actions folder. */
  builtinActionsDir?: string;
  /**
   * The signal listeners installed first thing (`main.ts`, `start()`): `run`
   * takes them; every other command removes them. Default: installed here.
   */
  signals?: SignalInbox;
}

interface Flags {
  config?: string;
  controller?: string;
  foreground?: boolean;
  daemon?: boolean;
  pidfile?: string;
  systemd?: boolean;
  timeout?: string;
  force?: boolean;
  verbose: number;
  quiet: number;
  successfulEmpty?: boolean;
  actionsDir?: string;
}

type CliActions = Partial<Record<ActionSignal, ActionUse[]>>;

const encoder = new TextEncoder();
const log = getLogger(["flagstaff", "cli"]);
const SIGNAL_KEYS = Object.entries(ACTION_SIGNALS) as [keyof typeof ACTION_SIGNALS, ActionSignal][];

function write(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

/** Prints a user-facing error as `error: …`; with `-v`, its cause chain too. */
function printError(error: unknown, verbose: boolean): void {
  if (error instanceof AggregateError) {
    for (const each of error.errors) printError(each, verbose);
    return;
  }
  if (error instanceof ConfigError && error.issues.length > 1) {
    for (const issue of error.issues) {
      write(Deno.stderr, `error: ${new ConfigError([issue]).message}\n`);
    }
  } else {
    write(Deno.stderr, `error: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  if (!verbose) return;
  if (!(error instanceof FlagstaffError) && error instanceof Error && error.stack) {
    write(Deno.stderr, `${error.stack}\n`);
  }
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause !== undefined) {
    write(
      Deno.stderr,
      `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`,
    );
    cause = cause instanceof Error ? cause.cause : undefined;
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof AggregateError) return Math.max(...error.errors.map(exitCodeOf));
  return error instanceof FlagstaffError ? error.exitCode : EXIT_CODES.failure;
}

/** A missing Deno permission, wherever it surfaced, becomes a `permission` error. */
function asUserError(error: unknown): unknown {
  if (error instanceof AggregateError) {
    return new AggregateError(error.errors.map(asUserError), error.message);
  }
  if (error instanceof Deno.errors.NotCapable) {
    const detail = error.message.split("\n")[0].replace(/, run again with.*$/, "");
    return new FlagstaffError(
      "permission",
      `Missing permission: ${detail}; run with the documented flags (see "Permissions" in the README)`,
      { cause: error },
    );
  }
  return error;
}

const increase = (_: string, previous: number) => previous + 1;

function addCommonOptions(
  command: Command,
  library: boolean,
  Option: CommanderModule["Option"],
): Command {
  command
    .option(
      "-c, --config <file>",
      "YAML config file (sections Application, Daemon, Logging, Signals, Actions)",
    )
    .addOption(
      new Option("-v, --verbose", "log more; repeat for more (-vv)").argParser(increase).default(0),
    )
    .addOption(
      new Option("-q, --quiet", "log less; repeat for less (-qq)").argParser(increase).default(0),
    )
    .option(
      "--actions-dir <dir>",
      "folder of action modules (default: actions/ beside the config, or in the working directory)",
    );
  if (!library) {
    command.option(
      "--controller <module>",
      "controller module, a path or URL (overrides Application.controller)",
    );
  }
  for (const [key, signal] of SIGNAL_KEYS) {
    command.addOption(
      new Option(
        `--${key} <action> [args...]`,
        `add an action for ${signal}; repeatable, run in the order given`,
      ),
    );
  }
  return command;
}

/** Every option word commander knows for `command`, for the action-argv split. */
function optionWords(command: Command): Set<string> {
  const words = new Set<string>(["-h", "--help"]);
  for (const option of command.options) {
    if (option.short) words.add(option.short);
    if (option.long && !/^--(hup|usr1|usr2)$/.test(option.long)) words.add(option.long);
  }
  return words;
}

async function readConfig(flags: Flags): Promise<Config> {
  return flags.config ? await loadConfig(flags.config) : defaultConfig();
}

function configDir(config: Config): string {
  return config.file ? dirname(config.file) : Deno.cwd();
}

/** Builds the registry loader: built-ins, the actions folder, the config's `Actions`. */
function registryFor(
  flags: Flags,
  options: CliOptions,
): (config: Config) => Promise<ActionRegistry> {
  return async (config) => {
    const { loadActionRegistry } = await import("../runtime/action_registry.ts");
    return await loadActionRegistry({
      builtins: options.builtinActions,
      actionsDir: flags.actionsDir
        ? { path: flags.actionsDir, required: true }
        : { path: join(configDir(config), "actions"), required: false },
      skipDirs: options.builtinActionsDir ? [options.builtinActionsDir] : [],
      configActions: { actions: config.actions, baseDir: configDir(config) },
    });
  };
}

interface Controllerish {
  controller?: ControllerClass;
  source?: string;
  name: string;
}

async function loadControllerFor(
  config: Config,
  flags: Flags,
  options: CliOptions,
): Promise<Controllerish> {
  if (options.controller) {
    return {
      controller: options.controller,
      source: `class ${options.controller.name}`,
      name: options.name ?? options.controller.name,
    };
  }
  const specifier = flags.controller ?? config.application.controller;
  const name = options.name ??
    (config.file ? stem(config.file) : specifier ? stem(specifier) : "flagstaff");
  if (!specifier) return { name };
  // A path in the config is relative to the config file; on the command line, to the working directory.
  const baseDir = flags.controller ? Deno.cwd() : configDir(config);
  const { loadController } = await import("../runtime/loader.ts");
  const integrity = flags.controller ? undefined : config.application.controller_integrity;
  return {
    controller: await loadController(specifier, { baseDir, integrity }),
    source: specifier,
    name,
  };
}

function stem(path: string): string {
  const base = basename(new URL(path, "file:///").pathname);
  return base.slice(0, base.length - extname(base).length) || "flagstaff";
}

/** The actions each signal runs: the command line's replace the config's. */
function effectiveUses(config: Config, cliActions: CliActions): CliActions {
  return { ...config.signals, ...cliActions } as CliActions;
}

function countUses(uses: CliActions): number {
  return Object.values(uses).reduce((n, list) => n + (list?.length ?? 0), 0);
}

function noActions(): FlagstaffError {
  return new FlagstaffError(
    "usage",
    "No actions configured and no controller: give --hup/--usr1/--usr2 ACTION, a Signals section, " +
      "or a controller (--controller MODULE or Application.controller)",
  );
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

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

/** Reads the supervision variables, then removes them from the environment children inherit. */
function takeSupervisionEnv(): Partial<Record<(typeof SUPERVISION_ENV)[number], string>> {
  const taken: Partial<Record<(typeof SUPERVISION_ENV)[number], string>> = {};
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
 * `flagstaff run`, in the order DESIGN.md sets: signal listeners (already
 * installed by main.ts or start()) → read and validate the config → umask →
 * root-only resources (pidfile, notify socket, log files) → drop privileges
 * → import and set up user code → ready.
 */
async function runCommand(
  flags: Flags,
  cliActions: CliActions,
  options: CliOptions,
  argv: readonly string[],
  inbox: SignalInbox,
): Promise<number> {
  const verbosity = flags.verbose - flags.quiet;
  // Under `deno run` (FLAGSTAFF_STANDALONE=1 changes only how modules load: Deno's debugger is
  // still there), hold 127.0.0.1:9229 well before Deno's SIGUSR1 debugger can open (500 ms).
  const guard = Deno.build.standalone ? undefined : InspectorGuard.start();
  let usr1Warned = false;
  inbox.setDeliveryHook((signal) => {
    if (signal !== "SIGUSR1" || !guard) return;
    guard.onSigusr1();
    if (usr1Warned) return;
    usr1Warned = true;
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
  const config = await readConfig(flags);
  const detached = isDetachedChild();
  if (!detached && !flags.foreground && (flags.daemon || config.daemon.detach)) {
    // The parent: an ordinary command again (Ctrl-C ends it), waiting for the child's handshake.
    guard?.[Symbol.dispose]();
    releaseSignals(inbox);
    return await detach(argv, {
      printError: (message) => write(Deno.stderr, `error: ${message}\n`),
      stopTimeoutMs: config.daemon.stop_timeout * 1000,
    });
  }
  // From here on a TERM is honoured within stop_timeout whatever JavaScript does.
  const hardStop = HardStop.start();
  hardStop.configure(config.daemon.stop_timeout * 1000);
  const { user, group, umask } = config.daemon;
  if (umask !== undefined) {
    // Before the first file flagstaff creates (pidfile, log files).
    (await import("../os/privileges.ts")).setUmask(umask);
  }
  // The handshake reads its socket's name; then the supervision variables leave the environment.
  const handshake = readyHandshake();
  (await import("../runtime/loader.ts")).isStandalone();
  const supervision = takeSupervisionEnv();
  let pidfile: Pidfile | undefined;
  const notifier = flags.systemd === false
    ? undefined
    : notifierFromEnv({ NOTIFY_SOCKET: supervision.NOTIFY_SOCKET }, { onError: logNotifyError });
  let reaper: Disposable | undefined;
  try {
    // Detached, there is no terminal: `debug_only` handlers drop out, errors also go to the errors file.
    const foreground = !detached;
    // Log files: never a planted link, FIFO or someone else's file. As root with Daemon.user,
    // they are given to that user, who must reopen them after the drop (reload, rotation).
    const { ensureOwnFile, effectiveUid } = await import("../os/safe_file.ts");
    const dropping = (user !== undefined || group !== undefined) && effectiveUid() === 0;
    const { dropTarget } = await import("../os/privileges.ts");
    const drop = dropping ? dropTarget(user, group) : undefined;
    const target = drop ? { uid: drop.uid, gid: drop.gids[0] } : undefined;
    const prepareFile = (path: string) => {
      const root = effectiveUid() === 0;
      ensureOwnFile(path, {
        mode: 0o640,
        what: "log file",
        code: "config_invalid",
        owners: target && root ? [0, target.uid] : undefined,
        chownTo: target && root ? target : undefined,
      });
    };
    const configureLogging = (next: Config) =>
      applyLogging(next.logging, { foreground, verbosity, prepareFile });
    const pidfilePath = flags.pidfile ?? config.daemon.pidfile;
    if (pidfilePath) {
      const { acquirePidfile } = await import("../os/pidfile.ts");
      pidfile = await acquirePidfile(pidfilePath);
      hardStop.configure(config.daemon.stop_timeout * 1000, {
        path: pidfile.path,
        pid: pidfile.pid,
      });
    }
    try {
      await configureLogging(config);
    } catch (error) {
      throw new FlagstaffError(
        "config_invalid",
        `Cannot set up logging: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (pidfile?.stale) {
      log.info("Replaced stale pidfile {path} (pid {pid} no longer runs)", {
        path: pidfile.path,
        pid: pidfile.previousPid ?? "unknown",
      });
    }
    const deadline = await hardStop.available();
    if (!deadline.ok) {
      log.warn("No hard stop deadline (a blocked event loop can outlast stop_timeout): {reason}", {
        reason: deadline.reason,
      });
    }
    if (Deno.pid === 1) reaper = (await import("../os/reaper.ts")).startReaper();
    if (user !== undefined || group !== undefined) {
      // Everything flagstaff loads later must be loaded now: after the drop, Deno's
      // cache (root's) may be unreadable. Then give up root before any user code runs.
      const [{ dropPrivileges }] = await Promise.all([
        import("../os/privileges.ts"),
        import("../runtime/loader.ts"),
        import("../runtime/action_registry.ts"),
        loadFileSinks(),
      ]);
      const dropped = dropPrivileges({ user, group });
      if (dropped.switched) {
        log.info("Running as uid {uid}, gid {gid}", { uid: dropped.uid, gid: dropped.gid });
        if (config.file && !canRead(config.file)) {
          log.warn(
            "The new user cannot read the config file {file}: a reload will fail and keep the running config",
            { file: config.file },
          );
        }
      }
    }
    const loaded = await loadControllerFor(config, flags, options);
    if (!loaded.controller && countUses(effectiveUses(config, cliActions)) === 0) throw noActions();
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
      config,
      cliActions,
      loadRegistry: registryFor(flags, options),
      successfulEmpty: flags.successfulEmpty,
      foreground,
      configureLogging,
      signals: inbox,
      watchdogIntervalMs: watchdogUs ? watchdogUs / 1000 : undefined,
      observe(event) {
        systemd?.(event);
        if (event.type === "ready") handshake.ready();
        if (event.type === "failed") failure ??= event.message;
        if (event.type === "stopping") hardStop.stopping(epochNowMs());
        if (event.type === "reloaded" && !event.error) {
          hardStop.configure(
            runtime.config.daemon.stop_timeout * 1000,
            pidfile ? { path: pidfile.path, pid: pidfile.pid } : undefined,
          );
        }
      },
    });
    const code = await runtime.run();
    if (code !== 0) await handshake.failed(failure ?? `exited with code ${code}`, code);
    return code;
  } catch (error) {
    const user = asUserError(error);
    await handshake.failed(user instanceof Error ? user.message : String(user), exitCodeOf(user));
    if (detached) {
      // Nobody sees this process's stderr: the errors file keeps the cause.
      const { appendErrorsFile } = await import("../os/errors_file.ts");
      const name = options.name ??
        (config.file ? stem(config.file) : flags.controller ? stem(flags.controller) : "flagstaff");
      await appendErrorsFile(name, user).catch(() => undefined);
    }
    throw error;
  } finally {
    try {
      pidfile?.release();
    } catch (error) {
      log.warn("Cannot remove the pidfile: {message}", { message: (error as Error).message });
    }
    notifier?.close();
    reaper?.[Symbol.dispose]();
    guard?.[Symbol.dispose]();
    await shutdownLogging();
    // The listeners stay (the inbox is never closed here): a signal now is ignored, not fatal.
    hardStop[Symbol.dispose]();
  }
}

/** Whether this process may open `file` for reading now. */
function canRead(file: string): boolean {
  try {
    Deno.openSync(file, { read: true }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * For every command but `run`: signals get their default action again, and
 * one that came while flagstaff was starting ends the process as it would
 * have.
 */
function releaseSignals(inbox: SignalInbox | undefined): void {
  const pending = inbox?.close();
  if (pending) dieBy(pending);
}

function pidfileOf(flags: Flags, config: Config): string {
  const path = flags.pidfile ?? config.daemon.pidfile;
  if (!path) {
    throw new FlagstaffError(
      "usage",
      "No pidfile: give --pidfile FILE, or -c FILE with Daemon.pidfile set",
    );
  }
  return path;
}

async function statusCommand(flags: Flags): Promise<number> {
  const pidfile = pidfileOf(flags, await readConfig(flags));
  const { formatUptime, serviceStatus } = await import("../os/service.ts");
  const status = await serviceStatus(pidfile);
  if (status.running) {
    const uptime = status.uptimeS === undefined ? "" : `, up ${formatUptime(status.uptimeS)}`;
    write(Deno.stdout, `running as pid ${status.pid} (pidfile ${pidfile})${uptime}\n`);
    return EXIT_CODES.ok;
  }
  const why = status.stale
    ? `pidfile ${pidfile} is stale${status.pid ? `: pid ${status.pid} holds no lock` : ""}`
    : `no pidfile ${pidfile}`;
  write(Deno.stdout, `not running (${why})\n`);
  return EXIT_CODES.notRunning;
}

async function stopCommand(flags: Flags): Promise<number> {
  const pidfile = pidfileOf(flags, await readConfig(flags));
  const timeoutS = flags.timeout === undefined ? 10 : Number(flags.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
    throw new FlagstaffError(
      "usage",
      `--timeout takes a positive number of seconds, got "${flags.timeout}"`,
    );
  }
  const { stopService } = await import("../os/service.ts");
  const result = await stopService(pidfile, { timeoutS, force: flags.force });
  write(
    Deno.stdout,
    result.wasRunning
      ? `stopped pid ${result.pid}${result.killed ? " (with KILL)" : ""}\n`
      : `not running (pidfile ${pidfile})\n`,
  );
  return EXIT_CODES.ok;
}

async function signalCommand(flags: Flags, name: string): Promise<number> {
  const signal = signalName(name);
  if (!signal) {
    throw new FlagstaffError(
      "usage",
      `Unknown signal "${name}" (expected HUP, USR1, USR2, TERM or INT)`,
    );
  }
  const pidfile = pidfileOf(flags, await readConfig(flags));
  const { signalService } = await import("../os/service.ts");
  const pid = await signalService(pidfile, signal);
  write(Deno.stdout, `sent ${signal} to pid ${pid}\n`);
  return EXIT_CODES.ok;
}

/** Checks each action use against the registry without setting it up. */
async function checkUses(
  uses: CliActions,
  registry: ActionRegistry,
): Promise<{ lines: string[]; problems: unknown[] }> {
  const lines: string[] = [];
  const problems: unknown[] = [];
  const { loadSource } = await import("../runtime/action_registry.ts");
  for (const [key, signal] of SIGNAL_KEYS) {
    const list = uses[signal];
    if (!list?.length) continue;
    const described: string[] = [];
    for (const use of list) {
      const source = registry.get(use.name);
      if (!source) {
        problems.push(
          new FlagstaffError("usage", `Unknown action "${use.name}" given by ${use.origin}`),
        );
        continue;
      }
      try {
        const cls = await loadSource(source);
        checkArguments(use.name, declaredArguments(cls), use.args);
      } catch (error) {
        problems.push(error);
        continue;
      }
      const args = use.args.map((a) => JSON.stringify(a)).join(" ");
      described.push(
        `${use.name}${args ? ` ${args}` : ""}${use.timeout ? ` (timeout ${use.timeout} s)` : ""}`,
      );
    }
    lines.push(`${key}: ${described.join("; ")}`);
  }
  return { lines, problems };
}

async function checkCommand(
  flags: Flags,
  cliActions: CliActions,
  options: CliOptions,
): Promise<number> {
  // Gather every problem: the config's, the controller's, the actions'.
  const problems: unknown[] = [];
  let config: Config | undefined;
  let controllerReported = false;
  try {
    if (flags.config) {
      // Every problem of the config, and a best-effort config to check the rest against.
      const checked = await validateConfigFile(flags.config);
      config = checked.config;
      if (checked.issues.length > 0) problems.push(new ConfigError(checked.issues));
      controllerReported = checked.issues.some((issue) =>
        issue.key.startsWith("Application.controller")
      );
    } else config = defaultConfig();
  } catch (error) {
    problems.push(error);
  }
  const usable = config ?? defaultConfig();
  let loaded: Controllerish | undefined;
  try {
    // A controller whose key is already reported is not loaded again (one problem, one line).
    loaded = controllerReported && !flags.controller
      ? { name: options.name ?? (usable.file ? stem(usable.file) : "flagstaff") }
      : await loadControllerFor(usable, flags, options);
  } catch (error) {
    problems.push(error);
  }
  const uses = effectiveUses(usable, cliActions);
  let actionLines: string[] = [];
  try {
    const checked = await checkUses(uses, await registryFor(flags, options)(usable));
    actionLines = checked.lines;
    problems.push(...checked.problems);
  } catch (error) {
    problems.push(error);
  }
  if (problems.length === 0 && !loaded?.controller && countUses(uses) === 0) {
    problems.push(noActions());
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new AggregateError(problems, "Several problems");
  const defaults = SIGNAL_KEYS.filter(([, signal]) => !uses[signal]?.length).map(([key, signal]) =>
    `${key}: ${signal === "SIGUSR2" ? "calls onSigusr2()" : "reloads the config"} (default)`
  );
  const lines = [
    `config: ${usable.file ?? "(none: built-in defaults)"}`,
    `name: ${loaded!.name}`,
    `controller: ${loaded!.source ?? "(none)"}`,
    ...(loaded!.controller ? [`wake_interval: ${usable.application.wake_interval} s`] : []),
    `stop_timeout: ${usable.daemon.stop_timeout} s`,
    `logging: ${usable.logging ? "from the Logging section" : "console default (stderr, INFO)"}`,
    "term, int: stop",
    ...actionLines,
    ...defaults,
    "config OK",
  ];
  write(Deno.stdout, lines.join("\n") + "\n");
  return EXIT_CODES.ok;
}

async function listCommand(flags: Flags, options: CliOptions): Promise<number> {
  const config = await readConfig(flags);
  const infos = await (await registryFor(flags, options)(config)).describe();
  const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  const width = Math.max(4, ...infos.map((info) => info.name.length));
  const bold = (text: string) => color ? `\x1b[1m${text}\x1b[22m` : text;
  const dim = (text: string) => color ? `\x1b[2m${text}\x1b[22m` : text;
  const lines = [
    `${bold("name".padEnd(width))}  description (arguments)`,
    ...infos.map((info) => {
      const origin = info.origin === "built-in" ? "" : dim(` [${info.origin}]`);
      return `${bold(info.name.padEnd(width))}  ${info.description} ${
        formatArguments(info.arguments)
      }${origin}`;
    }),
  ];
  write(Deno.stdout, lines.join("\n") + "\n");
  return EXIT_CODES.ok;
}

/**
 * Parses `argv` and runs the command. Returns the exit code; never exits.
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./main.ts";
 * Deno.exit(await runCli(Deno.args));
 * ```
 */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const library = options.controller !== undefined;
  const inbox = options.signals ?? SignalInbox.install();
  let runTook = false;
  const { Command, CommanderError, Option } = await loadCommander();
  let exitCode: number = EXIT_CODES.ok;
  let verbose = argv.some((arg) => /^-v+$/.test(arg) || arg === "--verbose");
  let cliActions: CliActions = {};
  const program = new Command(options.name ?? "flagstaff")
    .description(
      library
        ? `${options.name ?? "app"}: a flagstaff app`
        : "Run a long-lived TypeScript process: a controller on a wake schedule and actions on signals",
    )
    .version(options.version ?? VERSION, "--version", "print the version and exit")
    .helpOption("-h, --help", "print help and exit")
    .configureOutput({
      writeOut: (text) => write(Deno.stdout, text),
      writeErr: (text) => write(Deno.stderr, text),
    })
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");

  const run = addCommonOptions(
    program.command("run", { isDefault: library }).description(
      "run the controller and the actions until TERM or INT",
    ),
    library,
    Option,
  )
    .option(
      "-f, --foreground",
      "stay in the foreground (the default; overrides --daemon and Daemon.detach)",
    )
    .option("-d, --daemon", "detach into the background once ready (also Daemon.detach: true)")
    .option(
      "--pidfile <file>",
      "write the pid here and hold its lock while running (also Daemon.pidfile)",
    )
    .option("--no-systemd", "send no sd_notify messages even when NOTIFY_SOCKET is set")
    .option(
      "--successful-empty",
      "when no controller runs and every action has closed, exit 0 instead of 1",
    )
    .action(async (flags: Flags) => {
      verbose = flags.verbose > 0;
      runTook = true;
      exitCode = await runCommand(flags, cliActions, options, argv, inbox);
    });
  const check = addCommonOptions(
    program.command("check").description(
      "load and validate the config, the controller and the actions; print what would run (exit 0) or every problem (exit 2)",
    ),
    library,
    Option,
  ).action(async (flags: Flags) => {
    verbose = flags.verbose > 0;
    releaseSignals(inbox);
    exitCode = await checkCommand(flags, cliActions, options);
  });
  program.command("list").description("list every known action with its description and arguments")
    .option("-c, --config <file>", "also list the actions named in this config's Actions section")
    .option(
      "--actions-dir <dir>",
      "folder of action modules (default: actions/ beside the config, or in the working directory)",
    )
    .action(async (flags: Flags) => {
      releaseSignals(inbox);
      exitCode = await listCommand({ ...flags, verbose: 0, quiet: 0 }, options);
    });

  const byPidfile = (command: Command) =>
    command
      .option("-c, --config <file>", "the config whose Daemon.pidfile names the instance")
      .option("--pidfile <file>", "the instance's pidfile (overrides the config's)");
  byPidfile(
    program.command("status").description(
      "say whether the instance runs (exit 0) or not (exit 3), with its pid and uptime",
    ),
  ).action(async (flags: Flags) => {
    releaseSignals(inbox);
    exitCode = await statusCommand(flags);
  });
  byPidfile(
    program.command("stop").description("send TERM to the instance and wait until it has stopped"),
  )
    .option("--timeout <seconds>", "how long to wait for it to stop", "10")
    .option("--force", "send KILL when the timeout runs out")
    .action(async (flags: Flags) => {
      releaseSignals(inbox);
      exitCode = await stopCommand(flags);
    });
  byPidfile(program.command("reload").description("send HUP to the instance (reload its config)"))
    .action(async (flags: Flags) => {
      releaseSignals(inbox);
      exitCode = await signalCommand(flags, "HUP");
    });
  byPidfile(
    program.command("signal").description("send a signal to the instance").argument(
      "<signal>",
      "HUP, USR1, USR2, TERM or INT",
    ),
  ).action(async (name: string, flags: Flags) => {
    releaseSignals(inbox);
    exitCode = await signalCommand(flags, name);
  });

  if (!library) {
    program.command("new").description(
      "write a new app project (library mode): controller, actions, config, systemd unit, init script, tests",
    )
      .argument("<name>", "the app's name: a-z first, then a-z, 0-9, _ or - (at most 63)")
      .option("--dir <dir>", "folder to write it into (default: ./NAME)")
      .option("--force", "write into a folder that is not empty, replacing the project's files")
      .option(
        "--flagstaff <url>",
        "URL or path of flagstaff's lib/mod.ts the project imports (default: this flagstaff's)",
      )
      .action(
        async (name: string, flags: { dir?: string; force?: boolean; flagstaff?: string }) => {
          releaseSignals(inbox);
          // Loaded on demand: the templates are of no use to any other command.
          const { newProject } = await import("./new.ts");
          const project = await newProject(name, flags);
          write(
            Deno.stdout,
            `Created ${name} in ${project.dir}:\n${project.files.map((f) => `  ${f}\n`).join("")}` +
              `Next: cd ${project.dir} && deno task start   (deno task test, deno task compile)\n`,
          );
          exitCode = EXIT_CODES.ok;
        },
      );
  }

  try {
    const split = splitActionArgv(argv, new Set([...optionWords(run), ...optionWords(check)]));
    cliActions = split.actions;
    let rest = split.rest;
    // flagman's form: `flagstaff --usr1 print x` means `flagstaff run --usr1 print x`.
    const commands = new Set([
      "run",
      "check",
      "list",
      "status",
      "stop",
      "reload",
      "signal",
      "help",
    ]);
    if (!library && countUses(cliActions) > 0 && !commands.has(rest[0])) rest = ["run", ...rest];
    await program.parseAsync(rest, { from: "user" });
    if (!runTook) releaseSignals(inbox);
    return exitCode;
  } catch (error) {
    if (!runTook) releaseSignals(inbox);
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    const userError = asUserError(error);
    printError(userError, verbose);
    return exitCodeOf(userError);
  }
}
