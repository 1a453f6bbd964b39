/**
 * The runtime: runs a controller and the signal actions under the one-queue
 * dispatcher of DESIGN.md. Signal listeners only record work; units (a
 * `process()` tick, the actions of one signal, a reload, a hook) run one at a
 * time; TERM/INT stop after the unit in flight.
 *
 * @module
 */

import type { ActionOutput, RuntimeControl } from "./action.ts";
import type { ActionRegistry } from "./action_registry.ts";
import { ActionSet } from "./action_set.ts";
import { type Clock, monotonicClock } from "../core/clock.ts";
import { type ActionSignal, type ActionUse, type Config, loadConfig } from "../config/config.ts";
import {
  type AppArgs,
  ATTACH,
  type ControllerClass,
  type ControllerContext,
  type ControllerLike,
  type Logger,
} from "./controller.ts";
import { getLogger } from "../deps.ts";
import { Dispatcher } from "../core/dispatcher.ts";
import { collectGarbage } from "./heap.ts";
import { appendErrorsFile } from "../os/errors_file.ts";
import { ConfigError, EXIT_CODES, FlagstaffError } from "../core/errors.ts";
import { type LongTimer, MAX_TIMER_MS, setLongTimeout } from "../core/delay.ts";
import { intervalMsFromSeconds, nextTick, rebase, type Schedule } from "../core/schedule.ts";
import { SignalInbox, type SignalSource } from "../os/signals.ts";
import { ACTION_SIGNAL_NAMES, type SignalName, signalRow } from "../core/signal_table.ts";
import { canTransition, isState, type State, STATES } from "../core/states.ts";

/** What the runtime tells an observer (systemd notify, tests). */
export type RuntimeEvent =
  | { type: "ready"; status: string }
  | { type: "reloading" }
  | { type: "reloaded"; error?: string }
  | { type: "tick"; index: number }
  | { type: "watchdog" }
  | { type: "stopping" }
  | { type: "failed"; message: string };

/** Options for {@link Runtime}. */
export interface RuntimeOptions {
  /** App name: the controller's logger category and the errors file's name. */
  name: string;
  /** The config to start with (its `file` is re-read on reload). */
  config: Config;
  /** Actions given on the command line; they replace the config's for their signal. Default none. */
  cliActions?: Readonly<Partial<Record<ActionSignal, readonly ActionUse[]>>>;
  /** Builds the action registry for a config (its `Actions` section may change on reload). */
  loadRegistry?: (config: Config) => Promise<ActionRegistry>;
  /** When no controller runs and every action has closed: exit 0 instead of 1. Default false. */
  successfulEmpty?: boolean;
  /** Where actions print. Default: stdout. */
  out?: ActionOutput;
  /** Running in the foreground (default true). When false, unhandled errors also go to the errors file. */
  foreground?: boolean;
  /**
   * Checks a reloaded config beyond its schema, as `check` and `run` do (the
   * controller module it names must load); throws to refuse it. Default: none.
   */
  validate?: (config: Config) => Promise<void>;
  /** Applies a config's `Logging` section; must leave logging as it was when it throws. Default: none. */
  configureLogging?: (config: Config) => Promise<void>;
  /** Told of readiness, reloads and stops. Default: nobody. */
  observe?: (event: RuntimeEvent) => void;
  /**
   * Every this many milliseconds a `watchdog` event is emitted from the
   * dispatcher, so none comes while a unit is stuck. Default: none.
   */
  watchdogIntervalMs?: number;
  /**
   * The signal source. Default: a {@link SignalInbox} installed when
   * {@link Runtime.run} starts and closed when it ends (the CLI installs one
   * at the very start and hands it in: it stays until the process exits).
   */
  signals?: SignalSource & { listening?(signal: SignalName): boolean };
  /** The clock. Default: `performance.now()`. */
  clock?: Clock;
  /**
   * Told of each process group an action started (`exec`), to kill it if the
   * exit must be forced; returns the unregistering function. Default: none.
   */
  onProcessGroup?: (pgid: number) => () => void;
  /** The program's name, for messages (`run "myapp list"`). Default `flagstaff`. */
  program?: string;
  /** The app's own command-line options, parsed (library mode). Default: none. */
  args?: AppArgs;
  /** Folders tried for `<name>.errors`. Default: `/var/log`, `/var/tmp`, `/tmp`. */
  errorsFileDirs?: readonly string[];
}

type UnitKey = "tick" | "sweep" | "restart" | "watchdog" | ActionSignal;

/**
 * A TERM or INT that comes this long or longer after the stop began forces
 * the exit (exit code 1); one that comes sooner is the same request arriving
 * twice (a terminal's Ctrl-C reaches the whole process group, and `deno task`
 * forwards it once more), in milliseconds.
 */
export const REPEAT_WINDOW_MS = 500;
/** At most one overrun warning per this many milliseconds; the rest are summed into it. */
export const OVERRUN_WARNING_EVERY_MS = 60_000;

const log = getLogger(["flagstaff", "runtime"]);
const encoder = new TextEncoder();

/** stdout, written synchronously so lines are never lost at exit. */
const STDOUT: ActionOutput = {
  write(text) {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
  },
};

/** One life of the controller: `restart` ends one and begins the next. */
interface Generation {
  readonly controller: ControllerLike;
  readonly abort: AbortController;
  readonly signal: AbortSignal;
  loop?: Promise<void>;
}

/**
 * Runs a controller and/or signal actions until stopped; {@link run}
 * resolves with the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "./runtime.ts";
 * import { Controller } from "./controller.ts";
 * import { defaultConfig } from "../config/config.ts";
 * class Once extends Controller {
 *   override async run(signal: AbortSignal): Promise<void> {}
 * }
 * const code = await new Runtime(Once, { name: "once", config: defaultConfig() }).run();
 * assert.equal(code, 0);
 * ```
 */
export class Runtime {
  readonly #class: ControllerClass | undefined;
  readonly #name: string;
  readonly #options: RuntimeOptions;
  readonly #foreground: boolean;
  #signals: (SignalSource & { listening?(signal: SignalName): boolean }) | undefined;
  /** The inbox this runtime installed itself (no `signals` option): closed at the end of run(). */
  #ownInbox: SignalInbox | undefined;
  readonly #clock: Clock;
  readonly #appLogger: Logger;
  readonly #stop = new AbortController();
  readonly #dispatcher: Dispatcher<UnitKey>;
  readonly #context: ControllerContext;
  readonly #control: RuntimeControl;
  #config: Config;
  #state: State = "initializing";
  #generation: Generation | undefined;
  #actions: ActionSet | undefined;
  /** Sets replaced during a signal's run, torn down when that run ends. */
  readonly #retired: ActionSet[] = [];
  #runningActions = false;
  #schedule: Schedule | undefined;
  #tickIndex = 0;
  #timer: LongTimer | undefined;
  #exitCode: number = EXIT_CODES.ok;
  #finish: (code: number) => void = () => {};
  #finished = false;
  /** Start-up: actions set up, controller set up, ready told. Settles, never rejects. */
  #starting: Promise<void> = Promise.resolve();
  /** An error that ended start-up before anything ran; `run()` rethrows it. */
  #startError: unknown;
  /** When the stop began, on {@link Clock}; undefined while no stop was requested. */
  #stopStartedMs: number | undefined;
  /** Inside a SIGHUP unit: it tells systemd of the reload itself, once. */
  #hup: { error?: string } | undefined;
  #overrun = { lastWarnMs: -Infinity, runs: 0, skipped: 0 };
  readonly #errorWrites = new Set<Promise<void>>();

  /** Creates a runtime for `controllerClass` (or for actions alone); nothing runs until {@link run}. */
  constructor(controllerClass: ControllerClass | undefined, options: RuntimeOptions) {
    this.#class = controllerClass;
    this.#options = options;
    this.#name = options.name;
    this.#config = options.config;
    this.#foreground = options.foreground ?? true;
    this.#signals = options.signals;
    this.#clock = options.clock ?? monotonicClock;
    this.#appLogger = getLogger([this.#name]);
    this.#dispatcher = new Dispatcher<UnitKey>((key) => this.#runUnit(key), {
      onError: (key, error) => this.#reportError(`Unit ${key} failed`, error),
    });
    // deno-lint-ignore no-this-alias
    const runtime = this;
    this.#context = {
      get config() {
        return runtime.#config;
      },
      get logger() {
        return runtime.#appLogger;
      },
      get signal() {
        return runtime.#generation?.signal ?? runtime.#stop.signal;
      },
      get state() {
        return runtime.#state;
      },
      get wakeInterval() {
        return runtime.#config.application.wake_interval;
      },
      setState: (state) => this.#setStateFromApp(state),
      args: Object.freeze({ ...options.args }),
    };
    this.#control = {
      reload: () => this.#reload("reload action"),
      restart: () => this.#restart(),
      stop: (reason) => this.#requestStop(reason),
      processGroup: (pgid) => this.#options.onProcessGroup?.(pgid) ?? (() => {}),
    };
  }

  /** The current config. */
  get config(): Config {
    return this.#config;
  }

  /** The current state. */
  get state(): State {
    return this.#state;
  }

  /**
   * Sets up the actions and the controller, runs until TERM/INT (or the
   * controller's own `run()` ends, or every action has closed), cleans up,
   * and resolves with the exit code (0 clean, 1 failure).
   *
   * Signals are taken from the source from the first moment: TERM and INT
   * stop at once (start-up is awaited first), HUP, USR1 and USR2 that come
   * during start-up are queued and run once the runtime is ready.
   *
   * @throws {FlagstaffError} `usage` when an action cannot be loaded or set up
   *   (nothing has run then).
   */
  async run(): Promise<number> {
    const done = new Promise<number>((resolve) => this.#finish = resolve);
    // Signal listeners do not keep Deno's event loop alive: this timer does.
    const keepAlive = setInterval(() => {}, MAX_TIMER_MS);
    const onRejection = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      this.#reportError("Unhandled promise rejection", event.reason);
    };
    const onError = (event: ErrorEvent) => {
      event.preventDefault();
      this.#reportError("Uncaught exception", event.error ?? event.message);
    };
    let watchdog: LongTimer | undefined;
    globalThis.addEventListener("unhandledrejection", onRejection);
    globalThis.addEventListener("error", onError);
    if (!this.#signals) this.#signals = this.#ownInbox = SignalInbox.install();
    const signals = this.#signals;
    this.#dispatcher.hold();
    // Start-up begins before the signals recorded so far are replayed: a stop
    // then waits for it.
    this.#starting = this.#start().catch((error) => this.#startFailed(error));
    const unlisten = signals.listen((signal, atMs) => this.#onSignal(signal, atMs));
    try {
      const every = this.#options.watchdogIntervalMs;
      if (every) {
        const ping = () => {
          this.#dispatcher.request("watchdog");
          watchdog = setLongTimeout(ping, every);
        };
        watchdog = setLongTimeout(ping, every);
      }
      const code = await done;
      await Promise.all(this.#errorWrites);
      if (this.#startError !== undefined) throw this.#startError;
      return code;
    } finally {
      unlisten();
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
      clearInterval(keepAlive);
      watchdog?.cancel();
      this.#clearTimer();
      this.#ownInbox?.close();
    }
  }

  async #buildActions(config: Config, fresh: boolean): Promise<ActionSet> {
    const uses = { ...config.signals, ...this.#options.cliActions };
    const registry = await this.#options.loadRegistry?.(config);
    if (!registry) return ActionSet.empty();
    return await ActionSet.build(uses, registry, {
      config: () => this.#config,
      stopSignal: this.#stop.signal,
      out: this.#options.out ?? STDOUT,
      runtime: this.#control,
      onCloseOutsideRun: () => this.#dispatcher.request("sweep"),
      program: this.#options.program,
    }, { fresh });
  }

  /** A signal from the source: listeners only record, the one queue acts (DESIGN.md). */
  #onSignal(signal: SignalName, receivedAtMs?: number): void {
    if (signal === "SIGTERM" || signal === "SIGINT") {
      return this.#requestStop(signal, signal, receivedAtMs);
    }
    if (this.#stopStartedMs !== undefined) {
      log.debug("Received {signal} while stopping: ignored", { signal });
      return;
    }
    this.#dispatcher.request(signal);
  }

  /** Actions given for a signal this platform cannot deliver are an error. */
  #checkListening(): void {
    for (const signal of ACTION_SIGNAL_NAMES) {
      if (this.#actions?.configured(signal) && this.#signals?.listening?.(signal) === false) {
        throw new FlagstaffError(
          "usage",
          `Cannot listen to ${signal} on ${Deno.build.os}, but actions were given for it`,
        );
      }
    }
  }

  /** Sets up the actions, then the controller; tells readiness and lets queued signals run. */
  async #start(): Promise<void> {
    this.#actions = await this.#buildActions(this.#config, false);
    this.#checkListening();
    if (this.#stop.signal.aborted) return;
    log.info("Starting {name} (pid {pid})", { name: this.#name, pid: Deno.pid });
    if (!this.#class) {
      this.#transition("sleeping");
      const count = this.#actions.configuredCount;
      log.info("Running {count} action(s); waiting for signals", { count });
      this.#emit({ type: "ready", status: `Waiting for signals (${count} action(s))` });
      this.#dispatcher.resume();
      return;
    }
    if (!await this.#beginGeneration()) return;
    this.#emit({
      type: "ready",
      status: this.#schedule
        ? `Running: process() every ${this.#config.application.wake_interval} s`
        : "Running: run() is its own loop",
    });
    this.#dispatcher.resume();
    this.#firstTick();
  }

  /** Start-up threw (an action that cannot be set up): nothing ran. */
  async #startFailed(error: unknown): Promise<void> {
    if (this.#stop.signal.aborted) {
      // A stop came first; the error is still worth a line, the stop ends the process.
      this.#reportError("Start-up failed while stopping", error);
      return;
    }
    this.#startError = error;
    await this.#actions?.tearDownAll();
    this.#end(error instanceof FlagstaffError ? error.exitCode : EXIT_CODES.failure);
  }

  /**
   * Constructs and sets up a controller, then starts its loop or schedule.
   * False when setup failed or a stop came during it.
   */
  async #beginGeneration(): Promise<boolean> {
    const abort = new AbortController();
    let controller: ControllerLike;
    try {
      controller = new this.#class!(this.#context);
    } catch (error) {
      this.#fail("setup_failed", error, "The controller could not be constructed");
      return false;
    }
    const generation: Generation = {
      controller,
      abort,
      signal: AbortSignal.any([this.#stop.signal, abort.signal]),
    };
    this.#generation = generation;
    try {
      (controller as { [ATTACH]?: (context: ControllerContext) => void })[ATTACH]?.(this.#context);
      await controller.setup?.(this.#context);
    } catch (error) {
      if (this.#stop.signal.aborted) {
        // setup() ended for the stop: cleanup() still runs, once, after it.
        if (isAbortReason(error, generation.signal)) {
          log.info("setup() ended for the stop");
        } else {
          this.#exitCode = EXIT_CODES.failure;
          this.#reportError("setup() failed while stopping", error);
        }
        return false;
      }
      this.#generation = undefined;
      this.#fail("setup_failed", error, "setup() failed");
      return false;
    }
    if (this.#stop.signal.aborted) return false;
    if (typeof controller.run === "function") {
      this.#transition("active");
      log.info("Running {name}: run() is its own loop", { name: this.#name });
      generation.loop = this.#runLoop(generation);
      return true;
    }
    this.#schedule = { originMs: this.#clock.nowMs(), intervalMs: this.#intervalMs(this.#config) };
    this.#tickIndex = 0;
    log.info("Running {name}: process() every {seconds} s", {
      name: this.#name,
      seconds: this.#config.application.wake_interval,
    });
    return true;
  }

  /** The first tick runs right after setup() (helper), once readiness was told. */
  #firstTick(): void {
    if (this.#schedule && !this.#stop.signal.aborted) this.#dispatcher.request("tick");
  }

  async #runLoop(generation: Generation): Promise<void> {
    try {
      await generation.controller.run!(generation.signal, this.#context);
    } catch (error) {
      if (!generation.signal.aborted) this.#exitCode = EXIT_CODES.failure;
      this.#reportError("run() failed", error);
    }
    // run() ending on its own (not for a stop or a restart) ends the app.
    if (!generation.signal.aborted) this.#requestStop("run() returned");
  }

  async #runUnit(key: UnitKey): Promise<void> {
    switch (key) {
      case "tick":
        return await this.#tick();
      case "sweep":
        await this.#actions?.sweep();
        return this.#checkActionsLeft();
      case "restart":
        return await this.#restart();
      case "watchdog":
        return this.#emit({ type: "watchdog" });
    }
    if (key === "SIGHUP") return await this.#hupUnit();
    await this.#signalUnit(key);
  }

  /**
   * SIGHUP, whatever it is bound to, is a reload for systemd
   * (`Type=notify-reload`, sd_notify(3)): `RELOADING=1` with
   * `MONOTONIC_USEC=` when it starts, `READY=1` when it is done, once per HUP,
   * also when HUP runs actions, has no config to reload, or the reload failed.
   */
  async #hupUnit(): Promise<void> {
    const hup: { error?: string } = {};
    this.#hup = hup;
    this.#emit({ type: "reloading" });
    try {
      await this.#signalUnit("SIGHUP");
    } finally {
      this.#hup = undefined;
      this.#emit({ type: "reloaded", error: hup.error });
    }
  }

  async #signalUnit(key: ActionSignal): Promise<void> {
    if (this.#actions?.configured(key)) {
      // Nothing runs between the signal and its first action (signal-to-action
      // latency, bench/): the debug line comes after the run.
      this.#runningActions = true;
      try {
        await this.#actions.run(key);
      } finally {
        this.#runningActions = false;
        await this.#tearDownRetired();
      }
      log.debug("Ran the actions of {signal}", { signal: key });
      return this.#checkActionsLeft();
    }
    if (signalRow(key).default === "onSigusr2") {
      log.info("Received {signal}: calling onSigusr2()", { signal: key });
      return await this.#hook("onSigusr2");
    }
    await this.#reload(key);
  }

  /** With no controller, the process lives for its actions: when all have closed, it ends. */
  #checkActionsLeft(): void {
    const actions = this.#actions!;
    if (this.#class || actions.configuredCount === 0 || actions.openCount > 0) return;
    if (this.#stop.signal.aborted) return;
    const code = this.#options.successfulEmpty ? EXIT_CODES.ok : EXIT_CODES.failure;
    log.info("Every action has closed: exiting with code {code}{hint}", {
      code,
      hint: code ? " (--successful-empty makes this 0)" : "",
    });
    this.#exitCode = code;
    this.#requestStop("every action has closed");
  }

  async #tick(): Promise<void> {
    const generation = this.#generation;
    if (!generation || !this.#schedule) return;
    if (this.#state === "idle") {
      log.debug("Idle: tick {index} skipped", { index: this.#tickIndex });
    } else {
      this.#transition("active");
      this.#emit({ type: "tick", index: this.#tickIndex });
      try {
        await generation.controller.process?.(this.#context);
      } catch (error) {
        this.#reportError("process() failed", error);
      }
      if (this.#state === "active") this.#transition("sleeping");
    }
    if (this.#stop.signal.aborted || generation !== this.#generation) return;
    const next = nextTick(this.#schedule, this.#tickIndex, this.#clock.nowMs());
    if (next.skipped > 0) this.#warnOverrun(this.#tickIndex, next.skipped);
    this.#tickIndex = next.index;
    this.#arm();
  }

  /**
   * One overrun warning per {@link OVERRUN_WARNING_EVERY_MS} at most: a
   * `process()` that always overruns a short interval would otherwise log on
   * every tick. The ones held back are counted into the next warning.
   */
  #warnOverrun(index: number, skipped: number): void {
    const now = this.#clock.nowMs();
    const overrun = this.#overrun;
    if (now - overrun.lastWarnMs < OVERRUN_WARNING_EVERY_MS) {
      overrun.runs++;
      overrun.skipped += skipped;
      log.debug("Tick {index} overran its interval: skipped {skipped} tick(s)", { index, skipped });
      return;
    }
    const more = overrun.runs > 0
      ? ` (and ${overrun.runs} more overrun(s), ${overrun.skipped} tick(s) skipped, since the last warning)`
      : "";
    log.warn("Tick {index} overran its interval: skipped {skipped} tick(s){more}", {
      index,
      skipped,
      more,
    });
    this.#overrun = { lastWarnMs: now, runs: 0, skipped: 0 };
  }

  #arm(): void {
    this.#clearTimer();
    const deadlineMs = this.#schedule!.originMs + this.#tickIndex * this.#schedule!.intervalMs;
    this.#timer = setLongTimeout(() => {
      this.#timer = undefined;
      this.#dispatcher.request("tick");
    }, deadlineMs - this.#clock.nowMs());
  }

  #clearTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /**
   * Reads and validates the config, builds the new actions, applies logging;
   * swaps all of it in only when everything worked. Returns the new config,
   * or undefined when the old one stays.
   */
  async #loadNext(reason: string): Promise<{ config: Config; actions: ActionSet } | undefined> {
    const file = this.#config.file;
    if (!file) {
      log.warn("{reason}: no config file was given, nothing to reload", { reason });
      return undefined;
    }
    log.info("{reason}: reloading {file}", { reason, file });
    this.#reloadEvent({ type: "reloading" });
    let config: Config;
    let actions: ActionSet | undefined;
    try {
      // An editor may have truncated the file while saving it: an empty file keeps the running config.
      config = await loadConfig(file, { allowEmpty: false });
      await this.#options.validate?.(config);
      actions = await this.#buildActions(config, true);
      await this.#options.configureLogging?.(config);
    } catch (error) {
      await actions?.tearDownAll();
      const details = error instanceof ConfigError
        ? error.issues.map((issue) => `\n  ${new ConfigError([issue]).message}`).join("")
        : "";
      const message = error instanceof Error ? error.message : String(error);
      log.error("Reload failed, keeping the running config: {message}{details}", {
        message,
        details,
      });
      this.#reloadEvent({ type: "reloaded", error: message });
      return undefined;
    }
    const old = this.#actions;
    this.#actions = actions;
    // Inside a signal's run (the `reload` action), the old set finishes that
    // run first: it is torn down when the unit ends.
    if (old && this.#runningActions) this.#retired.push(old);
    else await old?.tearDownAll();
    return { config, actions };
  }

  /** Reload events go to systemd once per HUP: inside a HUP unit, the unit tells. */
  #reloadEvent(event: { type: "reloading" } | { type: "reloaded"; error?: string }): void {
    if (!this.#hup) return this.#emit(event);
    if (event.type === "reloaded" && event.error) this.#hup.error ??= event.error;
  }

  async #reload(reason: string): Promise<void> {
    const before = this.#config;
    const next = await this.#loadNext(
      `Received ${reason}`.replace("Received reload action", "Reload action"),
    );
    if (!next) return;
    this.#config = next.config;
    const intervalMs = this.#intervalMs(next.config);
    if (this.#schedule && intervalMs !== this.#schedule.intervalMs) {
      // The next tick comes one new interval after the last due one.
      const last = Math.max(0, this.#tickIndex - 1);
      this.#schedule = rebase(this.#schedule, last, intervalMs);
      this.#tickIndex = nextTick(this.#schedule, 0, this.#clock.nowMs()).index;
      if (this.#timer !== undefined) this.#arm();
      log.info("wake_interval changed from {before} s to {after} s", {
        before: before.application.wake_interval,
        after: next.config.application.wake_interval,
      });
    }
    log.info("Config reloaded from {file}", { file: next.config.file });
    this.#reloadEvent({ type: "reloaded" });
    await this.#hook("configurationReloaded");
    // The old config and actions are garbage now: collect it rather than let the heap grow.
    await collectGarbage();
    this.#checkActionsLeft();
  }

  /** helper's documented HUP: stop the controller, clean up, re-read the config, set up and run again. */
  async #restart(): Promise<void> {
    const next = await this.#loadNext("Restart");
    if (!next) return;
    this.#config = next.config;
    const generation = this.#generation;
    if (generation) {
      log.info("Restarting {name}: cleaning up the running controller", { name: this.#name });
      this.#clearTimer();
      this.#schedule = undefined;
      generation.abort.abort();
      await generation.loop;
      try {
        await generation.controller.cleanup?.(this.#context);
      } catch (error) {
        this.#reportError("cleanup() failed", error);
      }
      if (this.#stop.signal.aborted) return;
      if (this.#state !== "sleeping") this.#transition("sleeping");
      if (await this.#beginGeneration()) this.#firstTick();
    }
    this.#reloadEvent({ type: "reloaded" });
    this.#checkActionsLeft();
  }

  async #tearDownRetired(): Promise<void> {
    for (const set of this.#retired.splice(0)) await set.tearDownAll();
  }

  async #hook(name: "configurationReloaded" | "onSigusr2"): Promise<void> {
    try {
      await this.#generation?.controller[name]?.(this.#context);
    } catch (error) {
      this.#reportError(`${name}() failed`, error);
    }
  }

  /**
   * Asks for a graceful stop. A TERM or INT while stopping is the same
   * request when it comes within {@link REPEAT_WINDOW_MS} of the stop's
   * start (one Ctrl-C that reaches the process twice), and forces the exit
   * with code 1 when it comes later (a deliberate second Ctrl-C).
   */
  #requestStop(reason: string, signal?: "SIGTERM" | "SIGINT", receivedAtMs?: number): void {
    // A signal counts from when it arrived, which JavaScript may have seen late.
    const now = receivedAtMs ?? this.#clock.nowMs();
    if (this.#stopStartedMs !== undefined) {
      if (!signal) return;
      const afterMs = now - this.#stopStartedMs;
      if (afterMs >= REPEAT_WINDOW_MS) {
        this.#fail(
          "forced_stop",
          undefined,
          `Received ${signal} again while stopping: forcing exit`,
        );
      } else {
        log.debug("Received {signal} {ms} ms after the stop began: the same request", {
          signal,
          ms: Math.round(afterMs),
        });
      }
      return;
    }
    this.#stopStartedMs = now;
    log.info("{reason}: stopping", {
      reason: reason.startsWith("SIG") ? `Received ${reason}` : reason,
    });
    this.#emit({ type: "stopping" });
    void this.#stopGracefully();
  }

  /**
   * The stop: fire the controller's `signal`, let start-up settle (a
   * `setup()` in flight finishes first), let the unit in flight finish, run
   * `cleanup()` once, tear the actions down. `Daemon.stop_timeout` bounds all
   * of it here, and {@link HardStop} bounds it outside the event loop.
   */
  async #stopGracefully(): Promise<void> {
    this.#transition("stopRequested");
    this.#clearTimer();
    const timeoutS = this.#config.daemon.stop_timeout;
    const deadline = setLongTimeout(
      () =>
        this.#fail(
          "stop_timeout",
          undefined,
          `Stop timed out after ${timeoutS} s (Daemon.stop_timeout): forcing exit`,
        ),
      timeoutS * 1000,
    );
    try {
      this.#stop.abort();
      await this.#starting;
      await this.#dispatcher.close();
      const generation = this.#generation;
      await generation?.loop;
      this.#transition("stopping");
      if (generation) {
        try {
          await generation.controller.cleanup?.(this.#context);
        } catch (error) {
          this.#exitCode = EXIT_CODES.failure;
          this.#reportError("cleanup() failed", error);
        }
      }
      await this.#tearDownRetired();
      await this.#actions?.tearDownAll();
      this.#transition("stopped");
      log.info("Stopped {name}", { name: this.#name });
      this.#end(this.#exitCode);
    } catch (error) {
      this.#fail("run_failed", error);
    } finally {
      deadline.cancel();
    }
  }

  #end(code: number): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#finish(code);
  }

  #fail(
    code: "setup_failed" | "run_failed" | "forced_stop" | "stop_timeout",
    error: unknown,
    message?: string,
  ): void {
    const failure = new FlagstaffError(
      code,
      message ?? (error instanceof Error ? error.message : String(error)),
      { cause: error },
    );
    this.#reportError(failure.message, error);
    this.#emit({
      type: "failed",
      message: error instanceof Error ? `${failure.message}: ${error.message}` : failure.message,
    });
    if (code === "setup_failed") {
      // Nothing else will tear the actions down.
      this.#actions?.tearDownAll().finally(() => this.#end(failure.exitCode));
      return;
    }
    this.#end(failure.exitCode);
  }

  #reportError(message: string, error: unknown): void {
    if (error === undefined) log.error(message);
    else log.error(`${message}: {error}`, { error });
    if (!this.#foreground && error !== undefined) {
      // Awaited before run() resolves, so an exit right after a failed setup() loses nothing.
      const write = appendErrorsFile(this.#name, error, { dirs: this.#options.errorsFileDirs })
        .then(() => {}, () => {});
      this.#errorWrites.add(write);
      write.finally(() => this.#errorWrites.delete(write));
    }
  }

  #emit(event: RuntimeEvent): void {
    try {
      this.#options.observe?.(event);
    } catch (error) {
      log.error("Observer failed on {type}: {error}", { type: event.type, error });
    }
  }

  #setStateFromApp(state: State): boolean {
    if (!isState(state)) throw new TypeError(`Invalid state ${JSON.stringify(state)}`);
    if (
      !canTransition(this.#state, state) || state === "stopRequested" || state === "stopping" ||
      state === "stopped"
    ) {
      log.warn("Ignored setState({state}) in state {current}", {
        state,
        current: STATES[this.#state],
      });
      return false;
    }
    this.#state = state;
    return true;
  }

  #transition(to: State): void {
    if (!canTransition(this.#state, to)) {
      throw new Error(`Bug: illegal state transition ${this.#state} -> ${to}`);
    }
    if (to !== this.#state) {
      log.debug("State {from} -> {to}", { from: STATES[this.#state], to: STATES[to] });
    }
    this.#state = to;
  }

  #intervalMs(config: Config): number {
    const seconds = config.application.wake_interval;
    const ms = intervalMsFromSeconds(seconds);
    if (ms < seconds * 1000) {
      log.warn("wake_interval {seconds} s is past the timer limit: capped at {cap} s", {
        seconds,
        cap: ms / 1000,
      });
    }
    return ms;
  }
}

/** Whether `error` is what an aborted `signal` throws: its reason, or an `AbortError`. */
function isAbortReason(error: unknown, signal: AbortSignal): boolean {
  return error === signal.reason ||
    (error instanceof DOMException && error.name === "AbortError") ||
    (error instanceof Error && error.name === "AbortError");
}
