/**
 * The wake schedule's timer: `process()` is due at `origin + n * interval`
 * (absolute deadlines on the monotonic clock, `core/schedule.ts`), an
 * overrun skips the deadlines it missed, and at most one overrun warning is
 * logged per {@link OVERRUN_WARNING_EVERY_MS}.
 *
 * @module
 */

import type { Clock } from "../core/clock.ts";
import { type LongTimer, setLongTimeout } from "../core/delay.ts";
import { nextTick, rebase, type Schedule } from "../core/schedule.ts";
import { getLogger } from "../deps.ts";

/** At most one overrun warning per this many milliseconds; the rest are summed into it. */
export const OVERRUN_WARNING_EVERY_MS = 60_000;

const log = getLogger(["flagstaff", "runtime"]);

/**
 * The timer of a fixed-rate schedule. It only says when a tick is due
 * (`onDue`, which queues the tick); the runtime runs the tick and then calls
 * {@link Ticker.advance}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Ticker } from "./ticker.ts";
 * let now = 0;
 * const due: number[] = [];
 * const ticker = new Ticker({ nowMs: () => now }, () => due.push(now));
 * ticker.start(1000);
 * assert.equal(ticker.index, 0);
 * now = 2500; // tick 0 ran long: ticks 1 and 2 are missed, tick 3 is next
 * ticker.advance();
 * assert.equal(ticker.index, 3);
 * ticker.reset();
 * assert.equal(ticker.running, false);
 * ```
 */
export class Ticker {
  readonly #clock: Clock;
  readonly #onDue: () => void;
  #schedule: Schedule | undefined;
  #index = 0;
  #timer: LongTimer | undefined;
  #overrun = { lastWarnMs: -Infinity, runs: 0, skipped: 0 };

  /** A ticker reading `clock`, calling `onDue` when a tick is due. */
  constructor(clock: Clock, onDue: () => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  /** Whether a schedule runs (a `process()` controller). */
  get running(): boolean {
    return this.#schedule !== undefined;
  }

  /** The index of the tick due next (0 is the first, right after `setup()`). */
  get index(): number {
    return this.#index;
  }

  /** Starts a schedule now, every `intervalMs`; the first tick is the caller's to queue. */
  start(intervalMs: number): void {
    this.#schedule = { originMs: this.#clock.nowMs(), intervalMs };
    this.#index = 0;
  }

  /** After a tick ran: the next deadline not yet past (skipping missed ones, with a warning), armed. */
  advance(): void {
    if (!this.#schedule) return;
    const next = nextTick(this.#schedule, this.#index, this.#clock.nowMs());
    if (next.skipped > 0) this.#warnOverrun(this.#index, next.skipped);
    this.#index = next.index;
    this.#arm();
  }

  /**
   * A new interval (a reload): the next tick comes one new interval after
   * the last due one. Returns whether it changed.
   */
  changeInterval(intervalMs: number): boolean {
    if (!this.#schedule || intervalMs === this.#schedule.intervalMs) return false;
    const last = Math.max(0, this.#index - 1);
    this.#schedule = rebase(this.#schedule, last, intervalMs);
    this.#index = nextTick(this.#schedule, 0, this.#clock.nowMs()).index;
    if (this.#timer !== undefined) this.#arm();
    return true;
  }

  /** Stops the timer; the schedule stays (a stop: no new tick). */
  cancel(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Stops the timer and forgets the schedule (a restart). */
  reset(): void {
    this.cancel();
    this.#schedule = undefined;
  }

  #arm(): void {
    this.cancel();
    const deadlineMs = this.#schedule!.originMs + this.#index * this.#schedule!.intervalMs;
    this.#timer = setLongTimeout(() => {
      this.#timer = undefined;
      this.#onDue();
    }, deadlineMs - this.#clock.nowMs());
  }

  /**
   * One overrun warning per {@link OVERRUN_WARNING_EVERY_MS} at most: a
   * `process()` that always overruns a short interval would otherwise log on
   * every tick. The ones held back are counted into the next warning.
   */
  #warnOverrun(index: number, skipped: number): void {
    const now = this.#clock.nowMs();
    const overrun = this.#overrun;
    if (now - overrun.lastWarnMs < OVERRUN_WARNING_EVERY_MS) {
      overrun.runs++;
      overrun.skipped += skipped;
      log.debug("Tick {index} overran its interval: skipped {skipped} tick(s)", { index, skipped });
      return;
    }
    const more = overrun.runs > 0
      ? ` (and ${overrun.runs} more overrun(s), ${overrun.skipped} tick(s) skipped, since the last warning)`
      : "";
    log.warn("Tick {index} overran its interval: skipped {skipped} tick(s){more}", {
      index,
      skipped,
      more,
    });
    this.#overrun = { lastWarnMs: now, runs: 0, skipped: 0 };
  }
}
