/**
 * The live actions of a process: per signal, in the order given, each set up
 * once, run on its signal, torn down once. Built whole: when one action
 * cannot be loaded or set up, those already set up are torn down and the
 * build fails, so a reload keeps the old set.
 *
 * @module
 */

import {
  type ActionClass,
  type ActionContext,
  type ActionInstance,
  type ActionOutput,
  checkArguments,
  declaredArguments,
  type RuntimeControl,
} from "./action.ts";
import { type ActionRegistry, loadSource } from "./action_registry.ts";
import type { ActionSignal, ActionUse, Config } from "./config.ts";
import { getLogger } from "./deps.ts";
import { FlagstaffError } from "./errors.ts";

const log = getLogger(["flagstaff", "actions"]);

/** What every action context shares. */
export interface ActionEnvironment {
  /** The current config. */
  config(): Config;
  /** Fires on stop. */
  readonly stopSignal: AbortSignal;
  /** Where actions print. */
  readonly out: ActionOutput;
  /** Steers the runtime. */
  readonly runtime: RuntimeControl;
  /** Called when an action closes outside a run, so the set can be swept. */
  onCloseOutsideRun(): void;
}

interface Live {
  readonly use: ActionUse;
  readonly signal: ActionSignal;
  readonly label: string;
  readonly instance: ActionInstance;
  readonly context: ActionContext;
  state: "ready" | "closed" | "gone";
  closeReason?: string;
  running: boolean;
}

const SHORT: Record<ActionSignal, string> = { SIGHUP: "hup", SIGUSR1: "usr1", SIGUSR2: "usr2" };

/**
 * The actions of each signal.
 *
 * @example
 * ```ts ignore
 * const set = await ActionSet.build(uses, registry, environment);
 * await set.run("SIGUSR1");
 * await set.tearDownAll();
 * ```
 */
export class ActionSet {
  readonly #bySignal = new Map<ActionSignal, Live[]>();
  #given = 0;

  private constructor() {}

  /** A set with no actions. */
  static empty(): ActionSet {
    return new ActionSet();
  }

  /**
   * Loads, checks, constructs and sets up every use, in order.
   *
   * @throws {FlagstaffError} `usage` naming the action and where it was given.
   */
  static async build(
    uses: Readonly<Partial<Record<ActionSignal, readonly ActionUse[]>>>,
    registry: ActionRegistry,
    environment: ActionEnvironment,
    options: { fresh?: boolean } = {},
  ): Promise<ActionSet> {
    const set = new ActionSet();
    const classes = new Map<string, ActionClass>();
    try {
      for (const signal of ["SIGHUP", "SIGUSR1", "SIGUSR2"] as const) {
        const list = uses[signal];
        if (!list) continue;
        const lives: Live[] = [];
        set.#bySignal.set(signal, lives);
        for (const [i, use] of list.entries()) {
          const label = `"${use.name}" (${SHORT[signal]} #${i + 1})`;
          const source = registry.get(use.name);
          if (!source) {
            throw new FlagstaffError(
              "usage",
              `Unknown action "${use.name}" given by ${use.origin}; run "flagstaff list" to see the known actions`,
            );
          }
          let cls = classes.get(use.name);
          if (!cls) {
            cls = await loadSource(source, options.fresh);
            classes.set(use.name, cls);
          }
          checkArguments(use.name, declaredArguments(cls), use.args);
          let live: Live | undefined;
          try {
            live = set.#create(cls, use, signal, label, environment);
            await live.instance.setUp?.(...use.args);
          } catch (error) {
            if (live) live.state = "gone";
            throw new FlagstaffError(
              "usage",
              `Action ${label} given by ${use.origin} failed to set up: ${
                error instanceof Error ? error.message : String(error)
              }`,
              { cause: error },
            );
          }
          lives.push(live);
          set.#given++;
        }
      }
    } catch (error) {
      await set.tearDownAll();
      throw error;
    }
    return set;
  }

  #create(
    cls: ActionClass,
    use: ActionUse,
    signal: ActionSignal,
    label: string,
    environment: ActionEnvironment,
  ): Live {
    const live = { use, signal, label, state: "ready", running: false } as Live;
    const logger = getLogger(["flagstaff", "action", use.name]);
    const context: ActionContext = {
      name: use.name,
      trigger: signal,
      get config() {
        return environment.config();
      },
      logger,
      signal: environment.stopSignal,
      out: environment.out,
      runtime: environment.runtime,
      close(reason?: string) {
        if (live.state !== "ready") return;
        live.state = "closed";
        live.closeReason = reason;
        if (!live.running) environment.onCloseOutsideRun();
      },
    };
    (live as { context: ActionContext }).context = context;
    (live as { instance: ActionInstance }).instance = new cls(context);
    return live;
  }

  /** Whether actions were given for `signal` (even if all have closed since). */
  configured(signal: ActionSignal): boolean {
    return this.#bySignal.has(signal);
  }

  /** How many actions are still open, over all signals. */
  get openCount(): number {
    let n = 0;
    for (const lives of this.#bySignal.values()) {
      n += lives.filter((l) => l.state === "ready").length;
    }
    return n;
  }

  /** How many actions were given, over all signals (closed ones included). */
  get configuredCount(): number {
    return this.#given;
  }

  /**
   * Runs the open actions of `signal`, in order. A throw is logged and the
   * next action still runs; a `timeout` aborts a run through its signal and
   * moves on.
   */
  async run(signal: ActionSignal): Promise<void> {
    for (const live of [...this.#bySignal.get(signal) ?? []]) {
      if (live.state !== "ready") continue;
      await this.#runOne(live);
      if ((live.state as Live["state"]) === "closed") await this.#retire(live);
    }
  }

  async #runOne(live: Live): Promise<void> {
    const timeoutS = live.use.timeout;
    if (!timeoutS) {
      // No timeout: the run's signal is the stop signal, as in the action's own context.
      live.running = true;
      try {
        await live.instance.run(live.context);
      } catch (error) {
        this.#failed(live, error);
      } finally {
        live.running = false;
      }
      return;
    }
    const timeout = new AbortController();
    const signal = AbortSignal.any([live.context.signal, timeout.signal]);
    const context = Object.create(live.context, { signal: { value: signal } }) as ActionContext;
    live.running = true;
    const running = (async () => await live.instance.run(context))();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => {
          timeout.abort(new DOMException(`Timed out after ${timeoutS} s`, "TimeoutError"));
          resolve("timeout");
        }, timeoutS * 1000);
      });
      if (await Promise.race([running.then(() => "done" as const), timedOut]) === "timeout") {
        log.warn("Action {label} timed out after {seconds} s: aborted through its signal", {
          label: live.label,
          seconds: timeoutS,
        });
        running.catch((error) => this.#failed(live, error));
      }
    } catch (error) {
      this.#failed(live, error);
    } finally {
      clearTimeout(timer);
      live.running = false;
    }
  }

  #failed(live: Live, error: unknown): void {
    log.error("Action {label} failed: {error}", { label: live.label, error });
  }

  async #retire(live: Live): Promise<void> {
    log.info("Action {label} closed: {reason}", {
      label: live.label,
      reason: live.closeReason ?? "no reason given",
    });
    await this.#tearDown(live);
    const lives = this.#bySignal.get(live.signal)!;
    lives.splice(lives.indexOf(live), 1);
  }

  /** Tears down and removes actions that closed outside a run. */
  async sweep(): Promise<void> {
    for (const lives of this.#bySignal.values()) {
      for (const live of [...lives]) if (live.state === "closed") await this.#retire(live);
    }
  }

  async #tearDown(live: Live): Promise<void> {
    if (live.state === "gone") return;
    live.state = "gone";
    try {
      await live.instance.tearDown?.();
    } catch (error) {
      log.error("Action {label} failed to tear down: {error}", { label: live.label, error });
    }
  }

  /** Tears down every action once, in the order given. */
  async tearDownAll(): Promise<void> {
    for (const lives of this.#bySignal.values()) {
      for (const live of lives) await this.#tearDown(live);
    }
  }
}
