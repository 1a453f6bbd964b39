/**
 * Triggers: "this happened, run what is configured for it". A signal, a due
 * schedule and later sources (a watched file changed, an action failed) are
 * all a {@link Trigger} from a {@link TriggerSource}; the runtime hands each
 * trigger's `key` to the one dispatcher queue (`lib/core/dispatcher.ts`), which
 * coalesces a key that is already queued. Sources only record, the
 * dispatcher's loop acts (STYLE.md rule 8).
 *
 * Two sources exist: {@link SignalTriggerSource} (the process's signals) and
 * `ScheduleSource` (`schedule_source.ts`, due schedules). A new source (a
 * watched file, a lifecycle event) is a new member of {@link Trigger}, a
 * class implementing {@link TriggerSource}, and a config section; the
 * runtime's one `fire(trigger)` routes it (`lib/runtime/runtime.ts`).
 *
 * @module
 */

import type { SignalName, SignalSource } from "../os/signals.ts";

/** What every trigger carries. */
export interface TriggerBase {
  /**
   * The dispatcher key of the unit to run: `SIGUSR1` for a signal,
   * `schedule:<name>` for a schedule. Triggers with the key of a unit that
   * is already queued coalesce into that run.
   */
  readonly key: string;
  /** When the source saw it, on the wall clock, in Unix epoch milliseconds. */
  readonly firedAtMs: number;
}

/** A signal arrived (`TERM`, `INT`, `HUP`, `USR1`, `USR2`). */
export interface SignalTrigger extends TriggerBase {
  /** The trigger's kind. */
  readonly kind: "signal";
  /** Which signal. */
  readonly signal: SignalName;
  /**
   * When the OS listener saw it, on the monotonic clock (`performance.now()`,
   * ms), which may be well before `fire` runs (during start-up); the stop
   * rule counts from it. Undefined when the source does not know.
   */
  readonly receivedAtMs?: number;
}

/** A schedule is due. */
export interface ScheduleTrigger extends TriggerBase {
  /** The trigger's kind. */
  readonly kind: "schedule";
  /** The schedule's `name:`, for logs and status. */
  readonly name: string;
  /**
   * When this run was due, in Unix epoch milliseconds, before jitter: the
   * earliest of the runs coalesced into it. For a catch-up, the first run
   * time missed since the last run (`firedAtMs` when it never ran).
   */
  readonly dueMs: number;
  /**
   * Further run times that passed before it fired (after a suspend, a
   * wall-clock step forward, or while down for a catch-up), coalesced into
   * this run rather than run late; counted up to `MISSED_COUNT_LIMIT` (`timetable.ts`).
   */
  readonly missed: number;
  /** True for the run at start that `catch_up: true` asks for. */
  readonly catchUp: boolean;
  /**
   * For a catch-up: the last run recorded (Unix epoch ms), or null when none
   * is (a first start, or a state file that could not be read).
   */
  readonly lastRunMs?: number | null;
}

/**
 * Anything that asks for a run. New sources add a member with their own
 * `kind` (e.g. `{ kind: "file"; path: string }`,
 * `{ kind: "failure"; action: string; error: unknown }`) and a key.
 */
export type Trigger = SignalTrigger | ScheduleTrigger;

/**
 * A source of triggers. `start` begins watching and calls `fire` for each
 * trigger (synchronously, from the source's own callbacks; `fire` should
 * only record, e.g. `dispatcher.request(trigger.key)`, and not throw);
 * disposing the result stops it, after which `fire` is never called.
 *
 * @typeParam T The triggers it fires.
 */
export interface TriggerSource<T extends Trigger = Trigger> {
  /** Starts the source; dispose the result to stop it. */
  start(fire: (trigger: T) => void): Disposable;
}

/** Options for {@link SignalTriggerSource}. */
export interface SignalTriggerSourceOptions {
  /** The wall clock, for `firedAtMs`. Default `Date.now`. */
  wallNowMs?: () => number;
}

/**
 * Signals as triggers: each delivery of one of `signals` from a
 * {@link SignalSource} (the process's signal inbox, or a fake) fires
 * a {@link SignalTrigger} whose key is the signal's name (`SIGUSR1`), in the
 * order they arrived (those the inbox recorded before `start` first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SignalName } from "../os/signals.ts";
 * import { SignalTriggerSource, type Trigger } from "./trigger.ts";
 * let deliver: ((signal: SignalName) => void) | undefined;
 * const source = new SignalTriggerSource(["SIGUSR1"], {
 *   listen: (handler) => (deliver = handler, () => deliver = undefined),
 * }, { wallNowMs: () => 42 });
 * const fired: Trigger[] = [];
 * const stop = source.start((trigger) => fired.push(trigger));
 * deliver!("SIGUSR1");
 * deliver!("SIGHUP"); // not one of its signals
 * assert.deepEqual(fired, [{ kind: "signal", key: "SIGUSR1", signal: "SIGUSR1", firedAtMs: 42 }]);
 * stop[Symbol.dispose]();
 * assert.equal(deliver, undefined);
 * ```
 */
export class SignalTriggerSource implements TriggerSource<SignalTrigger> {
  readonly #signals: ReadonlySet<SignalName>;
  readonly #source: SignalSource;
  readonly #wallNowMs: () => number;

  /**
   * Creates a source for `signals` from `source`; nothing is listened to
   * before {@link start}.
   */
  constructor(
    signals: readonly SignalName[],
    source: SignalSource,
    options: SignalTriggerSourceOptions = {},
  ) {
    this.#signals = new Set(signals);
    this.#source = source;
    this.#wallNowMs = options.wallNowMs ?? Date.now;
  }

  /** Listens to the source; disposing the result stops. */
  start(fire: (trigger: SignalTrigger) => void): Disposable {
    const stop = this.#source.listen((signal, receivedAtMs) => {
      if (!this.#signals.has(signal)) return;
      const firedAtMs = this.#wallNowMs();
      fire(
        receivedAtMs === undefined
          ? { kind: "signal", key: signal, signal, firedAtMs }
          : { kind: "signal", key: signal, signal, firedAtMs, receivedAtMs },
      );
    });
    return { [Symbol.dispose]: stop };
  }
}
