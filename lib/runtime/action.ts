/**
 * The action contract (flagman's actions, made stronger). An action module's
 * default export is a class (or an object) with `run(context)` and optional
 * `setUp(...args)` and `tearDown()`, plus static metadata: `description` and
 * `arguments`, and an optional pure `check(...args)` that `flagstaff check`
 * calls instead of `setUp()` ({@link ActionClass.check}). It needs no runtime
 * import of flagstaff: everything comes through the {@link ActionContext} it
 * is handed (`import type` is enough). Subclassing {@link Action} in library
 * mode works too.
 *
 * Life of an action: constructed with its context, `setUp(...args)` once with
 * its string arguments (before signals are listened to: convert and validate
 * there, and throw a clear error), `run(context)` on each delivery of its
 * signal or each run of its schedule, `tearDown()` once when it closes itself, is removed by a reload, or
 * the process stops. `context.close(reason)` retires it: it is torn down and
 * removed after the run, and the reason is logged at info.
 *
 * @module
 */

import type { ActionSignal, Config } from "../config/config.ts";
import type { Logger } from "./controller.ts";
import { FlagstaffError } from "../core/errors.ts";

/**
 * What an action runs for: a signal (`SIGUSR1`), or a schedule
 * (`schedule:<name>`, e.g. `schedule:backup`).
 */
export type TriggerKey = ActionSignal | `schedule:${string}`;

/** The type of a declared argument. */
export type ActionArgumentType = "string" | "integer" | "number";

/** One argument an action declares, for checking and for `flagstaff list`. */
export interface ActionArgument {
  /** Its name, e.g. `message`. */
  readonly name: string;
  /** Its type; the value still reaches `setUp()` as a string. Default `"string"`. */
  readonly type?: ActionArgumentType;
  /** One line of documentation. */
  readonly doc?: string;
  /** May be left out (only trailing arguments). Default false. */
  readonly optional?: boolean;
  /** Takes every remaining word (last argument only). Default false. */
  readonly variadic?: boolean;
}

/** Where an action writes what it prints (stdout by default). */
export interface ActionOutput {
  /** Writes `text` as it is; add the newline yourself. */
  write(text: string): void;
}

/** What the runtime offers actions that steer it (`reload`, `restart`, `stop`). */
export interface RuntimeControl {
  /** Reloads the config (and the actions) as HUP does by default. */
  reload(): Promise<void>;
  /** Stops the controller, cleans up, re-reads the config, sets up and runs again. */
  restart(): Promise<void>;
  /** Asks for a graceful stop, as TERM does. */
  stop(reason: string): void;
  /**
   * Registers a process group an action started (`exec`): if flagstaff must
   * force its exit (a stop deadline, a second Ctrl-C), it kills the group
   * with SIGKILL first. Returns the function that unregisters it. Optional:
   * an older runtime may lack it.
   */
  processGroup?(pgid: number): () => void;
}

/** What an action is handed: at construction, and (with a run's own `signal`) at each run. */
export interface ActionContext {
  /** The action's name as configured, e.g. `print`. */
  readonly name: string;
  /** What it runs for: its signal (`SIGUSR1`) or its schedule (`schedule:backup`). */
  readonly trigger: TriggerKey;
  /** The current config; read it each time. */
  readonly config: Config;
  /** A logger in the category `flagstaff.action.<name>`. */
  readonly logger: Logger;
  /** Fires on stop, and during a run when its `timeout` runs out. */
  readonly signal: AbortSignal;
  /** Where to print (stdout). */
  readonly out: ActionOutput;
  /** Steers the runtime (for `reload`, `restart`, `stop` and the like). */
  readonly runtime: RuntimeControl;
  /** Retires this action: torn down and removed after the run, `reason` logged at info. */
  close(reason?: string): void;
}

/** An action instance. */
export interface ActionInstance {
  /** Called once with the string arguments, before signals are listened to. */
  setUp?(...args: string[]): void | Promise<void>;
  /** Called on each delivery of the signal. */
  run(context: ActionContext): void | Promise<void>;
  /** Called once when the action closes, is removed, or the process stops. */
  tearDown?(): void | Promise<void>;
}

/** An action class: constructed with its context; statics describe it. */
export interface ActionClass {
  /** Constructs an instance for one configured use. */
  new (context: ActionContext): ActionInstance;
  /** One line for `flagstaff list`. */
  readonly description?: string;
  /** The arguments it takes, in order. */
  readonly arguments?: readonly ActionArgument[];
  /**
   * Optional: says, without side effects, whether `setUp(...args)` would
   * refuse these arguments: a problem in words (`Cannot find program
   * "./backup.sh"`, the text `setUp()` would throw), or undefined. `check`
   * calls it after the argument count and types are checked, for every use,
   * instead of `setUp()` (which may do anything); `run` and reload still call
   * `setUp()`. It must not open, create, print or start anything; looking
   * at files (`stat`) and at the permissions is fine. A throw counts as a
   * problem.
   */
  check?(...args: string[]): string | undefined;
}

/**
 * Base class for actions in library mode. Subclasses set the statics and
 * override `run()` (and `setUp()`, `tearDown()`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Action, type ActionContext, declaredArguments } from "./action.ts";
 * class Hello extends Action {
 *   static override description = "Prints hello to someone";
 *   static override arguments = [{ name: "who", type: "string" as const, doc: "whom to greet" }];
 *   #who = "";
 *   override setUp(who: string): void {
 *     this.#who = who;
 *   }
 *   override run(context: ActionContext): void {
 *     context.out.write(`hello ${this.#who}\n`);
 *   }
 * }
 * // The runtime constructs it with its context, sets it up once, runs it per signal.
 * const printed: string[] = [];
 * const context = { out: { write: (text: string) => void printed.push(text) } } as ActionContext;
 * const hello = new Hello(context);
 * hello.setUp("world");
 * hello.run(context);
 * assert.deepEqual(printed, ["hello world\n"]);
 * assert.equal(hello.context, context);
 * assert.deepEqual(declaredArguments(Hello).map((arg) => arg.name), ["who"]);
 * ```
 */
export class Action implements ActionInstance {
  /** One line for `flagstaff list`. */
  static description = "";
  /** The arguments it takes, in order. */
  static arguments: readonly ActionArgument[] = [];
  /** The context given at construction (its `signal` fires on stop). */
  readonly context: ActionContext;

  /**
   * The runtime constructs actions; the context is kept as {@link context}.
   *
   * @param context The action's context for its whole life (logger, config, output, `close()`).
   */
  constructor(context: ActionContext) {
    this.context = context;
  }

  /**
   * Called once with the string arguments, before signals are listened to. A
   * throw is a start-up error naming the action (exit 2).
   *
   * @param _args The words given after the action's name, as strings, checked
   *   against {@link Action.arguments} already.
   */
  setUp(..._args: string[]): void | Promise<void> {}
  /**
   * Called on each delivery of the signal (or due schedule). A throw is logged
   * with the action's name; the other actions still run.
   *
   * @param _context This run's context: `trigger`, `signal` (fires on stop and at the action's
   *   `timeout`), `logger`, `config`, `out`, `close()`.
   */
  run(_context: ActionContext): void | Promise<void> {}
  /** Called once when the action closes, is removed, or the process stops. */
  tearDown(): void | Promise<void> {}
}

/**
 * Formats what an action takes: `(message: string, delay: integer)`, `()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatArguments } from "./action.ts";
 * const text = formatArguments([{ name: "command" }, { name: "args", variadic: true }]);
 * assert.equal(text, "(command: string, args...: string)");
 * assert.equal(formatArguments([{ name: "n", type: "integer", optional: true }]), "(n?: integer)");
 * assert.equal(formatArguments(), "()");
 * ```
 */
export function formatArguments(args: readonly ActionArgument[] = []): string {
  const parts = args.map((arg) => {
    const name = `${arg.name}${arg.variadic ? "..." : ""}${arg.optional ? "?" : ""}`;
    return `${name}: ${arg.type ?? "string"}`;
  });
  return `(${parts.join(", ")})`;
}

/**
 * Checks words against what an action declares: count, then type.
 *
 * @param name The action's name.
 * @param declared What it declares (`declaredArguments(cls)`).
 * @param words The words it was given.
 * @param options `origin`: where it was given, named in the message
 *   (`--usr1`, `app.yml line 3 (Signals.usr1[0])`); default none.
 * @throws {FlagstaffError} `usage`, naming the action, where it was given and what it takes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkArguments } from "./action.ts";
 * const delayPrint = [{ name: "message" }, { name: "delay", type: "integer" as const }];
 * checkArguments("delay_print", delayPrint, ["hi", "2"]); // fits: returns, throws nothing
 * assert.throws(() => checkArguments("print", [{ name: "message" }], []), {
 *   code: "usage",
 *   message: 'Action "print" takes 1 argument (message: string), got none',
 * });
 * assert.throws(() => checkArguments("delay_print", delayPrint, ["hi", "soon"]), {
 *   message: 'Action "delay_print": argument "delay" must be an integer, got "soon"',
 * });
 * const origin = "app.yml line 3 (Signals.usr1[0])";
 * assert.throws(() => checkArguments("print", [{ name: "message" }], [], { origin }), {
 *   message: 'Action "print" given by app.yml line 3 (Signals.usr1[0]) takes 1 argument ' +
 *     "(message: string), got none",
 * });
 * ```
 */
export function checkArguments(
  name: string,
  declared: readonly ActionArgument[] = [],
  words: readonly string[],
  options: { readonly origin?: string } = {},
): void {
  const action = `Action "${name}"${options.origin ? ` given by ${options.origin}` : ""}`;
  const required = declared.filter((arg) => !arg.optional && !arg.variadic).length;
  const variadic = declared.at(-1)?.variadic === true;
  const max = variadic ? Infinity : declared.length;
  if (words.length < required || words.length > max) {
    const takes = variadic
      ? `${required} or more arguments`
      : required === max
      ? `${required} argument${required === 1 ? "" : "s"}`
      : `${required} to ${max} arguments`;
    const got = words.length === 0
      ? "none"
      : `${words.length}: ${words.map((w) => JSON.stringify(w)).join(", ")}`;
    throw new FlagstaffError(
      "usage",
      `${action} takes ${takes} ${formatArguments(declared)}, got ${got}`,
    );
  }
  words.forEach((word, i) => {
    const arg = declared[Math.min(i, declared.length - 1)];
    const type = arg.type ?? "string";
    const ok = type === "integer"
      ? /^[-+]?\d+$/.test(word)
      : type === "number"
      ? word.trim() !== "" && Number.isFinite(Number(word))
      : true;
    if (!ok) {
      throw new FlagstaffError(
        "usage",
        `${action}: argument "${arg.name}" must be ${
          type === "integer" ? "an integer" : "a number"
        }, got ${JSON.stringify(word)}`,
      );
    }
  });
}

/**
 * The arguments an action class declares. Reading `cls.arguments` directly
 * throws for a class without the static (functions' own `arguments` is
 * poisoned in strict mode), so the chain of classes is searched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Action, declaredArguments } from "./action.ts";
 * class Bare { run() {} }
 * // `Bare.arguments` would throw: a strict-mode function's own `arguments` is poisoned.
 * assert.deepEqual(declaredArguments(Bare as never), []);
 * class Base extends Action {
 *   static override arguments = [{ name: "message" }];
 * }
 * class Child extends Base {}
 * assert.deepEqual(declaredArguments(Child), [{ name: "message" }]); // inherited
 * ```
 */
export function declaredArguments(cls: ActionClass): readonly ActionArgument[] {
  for (let c: unknown = cls; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const own = Object.getOwnPropertyDescriptor(c, "arguments");
    if (own && "value" in own) return Array.isArray(own.value) ? own.value : [];
  }
  return [];
}

/**
 * Makes an action class from a module's default export: a class is used as
 * it is; an object becomes a class whose instances inherit from it (so two
 * uses do not share state).
 *
 * @throws {Error} when the export is neither, or has no `run()`.
 */
export function toActionClass(exported: unknown): ActionClass {
  if (typeof exported === "function" && exported.prototype) {
    if (typeof exported.prototype.run !== "function") {
      throw new Error("its default export is a class without run()");
    }
    return exported as ActionClass;
  }
  if (typeof exported === "object" && exported !== null) {
    const object = exported as Partial<ActionInstance> & {
      description?: string;
      arguments?: ActionArgument[];
      check?: (...args: string[]) => string | undefined;
    };
    if (typeof object.run !== "function") {
      throw new Error("its default export is an object without run()");
    }
    const wrapper = function () {
      return Object.create(object);
    } as unknown as ActionClass & { description?: string; arguments?: readonly ActionArgument[] };
    Object.defineProperty(wrapper, "description", { value: object.description ?? "" });
    Object.defineProperty(wrapper, "arguments", { value: object.arguments ?? [] });
    if (typeof object.check === "function") {
      Object.defineProperty(wrapper, "check", { value: object.check.bind(object) });
    }
    return wrapper;
  }
  throw new Error(
    `its default export is ${
      exported === undefined ? "missing" : `a ${typeof exported}`
    }, expected an action class or object`,
  );
}
