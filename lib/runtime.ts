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
import { type Clock, monotonicClock } from "./clock.ts";
import { type ActionSignal, type ActionUse, type Config, loadConfig } from "./config.ts";
import {
  ATTACH,
  type ControllerClass,
  type ControllerContext,
  type ControllerLike,
  type Logger,
} from "./controller.ts";
import { getLogger } from "./deps.ts";
import { Dispatcher } from "./dispatcher.ts";
import { appendErrorsFile } from "./errors_file.ts";
import { ConfigError, EXIT_CODES, FlagstaffError } from "./errors.ts";
import { isStandalone } from "./loader.ts";
import {
  intervalMsFromSeconds,
  MAX_TIMER_MS,
  nextTick,
  rebase,
  type Schedule,
  timerDelayMs,
} from "./schedule.ts";
import { denoSignals, type SignalSource } from "./signals.ts";
import { canTransition, isState, type State, STATES } from "./states.ts";

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
  /** Applies a config's `Logging` section; must leave logging as it was when it throws. Default: none. */
  configureLogging?: (config: Config) => Promise<void>;
  /** Told of readiness, reloads and stops. Default: nobody. */
  observe?: (event: RuntimeEvent) => void;
  /**
   * Every this many milliseconds a `watchdog` event is emitted from the
   * dispatcher, so none comes while a unit is stuck. Default: none.
   */
  watchdogIntervalMs?: number;
  /** The signal source. Default: the process's real signals. */
  signals?: SignalSource;
  /** The clock. Default: `performance.now()`. */
  clock?: Clock;
  /** Folders tried for `<name>.errors`. Default: `/var/log`, `/var/tmp`, `/tmp`. */
  errorsFileDirs?: readonly string[];
}

type UnitKey = "tick" | "sweep" | "restart" | "watchdog" | ActionSignal;

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
 * import { Runtime } from "./runtime.ts";
 * import { Controller } from "./controller.ts";
 * import { defaultConfig } from "./config.ts";
 * class Once extends Controller {
 *   override async run(signal: AbortSignal): Promise<void> {}
 * }
 * const code = await new Runtime(Once, { name: "once", config: defaultConfig() }).run();
 * console.assert(code === 0);
 * ```
 */
export class Runtime {
  readonly #class: ControllerClass | undefined;
  readonly #name: string;
  readonly #options: RuntimeOptions;
  readonly #foreground: boolean;
  readonly #signals: SignalSource;
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
  #timer: ReturnType<typeof setTimeout> | undefined;
  #exitCode: number = EXIT_CODES.ok;
  #finish: (code: number) => void = () => {};
  #finished = false;
  #debuggerWarned = false;
  readonly #errorWrites = new Set<Promise<void>>();

  /** Creates a runtime for `controllerClass` (or for actions alone); nothing runs until {@link run}. */
  constructor(controllerClass: ControllerClass | undefined, options: RuntimeOptions) {
    this.#class = controllerClass;
    this.#options = options;
    this.#name = options.name;
    this.#config = options.config;
    this.#foreground = options.foreground ?? true;
    this.#signals = options.signals ?? denoSignals;
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
    };
    this.#control = {
      reload: () => this.#reload("reload action"),
      restart: () => this.#restart(),
      stop: (reason) => this.#requestStop(reason),
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
   * @throws {FlagstaffError} `usage` when an action cannot be loaded or set up
   *   (nothing has run then).
   */
  async run(): Promise<number> {
    this.#actions = await this.#buildActions(this.#config, false);
    const done = new Promise<number>((resolve) => this.#finish = resolve);
    // Signal listeners do not keep Deno's event loop alive: this timer does. It is
    // started once ready, because a process's first timer costs Deno ~7 ms to set up.
    let keepAlive: ReturnType<typeof setInterval> | undefined;
    const onRejection = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      this.#reportError("Unhandled promise rejection", event.reason);
    };
    const onError = (event: ErrorEvent) => {
      event.preventDefault();
      this.#reportError("Uncaught exception", event.error ?? event.message);
    };
    let unsubscribe = () => {};
    let watchdog: ReturnType<typeof setInterval> | undefined;
    globalThis.addEventListener("unhandledrejection", onRejection);
    globalThis.addEventListener("error", onError);
    try {
      unsubscribe = this.#listen();
      this.#start().then(() => {
        if (!this.#finished) keepAlive = setInterval(() => {}, MAX_TIMER_MS);
      }).catch((error) => this.#fail("run_failed", error));
      const every = this.#options.watchdogIntervalMs;
      if (every) watchdog = setInterval(() => this.#dispatcher.request("watchdog"), every);
      const code = await done;
      await Promise.all(this.#errorWrites);
      return code;
    } catch (error) {
      await this.#actions.tearDownAll();
      throw error;
    } finally {
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
      clearInterval(keepAlive);
      clearInterval(watchdog);
      this.#clearTimer();
      unsubscribe();
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
    }, { fresh });
  }

  #listen(): () => void {
    const off: (() => void)[] = [];
    try {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        off.push(this.#signals.subscribe(signal, () => this.#requestStop(signal)));
      }
      for (const signal of ["SIGHUP", "SIGUSR1", "SIGUSR2"] as const) {
        const listener = () => {
          if (signal === "SIGUSR1") this.#warnDebugger();
          this.#dispatcher.request(signal);
        };
        try {
          off.push(this.#signals.subscribe(signal, listener));
        } catch (error) {
          // A platform without this signal: only an error when actions were given for it.
          if (this.#actions?.configured(signal)) throw error;
          log.debug("Not listening to {signal}: {error}", { signal, error });
        }
      }
    } catch (error) {
      for (const unsubscribe of off) unsubscribe();
      throw error;
    }
    if (this.#actions?.configured("SIGUSR1") && !isStandalone()) this.#warnDebugger();
    return () => off.forEach((unsubscribe) => unsubscribe());
  }

  /** Under `deno run`, SIGUSR1 also opens V8's inspector (compiled binaries do not): say so once. */
  #warnDebugger(): void {
    if (this.#debuggerWarned || isStandalone()) return;
    this.#debuggerWarned = true;
    log.warn(
      "SIGUSR1 under `deno run` also makes Deno open a V8 debugger on 127.0.0.1:9229; " +
        "use SIGHUP, or run the compiled binary, where SIGUSR1 has no such effect",
    );
  }

  async #start(): Promise<void> {
    log.info("Starting {name} (pid {pid})", { name: this.#name, pid: Deno.pid });
    if (!this.#class) {
      this.#transition("sleeping");
      const count = this.#actions!.configuredCount;
      log.info("Running {count} action(s); waiting for signals", { count });
      this.#emit({ type: "ready", status: `Waiting for signals (${count} action(s))` });
      return;
    }
    if (!await this.#beginGeneration()) return;
    this.#emit({
      type: "ready",
      status: this.#schedule
        ? `Running: process() every ${this.#config.application.wake_interval} s`
        : "Running: run() is its own loop",
    });
    this.#firstTick();
  }

  /** Constructs and sets up a controller, then starts its loop or schedule. False when setup failed. */
  async #beginGeneration(): Promise<boolean> {
    const abort = new AbortController();
    let controller: ControllerLike;
    try {
      controller = new this.#class!(this.#context);
      this.#generation = {
        controller,
        abort,
        signal: AbortSignal.any([this.#stop.signal, abort.signal]),
      };
      (controller as { [ATTACH]?: (context: ControllerContext) => void })[ATTACH]?.(this.#context);
      await controller.setup?.(this.#context);
    } catch (error) {
      this.#generation = undefined;
      this.#fail("setup_failed", error, "setup() failed");
      return false;
    }
    if (this.#stop.signal.aborted) return true;
    const generation = this.#generation;
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
    if (key === "SIGUSR2") {
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
    if (next.skipped > 0) {
      log.warn("Tick {index} overran its interval: skipped {skipped} tick(s)", {
        index: this.#tickIndex,
        skipped: next.skipped,
      });
    }
    this.#tickIndex = next.index;
    this.#arm();
  }

  #arm(): void {
    this.#clearTimer();
    const deadlineMs = this.#schedule!.originMs + this.#tickIndex * this.#schedule!.intervalMs;
    // Whole milliseconds, rounded up: a timer never fires before the deadline.
    const delay = Math.ceil(timerDelayMs(deadlineMs, this.#clock.nowMs()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A wait longer than the timer limit fires early: wait again.
      if (this.#clock.nowMs() < deadlineMs - 0.5 && delay >= MAX_TIMER_MS) this.#arm();
      else this.#dispatcher.request("tick");
    }, delay);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
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
    this.#emit({ type: "reloading" });
    let config: Config;
    let actions: ActionSet | undefined;
    try {
      config = await loadConfig(file);
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
      this.#emit({ type: "reloaded", error: message });
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
    this.#emit({ type: "reloaded" });
    await this.#hook("configurationReloaded");
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
    this.#emit({ type: "reloaded" });
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

  #requestStop(reason: string): void {
    if (this.#stop.signal.aborted) {
      if (reason === "SIGTERM" || reason === "SIGINT") {
        this.#fail(
          "forced_stop",
          undefined,
          `Received ${reason} again while stopping: forcing exit`,
        );
      }
      return;
    }
    log.info("{reason}: stopping", {
      reason: reason.startsWith("SIG") ? `Received ${reason}` : reason,
    });
    this.#emit({ type: "stopping" });
    this.#stopGracefully();
  }

  async #stopGracefully(): Promise<void> {
    this.#transition("stopRequested");
    this.#clearTimer();
    const timeoutS = this.#config.daemon.stop_timeout;
    const deadline = setTimeout(
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
      clearTimeout(deadline);
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
