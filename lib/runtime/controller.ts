/**
 * The `Controller` base class of library mode, and the context every
 * controller (a subclass, or a plain class or object in tool mode) is handed.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { FlagstaffError } from "../core/errors.ts";
import { canTransition, isRunningState, isState, STATES } from "../core/states.ts";
import type { State, StateName } from "../core/states.ts";

/**
 * The logger a controller or action is handed: a LogTape logger in the app's
 * category. Messages take `{name}` placeholders filled from `properties`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Logger } from "./controller.ts";
 * import { configure, getLogger, type LogRecord, reset } from "../deps.ts";
 * function report(logger: Logger, n: number): void {
 *   logger.info("processed {n} items", { n });
 * }
 * const records: LogRecord[] = [];
 * await configure({
 *   sinks: { memory: (record) => void records.push(record) },
 *   loggers: [{ category: "app", sinks: ["memory"], lowestLevel: "info" }],
 * });
 * report(getLogger(["app"]), 3); // a LogTape logger is a Logger
 * await reset();
 * assert.deepEqual(records.map((r) => [r.level, r.message.join("")]), [["info", "processed 3 items"]]);
 * ```
 */
export interface Logger {
  /** Logs at trace level. */
  trace(message: string, properties?: Record<string, unknown>): void;
  /** Logs at debug level. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** Logs at info level. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Logs at warning level. */
  warn(message: string, properties?: Record<string, unknown>): void;
  /** Logs at error level; pass an `Error` as a property to log its stack. */
  error(message: string, properties?: Record<string, unknown>): void;
  /** Logs at fatal (Python: CRITICAL) level. */
  fatal(message: string, properties?: Record<string, unknown>): void;
}

/** The type of an app's own command-line option. */
export type AppOptionType = "string" | "integer" | "number" | "boolean";

/**
 * One of an app's own command-line options, as helper's
 * `parser.get().add_argument(...)` declared them: shown in the app's `--help`
 * (for `run` and `check`) and read back, converted, as `Controller.args`.
 */
export interface AppOptionSpec {
  /** What it holds: text, a whole number, a number, or a flag. */
  readonly type: AppOptionType;
  /** One line of help. */
  readonly description: string;
  /** A one-letter short name (`p` for `-p`). Default none. */
  readonly short?: string;
  /** The value's name in help (`<port>`). Default: the type. */
  readonly value?: string;
  /** The value when it is not given. Default: undefined (a flag: false). */
  readonly default?: string | number | boolean;
}

/** An app's options by long name (`port` for `--port`). */
export type AppOptions = Readonly<Record<string, AppOptionSpec>>;

/** The parsed values of an app's options, by long name. */
export type AppArgs = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * The typed values of `O`: `{ port: { type: "integer" } }` gives
 * `{ port: number | undefined }` (`number` with a default; a flag is always a
 * `boolean`).
 */
export type ArgsOf<O extends AppOptions> = string extends keyof O ? AppArgs : {
  readonly [K in keyof O]: O[K]["type"] extends "boolean" ? boolean
    :
      | (O[K]["type"] extends "string" ? string : number)
      | (O[K] extends { default: unknown } ? never
        : undefined);
};

/** helper's `system_platform`: the operating system and the runtime flagstaff runs on. */
export interface SystemPlatform {
  /** The operating system: `"linux"`, `"darwin"`, `"windows"`, … (`Deno.build.os`). */
  readonly os: string;
  /** The CPU architecture: `"x86_64"` or `"aarch64"`. */
  readonly arch: string;
  /** The runtime: `"Deno"` (helper reports `"CPython"` here). */
  readonly implementation: string;
  /** The runtime's version, e.g. `"2.9.6"`. */
  readonly version: string;
  /** V8's version. */
  readonly v8: string;
  /** Whether it runs as a compiled binary (`deno compile`). */
  readonly standalone: boolean;
}

/**
 * helper's `system_platform`, as a value: what the app runs on. Needs no
 * permission.
 *
 * @returns The operating system and CPU (`Deno.build`), the runtime ("Deno")
 *   with its and V8's versions, and whether it runs as a compiled binary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { systemPlatform } from "./controller.ts";
 * assert.equal(systemPlatform().implementation, "Deno");
 * assert.equal(systemPlatform().version, Deno.version.deno);
 * ```
 */
export function systemPlatform(): SystemPlatform {
  return {
    os: Deno.build.os,
    arch: Deno.build.arch,
    implementation: "Deno",
    version: Deno.version.deno,
    v8: Deno.version.v8,
    standalone: Deno.build.standalone === true,
  };
}

/**
 * What the runtime hands a controller: the live view of the runtime. Tool-mode
 * controllers need no import of flagstaff; they read everything from here.
 */
export interface ControllerContext {
  /** The current config; read it each time, a reload swaps it. */
  readonly config: Config;
  /** A logger in the app's category (`Application` name). */
  readonly logger: Logger;
  /** Fires when a stop is requested. */
  readonly signal: AbortSignal;
  /** The current state. */
  readonly state: State;
  /** Seconds between `process()` calls, from the current config. */
  readonly wakeIntervalS: number;
  /** Sets the state; returns false and logs when the transition is not allowed. */
  setState(state: State): boolean;
  /** The app's own command-line options, parsed (library mode; empty in tool mode). */
  readonly args: AppArgs;
}

/** Key under which the runtime attaches its context; global so copies agree. */
export const ATTACH: unique symbol = Symbol.for("flagstaff.attach") as never;

/**
 * Thrown by `setState()` for a state name that does not exist: a mistake in
 * the app's code (code `invalid_state`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidStateError } from "./controller.ts";
 * const error = new InvalidStateError("paused");
 * assert.equal(error.code, "invalid_state");
 * assert.match(error.message, /^Invalid state "paused" \(expected one of initializing, /);
 * ```
 */
export class InvalidStateError extends FlagstaffError {
  /**
   * Creates the error for `value`.
   *
   * @param value What was given as a state; shown in the message, JSON-quoted.
   */
  constructor(value: unknown) {
    super(
      "invalid_state",
      `Invalid state ${JSON.stringify(value)} (expected one of ${Object.keys(STATES).join(", ")})`,
    );
    this.name = "InvalidStateError";
  }
}

/**
 * Base class of a library-mode app: extend it, override `process()` (and
 * `setup()`, `cleanup()` as needed) and pass the class to `start()`.
 * `process()` runs every `Application.wake_interval` seconds on a fixed-rate
 * schedule, the first time right after `setup()`.
 *
 * Apps with a loop of their own override `run(signal)` instead of `process()`:
 * it is called once after `setup()`, and `signal` fires on stop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Controller } from "./controller.ts";
 * import { Runtime } from "./runtime.ts";
 * import { parseConfig } from "../config/config.ts";
 * const states: string[] = [];
 * class Counter extends Controller {
 *   ticks = 0;
 *   override process(): void {
 *     this.ticks++;
 *     this.logger.info("tick {n}", { n: this.ticks });
 *     states.push(`${this.currentState} ${this.ticks}`);
 *   }
 * }
 * const config = await parseConfig("Application:\n  wake_interval: 0.01\n", "counter.yml");
 * const runtime = new Runtime(Counter, {
 *   name: "counter",
 *   config,
 *   observe: (event) => event.type === "tick" && event.index === 2 && runtime.stop(),
 * });
 * assert.equal(await runtime.run(), 0);
 * // The third tick was in flight when the stop came: it finished first.
 * assert.deepEqual(states, ["Active 1", "Active 2", "Stop Requested 3"]);
 * ```
 */
export class Controller<Args = AppArgs> {
  #context: ControllerContext | undefined;
  #detachedState: State = "initializing";

  /** The runtime calls this once, before `setup()`. */
  [ATTACH](context: ControllerContext): void {
    this.#context = context;
  }

  #attached(what: string): ControllerContext {
    if (!this.#context) {
      throw new Error(`Cannot read ${what}: the controller is not running (start() it)`);
    }
    return this.#context;
  }

  /** The current config: after a reload, the new one. */
  get config(): Config {
    return this.#attached("config").config;
  }
  /** A logger in the app's category. */
  get logger(): Logger {
    return this.#attached("logger").logger;
  }
  /** Fires when a stop is requested. */
  get signal(): AbortSignal {
    return this.#attached("signal").signal;
  }
  /** Seconds between `process()` calls, from the current config. */
  get wakeIntervalS(): number {
    return this.#attached("wakeIntervalS").wakeIntervalS;
  }
  /**
   * The app's own command-line options (`start(App, { options })`), parsed
   * and converted: helper's `Controller.args`.
   */
  get args(): Args {
    return this.#attached("args").args as Args;
  }
  /** helper's `system_platform`: the operating system and runtime (see {@link systemPlatform}). */
  get systemPlatform(): SystemPlatform {
    return systemPlatform();
  }
  /** The current state. */
  get state(): State {
    return this.#context?.state ?? this.#detachedState;
  }
  /** helper's display name of the current state, e.g. `"Sleeping"`. */
  get currentState(): StateName {
    return STATES[this.state];
  }
  /** In `process()` or `run()`. */
  get isActive(): boolean {
    return this.state === "active";
  }
  /** Ticks paused by the controller (`setState("idle")`). */
  get isIdle(): boolean {
    return this.state === "idle";
  }
  /** Before and during `setup()`. */
  get isInitializing(): boolean {
    return this.state === "initializing";
  }
  /** Active, idle or initializing (helper's `is_running`). */
  get isRunning(): boolean {
    return isRunningState(this.state);
  }
  /** Waiting for the next tick. */
  get isSleeping(): boolean {
    return this.state === "sleeping";
  }
  /** Stopped: `cleanup()` has run. */
  get isStopped(): boolean {
    return this.state === "stopped";
  }
  /** Stopping: running `cleanup()`. */
  get isStopping(): boolean {
    return this.state === "stopping";
  }
  /** A stop was requested; the unit in flight is finishing. */
  get isWaitingToStop(): boolean {
    return this.state === "stopRequested";
  }

  /**
   * Sets the state. `idle` pauses `process()` until the state is set to
   * `active` or `sleeping` again. Returns false, and logs, when helper's rules
   * forbid the transition (e.g. leaving `stopping`).
   *
   * @param state The state to enter, a {@link State} key: `"idle"`, `"active"`, `"sleeping"`, …
   * @returns True when the state changed (or already was `state`), false when the transition is forbidden.
   * @throws {InvalidStateError} for a name that is not a state.
   */
  setState(state: State): boolean {
    if (!isState(state)) throw new InvalidStateError(state);
    if (this.#context) return this.#context.setState(state);
    if (!canTransition(this.#detachedState, state)) return false;
    this.#detachedState = state;
    return true;
  }

  /** Called once before the first tick. A throw exits with code 1. */
  setup(): void | Promise<void> {}
  /** Called every `wake_interval`. A throw is logged; the next tick still runs. */
  process(): void | Promise<void> {}
  /**
   * Optional: an app's own loop, run once after `setup()` instead of the
   * `process()` schedule. `signal` fires on stop; when `run()` returns, the app
   * stops (cleanup, exit 0). Signals still reload and call hooks meanwhile.
   *
   * @param signal Fires when a stop is requested: return soon after.
   */
  run?(signal: AbortSignal): void | Promise<void>;
  /** Called once on stop, after the unit in flight has finished. */
  cleanup(): void | Promise<void> {}
  /** Called after a reload swapped in a new, valid config. */
  configurationReloaded(): void | Promise<void> {}
  /** Called on SIGUSR2 (by default). */
  onSigusr2(): void | Promise<void> {}
}

/** What a tool-mode module may export: a class (given the context) or an object. */
export interface ControllerLike {
  /** Called once before the first tick. */
  setup?(context: ControllerContext): void | Promise<void>;
  /** Called every `wake_interval`. */
  process?(context: ControllerContext): void | Promise<void>;
  /** An app's own loop, instead of `process()`; `signal` fires on stop. */
  run?(signal: AbortSignal, context: ControllerContext): void | Promise<void>;
  /** Called once on stop. */
  cleanup?(context: ControllerContext): void | Promise<void>;
  /** Called after a reload swapped in a new config. */
  configurationReloaded?(context: ControllerContext): void | Promise<void>;
  /** Called on SIGUSR2. */
  onSigusr2?(context: ControllerContext): void | Promise<void>;
}

/** A controller class: `Controller` subclass or a plain class with the same methods. */
export type ControllerClass = new (context: ControllerContext) => ControllerLike;
