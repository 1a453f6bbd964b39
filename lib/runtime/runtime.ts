/**
 * The runtime: runs a controller, the signal actions and the schedules under
 * the one-queue dispatcher of DESIGN.md. Trigger sources (the signals, the
 * schedules: `lib/schedules/trigger.ts`) only record work through one
 * `fire(trigger)`; units (a `process()` tick, the actions of one signal or
 * schedule, a reload, a hook) run one at a time; TERM/INT stop after the unit
 * in flight.
 *
 * This file routes triggers and starts up; what each unit does is in
 * `units.ts`, over one shared state (`_core.ts`) with the controller's life
 * and its ticks (`generation.ts`, `ticker.ts`), reloads (`reload.ts`), the
 * stop (`stop.ts`) and the schedules (`schedules.ts`).
 *
 * @module
 */

import { monotonicClock } from "../core/clock.ts";
import type { ActionSignal, Config } from "../config/config.ts";
import type { ControllerClass } from "./controller.ts";
import type { RuntimeOptions } from "./runtime_options.ts";
import { Dispatcher } from "../core/dispatcher.ts";
import { EXIT_CODES, FlagstaffError } from "../core/errors.ts";
import { type LongTimer, MAX_TIMER_MS, setLongTimeout } from "../core/delay.ts";
import { SignalInbox, type SignalSource } from "../os/signals.ts";
import { ACTION_SIGNAL_NAMES, HANDLED_SIGNALS, type SignalName } from "../core/signal_table.ts";
import { SignalTriggerSource, type Trigger } from "../schedules/trigger.ts";
import type { State } from "../core/states.ts";
import { getLogger } from "../deps.ts";
import { log, RuntimeCore, type UnitKey } from "./_core.ts";
import { beginGeneration, firstTick } from "./generation.ts";
import { reload, restart } from "./reload.ts";
import { requestStop } from "./stop.ts";
import { ScheduleRunner } from "./schedules.ts";
import { Ticker } from "./ticker.ts";
import { runUnit } from "./units.ts";

export { REPEAT_WINDOW_MS } from "./stop.ts";
export { OVERRUN_WARNING_EVERY_MS } from "./ticker.ts";

export type { RuntimeEvent, RuntimeOptions } from "./runtime_options.ts";

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
  readonly #core: RuntimeCore;
  #signals: (SignalSource & { listening?(signal: SignalName): boolean }) | undefined;
  /** The inbox this runtime installed itself (no `signals` option): closed at the end of run(). */
  #ownInbox: SignalInbox | undefined;
  /** An error that ended start-up before anything ran; `run()` rethrows it. */
  #startError: unknown;
  /** The schedules, started once start-up is done. */
  readonly #schedules: ScheduleRunner;

  /** Creates a runtime for `controllerClass` (or for actions alone); nothing runs until {@link run}. */
  constructor(controllerClass: ControllerClass | undefined, options: RuntimeOptions) {
    const core = new RuntimeCore(controllerClass, options, options.clock ?? monotonicClock);
    this.#core = core;
    this.#signals = options.signals;
    core.dispatcher = new Dispatcher<UnitKey>((key) => runUnit(core, key), {
      onError: (key, error) => core.reportError(`Unit ${key} failed`, error),
    });
    core.ticker = new Ticker(core.clock, () => core.dispatcher.request("tick"));
    this.#schedules = new ScheduleRunner(core, (trigger) => this.#fire(trigger), {
      stateDir: options.stateDir,
      stateDirProblem: options.stateDirProblem,
    });
    const appLogger = getLogger([options.name]);
    core.context = {
      get config() {
        return core.config;
      },
      get logger() {
        return appLogger;
      },
      get signal() {
        return core.generation?.signal ?? core.stop.signal;
      },
      get state() {
        return core.state;
      },
      get wakeIntervalS() {
        return core.config.application.wake_interval;
      },
      setState: (state) => core.setStateFromApp(state),
      args: Object.freeze({ ...options.args }),
    };
    core.control = {
      reload: () => reload(core, "reload action"),
      restart: () => restart(core),
      stop: (reason) => requestStop(core, reason),
      processGroup: (pgid) => options.onProcessGroup?.(pgid) ?? (() => {}),
    };
  }

  /** The current config. */
  get config(): Config {
    return this.#core.config;
  }

  /** The current state. */
  get state(): State {
    return this.#core.state;
  }

  /**
   * Asks for a graceful stop, as TERM does (a library user's own reason to
   * stop: `start()`'s `signal`). Does nothing once a stop has begun.
   *
   * @param reason Logged as the stop's reason.
   */
  stop(reason = "Stop requested"): void {
    requestStop(this.#core, reason);
  }

  /**
   * Sets up the actions and the controller, runs until TERM/INT (or the
   * controller's own `run()` ends, or every action has closed), cleans up,
   * and resolves with the exit code (0 clean, 1 failure).
   *
   * Signals are taken from the source from the first moment: TERM and INT
   * stop at once (start-up is awaited first), HUP, USR1 and USR2 that come
   * during start-up are queued and run once the runtime is ready. Schedules
   * start once start-up is done (a due catch-up fires then); a stop cancels
   * their pending ticks first.
   *
   * @returns The exit code.
   * @throws {FlagstaffError} `usage` when an action cannot be loaded or set up
   *   (nothing has run then).
   */
  async run(): Promise<number> {
    const core = this.#core;
    const done = core.done();
    // Signal listeners do not keep Deno's event loop alive: this timer does.
    const keepAlive = setInterval(() => {}, MAX_TIMER_MS);
    const onRejection = (event: PromiseRejectionEvent) => {
      event.preventDefault();
      core.reportError("Unhandled promise rejection", event.reason);
    };
    const onError = (event: ErrorEvent) => {
      event.preventDefault();
      core.reportError("Uncaught exception", event.error ?? event.message);
    };
    let watchdog: LongTimer | undefined;
    globalThis.addEventListener("unhandledrejection", onRejection);
    globalThis.addEventListener("error", onError);
    if (!this.#signals) this.#signals = this.#ownInbox = SignalInbox.install();
    const signals = this.#signals;
    core.dispatcher.hold();
    // Start-up begins before the signals recorded so far are replayed: a stop then waits for it.
    core.starting = this.#start().catch((error) => this.#startFailed(error));
    const signalTriggers = new SignalTriggerSource(HANDLED_SIGNALS, signals)
      .start((trigger) => this.#fire(trigger));
    try {
      const every = core.options.watchdogIntervalMs;
      if (every) {
        const ping = () => {
          core.dispatcher.request("watchdog");
          watchdog = setLongTimeout(ping, every);
        };
        watchdog = setLongTimeout(ping, every);
      }
      const code = await done;
      await Promise.all(core.errorWrites);
      if (this.#startError !== undefined) throw this.#startError;
      return code;
    } finally {
      signalTriggers[Symbol.dispose]();
      this.#schedules.dispose();
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
      clearInterval(keepAlive);
      watchdog?.cancel();
      core.ticker.cancel();
      this.#ownInbox?.close();
    }
  }

  /**
   * The one path of every trigger: it only records (DESIGN.md). A TERM or
   * INT asks for the stop; any other signal queues its unit; a due schedule
   * queues its unit, or is coalesced into the run of it already queued or
   * running (a schedule never overlaps itself). Nothing is queued once a
   * stop has begun.
   */
  #fire(trigger: Trigger): void {
    const core = this.#core;
    if (trigger.kind === "signal") {
      const { signal } = trigger;
      if (signal === "SIGTERM" || signal === "SIGINT") {
        return requestStop(core, signal, signal, trigger.receivedAtMs);
      }
      if (core.stopStartedMs !== undefined) {
        log.debug("Received {signal} while stopping: ignored", { signal });
        return;
      }
      core.dispatcher.request(signal as ActionSignal);
      return;
    }
    if (core.stopStartedMs !== undefined) return;
    const key = trigger.key as UnitKey;
    const dispatcher = core.dispatcher;
    if (dispatcher.current === key || dispatcher.isPending(key)) {
      log.info("Schedule {name} came due while its last run was still {where}: coalesced into it", {
        name: trigger.name,
        where: dispatcher.current === key ? "running" : "queued",
      });
    } else dispatcher.request(key);
    this.#schedules.fired(trigger);
  }

  /** Actions given for a signal this platform cannot deliver are an error. */
  #checkListening(): void {
    for (const signal of ACTION_SIGNAL_NAMES) {
      if (this.#core.actions?.configured(signal) && this.#signals?.listening?.(signal) === false) {
        throw new FlagstaffError(
          "usage",
          `Cannot listen to ${signal} on ${Deno.build.os}, but actions were given for it`,
        );
      }
    }
  }

  /**
   * Sets up the actions, then the controller; starts the schedules, tells
   * readiness and lets queued signals run.
   */
  async #start(): Promise<void> {
    const core = this.#core;
    core.actions = await core.buildActions(core.config, false);
    this.#checkListening();
    if (core.stop.signal.aborted) return;
    log.info("Starting {name} (pid {pid})", { name: core.name, pid: Deno.pid });
    if (!core.controllerClass) {
      core.transition("sleeping");
      const count = core.actions.configuredCount;
      log.info("Running {count} action(s); waiting for signals", { count });
      this.#startSchedules();
      core.emit({ type: "ready", status: `Waiting for signals (${count} action(s))` });
      core.dispatcher.resume();
      return;
    }
    if (!await beginGeneration(core)) return;
    this.#startSchedules();
    core.emit({
      type: "ready",
      status: core.ticker.running
        ? `Running: process() every ${core.config.application.wake_interval} s`
        : "Running: run() is its own loop",
    });
    core.dispatcher.resume();
    firstTick(core);
  }

  /** Start-up is done: the schedules begin (a due catch-up is queued now). */
  #startSchedules(): void {
    const core = this.#core;
    if (core.stop.signal.aborted) return;
    core.schedules = this.#schedules;
    this.#schedules.start(core.schedulesOf(core.config));
  }

  /** Start-up threw (an action that cannot be set up): nothing ran. */
  async #startFailed(error: unknown): Promise<void> {
    const core = this.#core;
    if (core.stop.signal.aborted) {
      // A stop came first; the error is still worth a line, the stop ends the process.
      core.reportError("Start-up failed while stopping", error);
      return;
    }
    this.#startError = error;
    await core.actions?.tearDownAll();
    core.end(error instanceof FlagstaffError ? error.exitCode : EXIT_CODES.failure);
  }
}
