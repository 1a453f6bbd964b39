/**
 * The live actions of a process: per trigger (a signal, a schedule's
 * `schedule:<name>`), in order, each set up once, run on its trigger, torn
 * down once. Built whole: when one cannot be loaded or set up, those set up
 * are torn down and the build fails, so a reload keeps the old set.
 *
 * Timeouts. A use's `timeout` (seconds, any size: `lib/core/delay.ts`) fires the run's
 * `AbortSignal` and the next action runs. One that ignores it keeps running in the background:
 *
 * - while that timed-out run is still going, the action is skipped on later
 *   runs of its signal, with a warning naming it and how long the old run has
 *   been going (the signal's other actions still run); once the old run
 *   settles it runs as usual again, so an instance never overlaps itself;
 * - its `tearDown()` never runs beside an unsettled run: it is deferred until
 *   the run settles. A reload that removes the action, or the action closing,
 *   does not wait for it (the dispatcher goes on); a stop does:
 *   {@link ActionSet.tearDownAll} during a stop, and {@link ActionSet.settled}
 *   at any time, resolve only when every deferred tear-down has run.
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
  type TriggerKey,
} from "./action.ts";
import { type ActionRegistry, loadSource } from "./action_registry.ts";
import type { ActionSignal, ActionUse, Config } from "../config/config.ts";
import { ACTION_SIGNAL_NAMES, actionKey } from "../core/signal_table.ts";
import { getLogger } from "../deps.ts";
import { setLongTimeout } from "../core/delay.ts";
import { FlagstaffError } from "../core/errors.ts";

const log = getLogger(["flagstaff", "actions"]);

/**
 * Deferred tear-downs, by the stop signal of the sets they belong to: the
 * sets of one runtime share its stop signal, so a stop waits for those of
 * sets a reload replaced too.
 */
const DEFERRED = new WeakMap<AbortSignal, Set<Promise<void>>>();

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
  /** The program's name, for messages: `run "myapp list"`. Default `flagstaff`. */
  readonly program?: string;
}

/** Actions per trigger, in the order given. */
export type ActionUses = Readonly<Partial<Record<TriggerKey, readonly ActionUse[]>>>;

interface Live {
  readonly use: ActionUse;
  readonly signal: TriggerKey;
  readonly label: string;
  readonly instance: ActionInstance;
  readonly context: ActionContext;
  state: "ready" | "closed" | "gone";
  closeReason?: string;
  /** Inside a run of its signal (the dispatcher waits for it). */
  running: boolean;
  /** The run in flight, until it settles (past its timeout too). */
  inFlight?: InFlight;
}

/** A run that has not settled yet. */
interface InFlight {
  /** Resolves when the run has settled (it never rejects). */
  readonly settled: Promise<void>;
  /** When it started, on the monotonic clock (`performance.now()`). */
  readonly startedMs: number;
  /** Whether its timeout ran out (the signal's run moved on without it). */
  timedOut: boolean;
}

/**
 * The actions of each trigger.
 *
 * @example
 * ```ts ignore
 * const set = await ActionSet.build(uses, registry, environment);
 * await set.run("SIGUSR1");
 * await set.tearDownAll();
 * ```
 */
export class ActionSet {
  readonly #bySignal = new Map<TriggerKey, Live[]>();
  readonly #stopSignal: AbortSignal | undefined;
  #given = 0;

  private constructor(stopSignal?: AbortSignal) {
    this.#stopSignal = stopSignal;
  }

  /** A set with no actions. */
  static empty(): ActionSet {
    return new ActionSet();
  }

  /**
   * Loads, checks, constructs and sets up every use, in order (signals, then schedules).
   *
   * @throws {FlagstaffError} `usage` naming the action and where it was given.
   */
  static async build(
    uses: ActionUses,
    registry: ActionRegistry,
    environment: ActionEnvironment,
    options: { fresh?: boolean } = {},
  ): Promise<ActionSet> {
    const set = new ActionSet(environment.stopSignal);
    const classes = new Map<string, ActionClass>();
    try {
      const schedules = (Object.keys(uses) as TriggerKey[]).filter((k) =>
        k.startsWith("schedule:")
      );
      for (const signal of [...ACTION_SIGNAL_NAMES, ...schedules]) {
        const list = uses[signal];
        if (!list) continue;
        const lives: Live[] = [];
        set.#bySignal.set(signal, lives);
        for (const [i, use] of list.entries()) {
          const label = `"${use.name}" (${labelOf(signal)} #${i + 1})`;
          const source = registry.get(use.name);
          if (!source) {
            throw new FlagstaffError(
              "usage",
              `Unknown action "${use.name}" given by ${use.origin}; run "${
                environment.program ?? "flagstaff"
              } list" to see the known actions`,
            );
          }
          let cls = classes.get(use.name);
          if (!cls) {
            cls = await loadSource(source, options.fresh);
            classes.set(use.name, cls);
          }
          checkArguments(use.name, declaredArguments(cls), use.args, { origin: use.origin });
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
    signal: TriggerKey,
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
  configured(signal: TriggerKey): boolean {
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
   * moves on. An action whose timed-out run is still going is skipped, with
   * a warning.
   */
  async run(signal: TriggerKey): Promise<void> {
    for (const live of [...this.#bySignal.get(signal) ?? []]) {
      if (live.state !== "ready") continue;
      if (live.inFlight?.timedOut) {
        log.warn(
          "Action {label} skipped: its run that timed out has been going for {seconds} s and has not ended",
          { label: live.label, seconds: secondsSince(live.inFlight.startedMs) },
        );
        continue;
      }
      await this.#runOne(live);
      if ((live.state as Live["state"]) === "closed") await this.#retire(live);
    }
  }

  async #runOne(live: Live): Promise<void> {
    const timeoutS = live.use.timeout;
    let context = live.context;
    const timeout = new AbortController();
    if (timeoutS) {
      // The run's own signal: a stop, or its timeout.
      const signal = AbortSignal.any([live.context.signal, timeout.signal]);
      context = Object.create(live.context, { signal: { value: signal } }) as ActionContext;
    }
    const startedMs = performance.now();
    live.running = true;
    const running = (async () => await live.instance.run(context))();
    const inFlight: InFlight = {
      settled: running.then(() => {}, () => {}).finally(() => {
        if (live.inFlight === inFlight) live.inFlight = undefined;
      }),
      startedMs,
      timedOut: false,
    };
    live.inFlight = inFlight;
    const timedOut = Promise.withResolvers<"timeout">();
    const timer = timeoutS
      ? setLongTimeout(() => {
        timeout.abort(new DOMException(`Timed out after ${timeoutS} s`, "TimeoutError"));
        timedOut.resolve("timeout");
      }, timeoutS * 1000)
      : undefined;
    try {
      const outcome = await Promise.race([running.then(() => "done" as const), timedOut.promise]);
      if (outcome === "timeout") {
        inFlight.timedOut = true;
        log.warn("Action {label} timed out after {seconds} s: aborted through its signal", {
          label: live.label,
          seconds: timeoutS,
        });
        running.then(
          () => this.#overdueEnded(live, startedMs),
          (error) => {
            this.#failed(live, error);
            this.#overdueEnded(live, startedMs);
          },
        );
      }
    } catch (error) {
      this.#failed(live, error);
    } finally {
      timer?.cancel();
      live.running = false;
      // Settled unless it timed out: a tear-down right after (a close) need not wait.
      if (!inFlight.timedOut) live.inFlight = undefined;
    }
  }

  #overdueEnded(live: Live, startedMs: number): void {
    log.info("Action {label}: its run that timed out ended after {seconds} s", {
      label: live.label,
      seconds: secondsSince(startedMs),
    });
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

  /**
   * Tears an action down once; when a run of it has not settled, only
   * schedules the tear-down for when it has (see {@link settled}).
   */
  async #tearDown(live: Live): Promise<void> {
    if (live.state === "gone") return;
    live.state = "gone";
    const inFlight = live.inFlight;
    if (!inFlight) return await this.#callTearDown(live);
    const stopping = this.#stopSignal?.aborted === true;
    log[stopping ? "warn" : "info"](
      "Action {label}: tear-down deferred until its run ends (going for {seconds} s{why})",
      {
        label: live.label,
        seconds: secondsSince(inFlight.startedMs),
        why: inFlight.timedOut ? ", past its timeout" : "",
      },
    );
    const deferred = inFlight.settled.then(() => this.#callTearDown(live));
    if (!this.#stopSignal) return await deferred;
    let pending = DEFERRED.get(this.#stopSignal);
    if (!pending) DEFERRED.set(this.#stopSignal, pending = new Set());
    pending.add(deferred);
    deferred.finally(() => pending.delete(deferred));
  }

  async #callTearDown(live: Live): Promise<void> {
    try {
      await live.instance.tearDown?.();
    } catch (error) {
      log.error("Action {label} failed to tear down: {error}", { label: live.label, error });
    }
  }

  /**
   * Tears down every action once, in the order given. An action with a run
   * still going (one that outlived its `timeout`) is torn down when that run
   * settles: outside a stop this does not wait for it (a reload or a sweep
   * never blocks on a stuck action); once the stop signal has fired, it
   * resolves only after {@link settled} has.
   */
  async tearDownAll(): Promise<void> {
    for (const lives of this.#bySignal.values()) {
      for (const live of lives) await this.#tearDown(live);
    }
    if (this.#stopSignal?.aborted) await this.settled();
  }

  /**
   * Resolves when every deferred tear-down has run: those of this set and of
   * every set built with the same `stopSignal` (the sets a reload replaced),
   * including tear-downs deferred while waiting. Never rejects.
   */
  async settled(): Promise<void> {
    const pending = this.#stopSignal && DEFERRED.get(this.#stopSignal);
    while (pending && pending.size > 0) await Promise.all(pending);
  }
}

/** How a trigger shows in an action's label: `usr1`, `schedule "backup"`. */
function labelOf(key: TriggerKey): string {
  const schedule = key.startsWith("schedule:") ? key.slice(9) : undefined;
  return schedule ? `schedule ${JSON.stringify(schedule)}` : actionKey(key as ActionSignal);
}

/** Seconds since `startMs` on the monotonic clock, to a tenth. */
function secondsSince(startMs: number): string {
  return ((performance.now() - startMs) / 1000).toFixed(1);
}
