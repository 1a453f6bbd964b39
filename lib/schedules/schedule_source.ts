/**
 * {@link ScheduleSource}: the trigger source of schedules. It arms one timer
 * per schedule at its next run time on the wall clock, and recomputes it
 * from the wall clock whenever it wakes: deadlines never drift,
 * daylight-saving changes are the timetable's, and after a suspend or a
 * wall-clock step the missed runs become one run (their count in
 * `ScheduleTrigger.missed`). It wakes at least every {@link RECHECK_MS}
 * because timers run on the monotonic clock, which stops during a suspend
 * and does not follow wall-clock steps. When the wall clock is set back, it
 * follows Vixie cron: by less than {@link BIG_STEP_BACK_MS} (3 hours), the
 * run times it already fired are not fired again; by more, the clock is
 * taken as corrected and the schedule starts over from the new time.
 *
 * @module
 */

import { setLongTimeout } from "../core/delay.ts";
import { jitteredDeadline, type RandomSource } from "./jitter.ts";
import { isCatchUpDue, MISSED_COUNT_LIMIT, type Timetable } from "./timetable.ts";
import type { ScheduleTrigger, TriggerSource } from "./trigger.ts";

/**
 * The wall clock and its timers, as {@link ScheduleSource} needs them.
 * {@link systemClock} is the real one; tests step a fake.
 */
export interface ScheduleClock {
  /** The wall clock, Unix epoch milliseconds (`Date.now()`). */
  wallNowMs(): number;
  /**
   * Calls `fn` once, about when the wall clock reads `atMs` (at once when it
   * is past). It may fire early or late when the wall clock is stepped: the
   * caller reads {@link wallNowMs} when it fires. Disposing cancels it.
   */
  setTimer(atMs: number, fn: () => void): Disposable;
}

/**
 * How much earlier than asked {@link systemClock} arms its timer, in
 * milliseconds: Deno's timers fire 1 to 2 ms after their delay (they round
 * it up, then wait for the event loop), so the timer wakes this much early
 * and the last stretch is waited on the wall clock itself. A run then starts
 * within a fraction of a millisecond of its due time instead of about 2 ms
 * after it, for at most this long of CPU per run.
 */
export const EARLY_WAKE_MS = 2;

/**
 * The real clock: `Date.now()`, and timers through `lib/core/delay.ts`
 * (`setLongTimeout`), waiting `atMs - Date.now()` on the monotonic clock
 * (less {@link EARLY_WAKE_MS}, then waiting out the rest on `Date.now()`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { systemClock } from "./schedule_source.ts";
 * const start = systemClock.wallNowMs();
 * const firedAt = await new Promise<number>((resolve) => {
 *   systemClock.setTimer(start + 5, () => resolve(systemClock.wallNowMs()));
 * });
 * assert.ok(firedAt >= start + 5);
 * systemClock.setTimer(start + 3e9, () => assert.fail("cancelled"))[Symbol.dispose]();
 * ```
 */
export const systemClock: ScheduleClock = {
  wallNowMs: () => Date.now(),
  setTimer(atMs, fn) {
    const timer = setLongTimeout(() => {
      // Bounded: a wall clock that stalls (or was stepped back) is the caller's to notice.
      const untilMs = performance.now() + EARLY_WAKE_MS + 1;
      while (Date.now() < atMs && performance.now() < untilMs) {
        // The last stretch: shorter than a timer can wait.
      }
      fn();
    }, atMs - Date.now() - EARLY_WAKE_MS);
    return { [Symbol.dispose]: () => timer.cancel() };
  },
};

/**
 * The longest a {@link ScheduleSource} sleeps before it reads the wall clock
 * again, in milliseconds: a run is at most this late after a resume from
 * suspend or a wall-clock step.
 */
export const RECHECK_MS = 60_000;

/**
 * A wall-clock step back at least this long (3 hours, Vixie cron's bound)
 * is a correction: run times already fired may fire again. A shorter one
 * (an NTP step, the repeated hour of a zone that is not the schedule's)
 * never repeats a run.
 */
export const BIG_STEP_BACK_MS = 3 * 3_600_000;

/** One schedule for a {@link ScheduleSource}. */
export interface ScheduleEntry {
  /** Its dispatcher key, unique among all triggers, e.g. `schedule:backup`. */
  readonly key: string;
  /** Its `name:`, for logs and status. */
  readonly name: string;
  /** Its run times (`everyTimetable()`, `parseCron()`). */
  readonly timetable: Timetable;
  /** `jitter:` in milliseconds: each run is delayed by up to this much. Default 0. */
  readonly jitterMs?: number;
  /**
   * `catch_up: true`: its last run from the state file, in Unix epoch
   * milliseconds, or null when it never ran. Default: no catch-up.
   */
  readonly catchUp?: { readonly lastRunMs: number | null };
}

/** Options for {@link ScheduleSource}. */
export interface ScheduleSourceOptions {
  /** The clock. Default {@link systemClock}. */
  clock?: ScheduleClock;
  /** Draws jitter. Default `Math.random`. */
  random?: RandomSource;
  /** The longest sleep between wall-clock reads, ms. Default {@link RECHECK_MS}. */
  recheckMs?: number;
}

/** Where one schedule of a {@link ScheduleSource} stands, for `status`. */
export interface ScheduleStatus {
  /** The schedule's key. */
  readonly key: string;
  /** The schedule's name. */
  readonly name: string;
  /** Its timetable's description, e.g. `every 1h`. */
  readonly description: string;
  /** Its next run time before jitter (Unix epoch ms); null when stopped or none is left. */
  readonly dueMs: number | null;
  /** When it will fire, jitter included (Unix epoch ms); null likewise. */
  readonly runAtMs: number | null;
}

interface EntryState {
  readonly entry: ScheduleEntry;
  dueMs: number | null;
  runAtMs: number | null;
  /** The wall time the armed timer should wake at, if the wall clock is not stepped. */
  wakeMs?: number;
  timer?: Disposable;
}

/**
 * Fires a {@link ScheduleTrigger} when each schedule is due. Pure timing
 * logic over a {@link ScheduleClock}:
 *
 * - at start, a schedule with `catchUp` whose run was missed
 *   (`isCatchUpDue()`) fires once at once, before `start` returns;
 * - then each schedule waits for its next run time after now (plus a fresh
 *   jitter, kept short of the run after it); when it fires, the next run
 *   time is computed from the wall clock, so the runs missed while asleep are
 *   skipped and counted, never run late one by one;
 * - it wakes every `recheckMs` at least, to notice a resume or a wall-clock
 *   step; after a step back of {@link BIG_STEP_BACK_MS} or more it plans
 *   from the new time, after a shorter one it keeps its plan, so no run time
 *   fires twice.
 *
 * Record each trigger's `firedAtMs` as the schedule's last run
 * (`ScheduleStateFile.record`) for catch-up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { everyTimetable } from "./every.ts";
 * import { ScheduleSource } from "./schedule_source.ts";
 * import type { ScheduleTrigger } from "./trigger.ts";
 * // A clock whose timers fire when told to.
 * let nowMs = Date.parse("2025-06-01T10:20:00Z");
 * const timers = new Set<() => void>();
 * const clock = {
 *   wallNowMs: () => nowMs,
 *   setTimer(_atMs: number, fn: () => void) {
 *     timers.add(fn);
 *     return { [Symbol.dispose]: () => void timers.delete(fn) };
 *   },
 * };
 * const source = new ScheduleSource(
 *   [{ key: "schedule:hourly", name: "hourly", timetable: everyTimetable({ periodMs: 3_600_000 }) }],
 *   { clock },
 * );
 * const fired: ScheduleTrigger[] = [];
 * using _stop = source.start((trigger) => fired.push(trigger));
 * assert.equal(source.status()[0].dueMs, Date.parse("2025-06-01T11:00:00Z"));
 * nowMs = Date.parse("2025-06-01T14:10:00Z"); // the machine slept
 * const [wake] = timers;
 * timers.delete(wake);
 * wake();
 * assert.equal(fired.length, 1);
 * assert.equal(fired[0].missed, 3); // 12:00, 13:00 and 14:00 coalesced
 * assert.equal(source.status()[0].dueMs, Date.parse("2025-06-01T15:00:00Z"));
 * ```
 */
export class ScheduleSource implements TriggerSource<ScheduleTrigger> {
  readonly #states: EntryState[];
  readonly #clock: ScheduleClock;
  readonly #random: RandomSource;
  readonly #recheckMs: number;
  #fire: ((trigger: ScheduleTrigger) => void) | undefined;
  #started = false;

  /**
   * Creates a source for `entries`; nothing is armed before {@link start}.
   *
   * @param entries The schedules; keys must be unique.
   * @throws {Error} When two entries share a key, or `recheckMs` is not positive.
   */
  constructor(entries: readonly ScheduleEntry[], options: ScheduleSourceOptions = {}) {
    const keys = new Set<string>();
    for (const { key } of entries) {
      if (keys.has(key)) throw new Error(`Bug: two schedules share the key "${key}"`);
      keys.add(key);
    }
    this.#states = entries.map((entry) => ({ entry, dueMs: null, runAtMs: null }));
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#recheckMs = options.recheckMs ?? RECHECK_MS;
    if (!(this.#recheckMs > 0)) throw new Error(`Bug: recheckMs must be positive`);
  }

  /**
   * Fires due catch-ups, then arms every schedule. Disposing the result
   * cancels every timer; a source starts once.
   *
   * @throws {Error} When called a second time.
   */
  start(fire: (trigger: ScheduleTrigger) => void): Disposable {
    if (this.#started) throw new Error("Bug: a ScheduleSource starts once");
    this.#started = true;
    this.#fire = fire;
    const nowMs = this.#clock.wallNowMs();
    for (const state of this.#states) this.#plan(state, nowMs);
    for (const { entry } of this.#states) {
      if (!entry.catchUp || !this.#fire) continue;
      if (isCatchUpDue(entry.catchUp.lastRunMs, entry.timetable, nowMs)) {
        const { lastRunMs } = entry.catchUp;
        const dueMs = lastRunMs === null ? nowMs : entry.timetable.nextAfter(lastRunMs)!;
        this.#fire({
          kind: "schedule",
          key: entry.key,
          name: entry.name,
          firedAtMs: nowMs,
          dueMs,
          missed: entry.timetable.countBetween(dueMs, nowMs, MISSED_COUNT_LIMIT),
          catchUp: true,
          lastRunMs,
        });
      }
    }
    return { [Symbol.dispose]: () => this.#stop() };
  }

  /** Each schedule's next run, in the order given. */
  status(): ScheduleStatus[] {
    return this.#states.map(({ entry, dueMs, runAtMs }) => ({
      key: entry.key,
      name: entry.name,
      description: entry.timetable.description,
      dueMs,
      runAtMs,
    }));
  }

  /** Picks the first run time after `afterMs` and a jittered moment to fire it. */
  #plan(state: EntryState, afterMs: number): void {
    const { timetable, jitterMs = 0 } = state.entry;
    const dueMs = timetable.nextAfter(afterMs);
    state.dueMs = dueMs;
    state.runAtMs = null;
    if (dueMs === null) return; // the timetable has ended
    const beforeMs = jitterMs > 0 ? timetable.nextAfter(dueMs) ?? undefined : undefined;
    state.runAtMs = jitteredDeadline(dueMs, jitterMs, { random: this.#random, beforeMs });
    this.#arm(state);
  }

  /** Sleeps until the run is due, or for `recheckMs`, whichever is first. */
  #arm(state: EntryState): void {
    const wakeMs = Math.min(state.runAtMs!, this.#clock.wallNowMs() + this.#recheckMs);
    state.wakeMs = wakeMs;
    state.timer = this.#clock.setTimer(wakeMs, () => this.#wake(state));
  }

  #wake(state: EntryState): void {
    state.timer = undefined;
    if (!this.#fire || state.dueMs === null || state.runAtMs === null) return;
    const nowMs = this.#clock.wallNowMs();
    if (nowMs < state.runAtMs) {
      // Not due yet. A wall clock set back far (it reads less than the timer
      // was set for, by hours) was corrected: plan from the new time. How far
      // it went back is measured against the wake time, not the last run: a
      // daily schedule that ran 20 hours ago is set back 25 hours, not 5.
      if (state.wakeMs! - nowMs >= BIG_STEP_BACK_MS) {
        return this.#plan(state, nowMs);
      }
      return this.#arm(state);
    }
    const { entry, dueMs } = state;
    const missed = entry.timetable.countBetween(dueMs, nowMs, MISSED_COUNT_LIMIT);
    this.#plan(state, nowMs);
    this.#fire({
      kind: "schedule",
      key: entry.key,
      name: entry.name,
      firedAtMs: nowMs,
      dueMs,
      missed,
      catchUp: false,
    });
  }

  #stop(): void {
    this.#fire = undefined;
    for (const state of this.#states) {
      state.timer?.[Symbol.dispose]();
      state.timer = undefined;
      state.dueMs = null;
      state.runAtMs = null;
    }
  }
}
