/**
 * A stepped clock for unit tests. It is a {@link Clock} and, while
 * installed, it also stands in for the two things every flagstaff timer
 * reads: `setTimeout`/`clearTimeout` (through `delay.ts`'s `setLongTimeout`)
 * and `performance.now()`. Timers then fire only when the test steps the
 * clock, so a test of a schedule, a stop deadline or a timeout never waits
 * on wall time, and never depends on how loaded the machine is.
 *
 * Not exported from `lib/mod.ts` (tests only). The model is
 * `lib/schedules/_fake_clock.ts`, which fakes the schedules' own timer
 * interface; the runtime's timers go through the globals, hence the
 * install.
 *
 * @module
 */

import type { Clock } from "./clock.ts";

/** How long {@link FakeClock.armed} waits, in real milliseconds, before it fails the test. */
export const ARMED_DEADLINE_MS = 30_000;

/** Fake timer ids start here, far from Deno's own, so a real timer is still cleared for real. */
const FIRST_ID = 1_000_000_000;

interface FakeTimer {
  readonly atMs: number;
  readonly order: number;
  readonly fn: () => void;
}

/**
 * A clock whose time moves only when {@link advance} or {@link next} moves
 * it. {@link install} makes `setTimeout`, `clearTimeout` and
 * `performance.now()` use it until disposed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FakeClock } from "./_fake_clock.ts";
 * import { delay } from "./delay.ts";
 * using clock = FakeClock.install(1000);
 * let done = false;
 * const waiting = delay(250).then(() => done = true);
 * clock.advance(249);
 * await Promise.resolve();
 * assert.equal(done, false);
 * clock.advance(1);
 * await waiting;
 * assert.deepEqual([done, clock.nowMs(), performance.now()], [true, 1250, 1250]);
 * ```
 */
export class FakeClock implements Clock, Disposable {
  #nowMs: number;
  #order = 0;
  #nextId = FIRST_ID;
  readonly #timers = new Map<number, FakeTimer>();
  readonly #armedWaiters = new Set<() => void>();
  #restore: (() => void) | undefined;
  /** The real timer functions, for deadlines in real time while installed. */
  readonly #real = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
  };

  /**
   * A clock at `startMs`, not installed.
   *
   * @param startMs Its time at start, in milliseconds. Default 0.
   */
  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  /**
   * Creates a clock at `startMs` and installs it: `setTimeout`,
   * `clearTimeout` and `performance.now()` use it until it is disposed.
   *
   * @param startMs Its time at start, in milliseconds. Default 0.
   * @returns The installed clock; dispose it (`using`) to restore the real timers.
   * @throws {Error} when another fake clock is installed.
   */
  static install(startMs = 0): FakeClock {
    const clock = new FakeClock(startMs);
    clock.#install();
    return clock;
  }

  /** The fake time, in milliseconds. */
  nowMs(): number {
    return this.#nowMs;
  }

  /** How many timers are armed. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing the timers that come due on the way,
   * each at its own moment (in deadline order, then in the order armed).
   * A timer armed by a callback fires too when it falls inside the step.
   *
   * @param ms How far to move, in milliseconds; not negative.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`Cannot move a fake clock by ${ms} ms`);
    const endMs = this.#nowMs + ms;
    for (let timer = this.#earliest(endMs); timer; timer = this.#earliest(endMs)) {
      this.#timers.delete(timer[0]);
      this.#nowMs = Math.max(this.#nowMs, timer[1].atMs);
      timer[1].fn();
    }
    this.#nowMs = endMs;
  }

  /**
   * Waits until a timer is armed (at once when one is), then moves time to
   * the earliest one and fires it (and any due at the same moment).
   *
   * @returns The time it moved to, in milliseconds.
   * @throws {Error} when no timer is armed within {@link ARMED_DEADLINE_MS} of real time.
   */
  async next(): Promise<number> {
    await this.armed();
    const [, first] = this.#earliest(Infinity)!;
    this.advance(Math.max(0, first.atMs - this.#nowMs));
    return this.#nowMs;
  }

  /**
   * Resolves once at least one timer is armed: the code under test has
   * finished its step and waits on the clock. An event, not a poll.
   *
   * @throws {Error} when none is armed within {@link ARMED_DEADLINE_MS} of real time.
   */
  armed(): Promise<void> {
    if (this.#timers.size > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const deadline = this.#real.setTimeout(() => {
        this.#armedWaiters.delete(done);
        reject(new Error(`No timer was armed within ${ARMED_DEADLINE_MS} ms`));
      }, ARMED_DEADLINE_MS);
      const done = () => {
        this.#real.clearTimeout(deadline);
        this.#armedWaiters.delete(done);
        resolve();
      };
      this.#armedWaiters.add(done);
    });
  }

  /** Restores the real `setTimeout`, `clearTimeout` and `performance.now()`; drops pending timers. */
  [Symbol.dispose](): void {
    this.#restore?.();
    this.#restore = undefined;
    this.#timers.clear();
  }

  #earliest(limitMs: number): [number, FakeTimer] | undefined {
    let found: [number, FakeTimer] | undefined;
    for (const entry of this.#timers) {
      const timer = entry[1];
      if (timer.atMs > limitMs) continue;
      if (
        !found || timer.atMs < found[1].atMs ||
        (timer.atMs === found[1].atMs && timer.order < found[1].order)
      ) {
        found = entry;
      }
    }
    return found;
  }

  #arm(fn: () => void, delayMs: number): number {
    const id = this.#nextId++;
    const waitMs = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    this.#timers.set(id, { atMs: this.#nowMs + waitMs, order: this.#order++, fn });
    for (const waiter of [...this.#armedWaiters]) waiter();
    return id;
  }

  #install(): void {
    const global = globalThis as unknown as Record<string, unknown> & { [INSTALLED]?: true };
    if (global[INSTALLED]) throw new Error("A fake clock is installed already");
    const realClear = this.#real.clearTimeout;
    global.setTimeout = (handler: unknown, delayMs = 0, ...args: unknown[]) => {
      if (typeof handler !== "function") throw new TypeError("A fake clock runs functions only");
      return this.#arm(() => handler(...args), Number(delayMs));
    };
    global.clearTimeout = (id?: number) => {
      if (id === undefined) return;
      if (id >= FIRST_ID) this.#timers.delete(id);
      else realClear(id);
    };
    Object.defineProperty(performance, "now", {
      value: () => this.#nowMs,
      configurable: true,
      writable: true,
    });
    global[INSTALLED] = true;
    this.#restore = () => {
      global.setTimeout = this.#real.setTimeout;
      global.clearTimeout = realClear;
      delete (performance as { now?: unknown }).now;
      delete global[INSTALLED];
    };
  }
}

const INSTALLED = Symbol.for("flagstaff.fakeClock");
