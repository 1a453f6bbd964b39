/**
 * The runtime: runs one controller under the one-queue dispatcher of
 * DESIGN.md. Signal listeners only record work; units (a `process()` tick, a
 * reload, a hook) run one at a time; TERM/INT stop after the unit in flight.
 *
 * @module
 */

import { type Clock, monotonicClock } from "./clock.ts";
import { type Config, loadConfig } from "./config.ts";
import {
  ATTACH,
  type ControllerClass,
  type ControllerContext,
  type ControllerLike,
  type Logger,
} from "./controller.ts";
import { getLogger } from "./deps.ts";
import { Dispatcher } from "./dispatcher.ts";
import { isStandalone } from "./loader.ts";
import { appendErrorsFile } from "./errors_file.ts";
import { ConfigError, EXIT_CODES, FlagstaffError } from "./errors.ts";
import {
  intervalMsFromSeconds,
  MAX_TIMER_MS,
  nextTick,
  rebase,
  type Schedule,
  timerDelayMs,
} from "./schedule.ts";
import { denoSignals, type SignalName, type SignalSource } from "./signals.ts";
import { canTransition, isState, type State, STATES } from "./states.ts";

/** What a signal does when no action replaces its default (DESIGN.md). */
export type SignalDefault = "reload" | "sigusr2";

/** Options for {@link Runtime}. */
export interface RuntimeOptions {
  /** App name: the controller's logger category and the errors file's name. */
  name: string;
  /** The config to start with (its `file` is re-read on reload). */
  config: Config;
  /** Running in the foreground (default true). When false, unhandled errors also go to the errors file. */
  foreground?: boolean;
  /** Applies a config's `Logging` section; must leave logging as it was when it throws. Default: none. */
  configureLogging?: (config: Config) => Promise<void>;
  /** The signal source. Default: the process's real signals. */
  signals?: SignalSource;
  /** The clock. Default: `performance.now()`. */
  clock?: Clock;
  /** Folders tried for `<name>.errors`. Default: `/var/log`, `/var/tmp`, `/tmp`. */
  errorsFileDirs?: readonly string[];
}

type UnitKey = "tick" | "SIGHUP" | "SIGUSR1" | "SIGUSR2";

const DEFAULTS: Readonly<Record<"SIGHUP" | "SIGUSR1" | "SIGUSR2", SignalDefault>> = {
  SIGHUP: "reload",
  SIGUSR1: "reload",
  SIGUSR2: "sigusr2",
};

const log = getLogger(["flagstaff", "runtime"]);

/**
 * Runs a controller until it is stopped; {@link run} resolves with the exit code.
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
  readonly #class: ControllerClass;
  readonly #name: string;
  readonly #foreground: boolean;
  readonly #configureLogging: (config: Config) => Promise<void>;
  readonly #signals: SignalSource;
  readonly #clock: Clock;
  readonly #errorsFileDirs: readonly string[] | undefined;
  readonly #appLogger: Logger;
  readonly #stop = new AbortController();
  readonly #dispatcher: Dispatcher<UnitKey>;
  readonly #context: ControllerContext;
  #config: Config;
  #state: State = "initializing";
  #controller: ControllerLike | undefined;
  #schedule: Schedule | undefined;
  #tickIndex = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #exitCode: number = EXIT_CODES.ok;
  #finish: (code: number) => void = () => {};
  #stopping: Promise<void> | undefined;

  /** Creates a runtime for `controllerClass`; nothing runs until {@link run}. */
  constructor(controllerClass: ControllerClass, options: RuntimeOptions) {
    this.#class = controllerClass;
    this.#name = options.name;
    this.#config = options.config;
    this.#foreground = options.foreground ?? true;
    this.#configureLogging = options.configureLogging ?? (() => Promise.resolve());
    this.#signals = options.signals ?? denoSignals;
    this.#clock = options.clock ?? monotonicClock;
    this.#errorsFileDirs = options.errorsFileDirs;
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
        return runtime.#stop.signal;
      },
      get state() {
        return runtime.#state;
      },
      get wakeInterval() {
        return runtime.#config.application.wake_interval;
      },
      setState: (state) => this.#setStateFromApp(state),
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
   * Sets up the controller, runs it until TERM/INT (or its own `run()` ends),
   * cleans up, and resolves with the exit code (0 clean, 1 failure).
   */
  async run(): Promise<number> {
    const done = new Promise<number>((resolve) => this.#finish = resolve);
    const unsubscribe = this.#listen();
    const keepAlive = setInterval(() => {}, MAX_TIMER_MS);
    const onRejection = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      this.#reportError("Unhandled promise rejection", event.reason);
    };
    const onError = (event: ErrorEvent) => {
      event.preventDefault();
      this.#reportError("Uncaught exception", event.error ?? event.message);
    };
    globalThis.addEventListener("unhandledrejection", onRejection);
    globalThis.addEventListener("error", onError);
    try {
      this.#start().catch((error) => this.#fail("run_failed", error));
      return await done;
    } finally {
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
      clearInterval(keepAlive);
      this.#clearTimer();
      unsubscribe();
    }
  }

  #listen(): () => void {
    const off: (() => void)[] = [];
    try {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        off.push(this.#signals.subscribe(signal, () => this.#requestStop(signal)));
      }
      for (const signal of ["SIGHUP", "SIGUSR1", "SIGUSR2"] as const) {
        off.push(this.#signals.subscribe(signal, () => {
          if (signal === "SIGUSR1") this.#warnDebugger();
          this.#dispatcher.request(signal);
        }));
      }
    } catch (error) {
      for (const unsubscribe of off) unsubscribe();
      throw error;
    }
    return () => off.forEach((unsubscribe) => unsubscribe());
  }

  #debuggerWarned = false;

  /** Under `deno run`, SIGUSR1 also opens V8's inspector (compiled binaries do not): say so once. */
  #warnDebugger(): void {
    if (this.#debuggerWarned || isStandalone()) return;
    this.#debuggerWarned = true;
    log.warn(
      "SIGUSR1 under `deno run` also makes Deno open a V8 debugger on 127.0.0.1:9229; " +
        "use SIGHUP to reload, or run the compiled binary",
    );
  }

  async #start(): Promise<void> {
    log.info("Starting {name} (pid {pid})", { name: this.#name, pid: Deno.pid });
    let controller: ControllerLike;
    try {
      controller = new this.#class(this.#context);
      (controller as { [ATTACH]?: (context: ControllerContext) => void })[ATTACH]?.(this.#context);
      this.#controller = controller;
      await controller.setup?.(this.#context);
    } catch (error) {
      this.#fail("setup_failed", error, "setup() failed");
      return;
    }
    if (this.#stop.signal.aborted) return;
    if (typeof controller.run === "function") {
      this.#transition("active");
      log.info("Running {name}: run() is its own loop", { name: this.#name });
      try {
        await controller.run(this.#stop.signal, this.#context);
      } catch (error) {
        if (!this.#stop.signal.aborted) this.#exitCode = EXIT_CODES.failure;
        this.#reportError("run() failed", error);
      }
      if (!this.#stop.signal.aborted) this.#requestStop("run() returned");
      return;
    }
    const intervalMs = this.#intervalMs(this.#config);
    this.#schedule = { originMs: this.#clock.nowMs(), intervalMs };
    this.#tickIndex = 0;
    log.info("Running {name}: process() every {seconds} s", {
      name: this.#name,
      seconds: this.#config.application.wake_interval,
    });
    this.#dispatcher.request("tick");
  }

  async #runUnit(key: UnitKey): Promise<void> {
    if (key === "tick") return await this.#tick();
    switch (DEFAULTS[key]) {
      case "reload":
        return await this.#reload(key);
      case "sigusr2":
        log.info("Received {signal}: calling onSigusr2()", { signal: key });
        return await this.#hook("onSigusr2");
    }
  }

  async #tick(): Promise<void> {
    const controller = this.#controller!;
    if (this.#state === "idle") {
      log.debug("Idle: tick {index} skipped", { index: this.#tickIndex });
    } else {
      this.#transition("active");
      try {
        await controller.process?.(this.#context);
      } catch (error) {
        this.#reportError("process() failed", error);
      }
      if (this.#state === "active") this.#transition("sleeping");
    }
    if (this.#stop.signal.aborted) return;
    const next = nextTick(this.#schedule!, this.#tickIndex, this.#clock.nowMs());
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
    const delay = timerDelayMs(deadlineMs, this.#clock.nowMs());
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

  async #reload(signal: SignalName): Promise<void> {
    const file = this.#config.file;
    if (!file) {
      log.warn("Received {signal}: no config file was given, nothing to reload", { signal });
      return;
    }
    log.info("Received {signal}: reloading {file}", { signal, file });
    let next: Config;
    try {
      next = await loadConfig(file);
      await this.#configureLogging(next);
    } catch (error) {
      const details = error instanceof ConfigError
        ? error.issues.map((issue) => `\n  ${new ConfigError([issue]).message}`).join("")
        : "";
      log.error("Reload failed, keeping the running config: {message}{details}", {
        message: error instanceof Error ? error.message : String(error),
        details,
      });
      return;
    }
    const before = this.#config;
    this.#config = next;
    const intervalMs = this.#intervalMs(next);
    if (this.#schedule && intervalMs !== this.#schedule.intervalMs) {
      // The next tick comes one new interval after the last due one.
      const last = Math.max(0, this.#tickIndex - 1);
      this.#schedule = rebase(this.#schedule, last, intervalMs);
      this.#tickIndex = nextTick(this.#schedule, 0, this.#clock.nowMs()).index;
      if (this.#timer !== undefined) this.#arm();
      log.info("wake_interval changed from {before} s to {after} s", {
        before: before.application.wake_interval,
        after: next.application.wake_interval,
      });
    }
    log.info("Config reloaded from {file}", { file });
    await this.#hook("configurationReloaded");
  }

  async #hook(name: "configurationReloaded" | "onSigusr2"): Promise<void> {
    try {
      await this.#controller?.[name]?.(this.#context);
    } catch (error) {
      this.#reportError(`${name}() failed`, error);
    }
  }

  #requestStop(reason: string): void {
    if (
      this.#state === "stopRequested" || this.#state === "stopping" || this.#state === "stopped"
    ) {
      if (reason === "SIGTERM" || reason === "SIGINT") {
        this.#fail(
          "forced_stop",
          undefined,
          `Received ${reason} again while stopping: forcing exit`,
        );
      }
      return;
    }
    log.info("Received {reason}: stopping", { reason });
    this.#stopping = this.#stopGracefully();
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
      if (this.#controller) {
        this.#transition("stopping");
        try {
          await this.#controller.cleanup?.(this.#context);
        } catch (error) {
          this.#exitCode = EXIT_CODES.failure;
          this.#reportError("cleanup() failed", error);
        }
      } else this.#transition("stopping");
      this.#transition("stopped");
      log.info("Stopped {name}", { name: this.#name });
      this.#finish(this.#exitCode);
    } finally {
      clearTimeout(deadline);
    }
  }

  #fail(
    code: "setup_failed" | "run_failed" | "forced_stop" | "stop_timeout",
    error: unknown,
    message?: string,
  ): void {
    const failure = new FlagstaffError(
      code,
      message ?? (error instanceof Error ? error.message : String(error)),
      {
        cause: error,
      },
    );
    this.#reportError(failure.message, error);
    this.#finish(failure.exitCode);
  }

  #reportError(message: string, error: unknown): void {
    if (error === undefined) log.error(message);
    else log.error(`${message}: {error}`, { error });
    if (!this.#foreground && error !== undefined) {
      appendErrorsFile(this.#name, error, { dirs: this.#errorsFileDirs }).catch(() => {});
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
