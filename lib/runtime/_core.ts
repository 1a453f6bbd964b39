/**
 * The runtime's shared state and the small things every unit does with it
 * (emit an event, report an error, move the state machine, end the run).
 * Private to `lib/runtime/`: the units (`generation.ts`, `reload.ts`,
 * `stop.ts`) and `runtime.ts` work on one {@link RuntimeCore}.
 *
 * @module
 */

import type { ActionUse, Config } from "../config/config.ts";
import { mergeSchedules, type ScheduleConfig } from "../config/schedules.ts";
import type { Clock } from "../core/clock.ts";
import type { Dispatcher } from "../core/dispatcher.ts";
import { EXIT_CODES, FlagstaffError, messageOf } from "../core/errors.ts";
import type { ActionSignal } from "../core/signal_table.ts";
import { canTransition, isState, type State, STATES } from "../core/states.ts";
import { getLogger } from "../deps.ts";
import { appendErrorsFile } from "../os/errors_file.ts";
import type { RuntimeControl } from "./action.ts";
import { ActionSet, type ActionUses } from "./action_set.ts";
import type { ControllerClass, ControllerContext, ControllerLike, Logger } from "./controller.ts";
import type { RuntimeEvent, RuntimeOptions } from "./runtime_options.ts";
import type { Ticker } from "./ticker.ts";

/** A unit of work of the one queue: a schedule's is `schedule:<name>`. */
export type UnitKey =
  | "tick"
  | "sweep"
  | "restart"
  | "watchdog"
  | ActionSignal
  | `schedule:${string}`;

/** What the runtime's schedules offer the units (`schedules.ts`). */
export interface ScheduleUnits {
  /** The schedule running as `key` now, if it is still configured. */
  byKey(key: `schedule:${string}`): ScheduleConfig | undefined;
  /** Records that `schedule`'s unit starts now (for catch-up). */
  ran(schedule: ScheduleConfig): void;
  /** Replaces the schedules (a reload): unchanged ones keep their plan. */
  replace(schedules: readonly ScheduleConfig[]): void;
  /** Cancels every pending tick: nothing fires any more. */
  dispose(): void;
  /** Resolves when the state file's writes have ended. */
  flush(): Promise<void>;
}

/** One life of the controller: `restart` ends one and begins the next. */
export interface Generation {
  /** The controller. */
  readonly controller: ControllerLike;
  /** Fires when this life ends (a restart). */
  readonly abort: AbortController;
  /** Fires on stop or when this life ends: the controller's `signal`. */
  readonly signal: AbortSignal;
  /** `run()`'s promise, for a controller with a loop of its own. */
  loop?: Promise<void>;
}

/** The failures that end a run with their error code. */
export type FailureCode = "setup_failed" | "run_failed" | "forced_stop" | "stop_timeout";

/** stdout, written synchronously so lines are never lost at exit. */
export const STDOUT = {
  write(text: string): void {
    let bytes = new TextEncoder().encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
  },
};

/** The runtime's logger. */
export const log: Logger = getLogger(["flagstaff", "runtime"]);

/** The shared state of one run; see the module doc. */
export class RuntimeCore {
  /** The app's controller class, if any. */
  readonly controllerClass: ControllerClass | undefined;
  /** The app's name. */
  readonly name: string;
  /** What the runtime was made with. */
  readonly options: RuntimeOptions;
  /** The monotonic clock. */
  readonly clock: Clock;
  /** Fires when a stop begins. */
  readonly stop = new AbortController();
  /** The context handed to the controller (set by the runtime). */
  context!: ControllerContext;
  /** What actions steer the runtime with (set by the runtime). */
  control!: RuntimeControl;
  /** The one queue (set by the runtime). */
  dispatcher!: Dispatcher<UnitKey>;
  /** The wake schedule's timer (set by the runtime). */
  ticker!: Ticker;
  /** The current config. */
  config: Config;
  /** The current state (helper's). */
  state: State = "initializing";
  /** The controller's current life. */
  generation: Generation | undefined;
  /** The live actions. */
  actions: ActionSet | undefined;
  /** The running schedules, once start-up is done. */
  schedules: ScheduleUnits | undefined;
  /** Sets replaced during a signal's run, torn down when that run ends. */
  readonly retired: ActionSet[] = [];
  /** Whether a signal's actions are running (a reload inside them retires the old set later). */
  runningActions = false;
  /** Inside a SIGHUP unit: it tells systemd of the reload itself, once. */
  hup: { error?: string } | undefined;
  /** Start-up: settles, never rejects (a stop awaits it). */
  starting: Promise<void> = Promise.resolve();
  /** When the stop began (receipt time of its signal), on {@link clock}. */
  stopStartedMs: number | undefined;
  /** The exit code a clean stop ends with. */
  exitCode: number = EXIT_CODES.ok;
  /** Errors-file writes in flight (awaited before the run resolves). */
  readonly errorWrites = new Set<Promise<void>>();
  #finish: (code: number) => void = () => {};
  #finished = false;

  /** The core of a run of `controllerClass` with `options`. */
  constructor(
    controllerClass: ControllerClass | undefined,
    options: RuntimeOptions,
    clock: Clock,
  ) {
    this.controllerClass = controllerClass;
    this.options = options;
    this.name = options.name;
    this.config = options.config;
    this.clock = clock;
  }

  /** A promise of the exit code, resolved by {@link end}. */
  done(): Promise<number> {
    return new Promise<number>((resolve) => this.#finish = resolve);
  }

  /** Ends the run with `code` (the first call wins). */
  end(code: number): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#finish(code);
  }

  /** Ends the run with a failure's exit code, logging it and telling the observer. */
  fail(code: FailureCode, error: unknown, message?: string): void {
    const failure = new FlagstaffError(code, message ?? messageOf(error), { cause: error });
    this.reportError(failure.message, error);
    this.emit({
      type: "failed",
      message: error instanceof Error ? `${failure.message}: ${error.message}` : failure.message,
    });
    if (code === "setup_failed") {
      // Nothing else will tear the actions down.
      this.actions?.tearDownAll().finally(() => this.end(failure.exitCode));
      return;
    }
    this.end(failure.exitCode);
  }

  /**
   * Logs an error; when not in the foreground, also appends it to the errors
   * file, unless `handled` (an error the app goes on after, such as a
   * `process()` that threw: the next tick runs), so the file holds what ended
   * the run or escaped every handler, not one block per tick.
   */
  reportError(message: string, error: unknown, { handled = false } = {}): void {
    if (error === undefined) log.error(message);
    else log.error(`${message}: {error}`, { error });
    if (this.options.foreground !== false || error === undefined || handled) return;
    // Awaited before run() resolves, so an exit right after a failed setup() loses nothing.
    const write = appendErrorsFile(this.name, error, { dirs: this.options.errorsFileDirs })
      .then(() => {}, () => {});
    this.errorWrites.add(write);
    write.finally(() => this.errorWrites.delete(write));
  }

  /** Tells the observer (systemd, the hard stop) of an event; a throwing observer is logged. */
  emit(event: RuntimeEvent): void {
    try {
      this.options.observe?.(event);
    } catch (error) {
      log.error("Observer failed on {type}: {error}", { type: event.type, error });
    }
  }

  /** Moves the state machine; an illegal transition is a bug. */
  transition(to: State): void {
    if (!canTransition(this.state, to)) {
      throw new Error(`Bug: illegal state transition ${this.state} -> ${to}`);
    }
    if (to !== this.state) {
      log.debug("State {from} -> {to}", { from: STATES[this.state], to: STATES[to] });
    }
    this.state = to;
  }

  /** The controller's `setState()`: the runtime owns stopping and stopped. */
  setStateFromApp(state: State): boolean {
    if (!isState(state)) throw new TypeError(`Invalid state ${JSON.stringify(state)}`);
    if (
      !canTransition(this.state, state) || state === "stopRequested" || state === "stopping" ||
      state === "stopped"
    ) {
      log.warn("Ignored setState({state}) in state {current}", {
        state,
        current: STATES[this.state],
      });
      return false;
    }
    this.state = state;
    return true;
  }

  /** The schedules of `config` with the command line's (a command-line schedule replaces its namesake). */
  schedulesOf(config: Config): ScheduleConfig[] {
    return mergeSchedules(config.schedules, this.options.cliSchedules ?? []);
  }

  /**
   * Builds the action set of `config`: the signals' (the command line's
   * replace the config's for their signal) and the schedules' `run:` lists.
   */
  async buildActions(config: Config, fresh: boolean): Promise<ActionSet> {
    const uses: Record<string, readonly ActionUse[]> = {
      ...config.signals,
      ...this.options.cliActions,
    };
    for (const schedule of this.schedulesOf(config)) {
      if (schedule.run) uses[`schedule:${schedule.name}`] = schedule.run;
    }
    const registry = await this.options.loadRegistry?.(config);
    if (!registry) return ActionSet.empty();
    return await ActionSet.build(uses as ActionUses, registry, {
      config: () => this.config,
      stopSignal: this.stop.signal,
      out: this.options.out ?? STDOUT,
      runtime: this.control,
      onCloseOutsideRun: () => this.dispatcher.request("sweep"),
      program: this.options.program,
    }, { fresh });
  }

  /** Calls a controller hook; a throw is logged. */
  async hook(name: "configurationReloaded" | "onSigusr2"): Promise<void> {
    try {
      await this.generation?.controller[name]?.(this.context);
    } catch (error) {
      this.reportError(`${name}() failed`, error, { handled: true });
    }
  }

  /** Tears down the sets a reload replaced during a signal's run. */
  async tearDownRetired(): Promise<void> {
    for (const set of this.retired.splice(0)) await set.tearDownAll();
  }
}
