/**
 * A fake {@link ScheduleClock} for tests, with the two clocks a machine has:
 * timers wait on a monotonic clock, which stops during a suspend and ignores
 * wall-clock steps, while `wallNowMs()` reads the wall clock.
 *
 * @module
 */

import type { ScheduleClock } from "./schedule_source.ts";

interface FakeTimer {
  readonly monoMs: number;
  readonly order: number;
  readonly fn: () => void;
}

/**
 * A stepped clock: {@link advance} runs time (timers fire in order, each at
 * its own moment), {@link stepWall} moves only the wall clock (a suspend, an
 * NTP step, `date -s`).
 */
export class FakeScheduleClock implements ScheduleClock {
  #wallMs: number;
  #monoMs = 0;
  #order = 0;
  readonly #timers = new Set<FakeTimer>();

  /**
   * Creates a clock whose monotonic time is 0 and wall time `wallMs`.
   *
   * @param wallMs The wall clock at start, Unix epoch ms.
   */
  constructor(wallMs: number) {
    this.#wallMs = wallMs;
  }

  /** The wall clock, Unix epoch ms. */
  wallNowMs(): number {
    return this.#wallMs;
  }

  /** Fires `fn` once `atMs - wallNowMs()` ms have run, as `setLongTimeout` does. */
  setTimer(atMs: number, fn: () => void): Disposable {
    const timer = {
      monoMs: this.#monoMs + Math.max(0, atMs - this.#wallMs),
      order: this.#order++,
      fn,
    };
    this.#timers.add(timer);
    return { [Symbol.dispose]: () => void this.#timers.delete(timer) };
  }

  /** How many timers are armed. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Runs both clocks forward by `ms`, firing timers as they come due. */
  advance(ms: number): void {
    const endMs = this.#monoMs + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.#timers) {
        if (timer.monoMs > endMs) continue;
        if (
          !next || timer.monoMs < next.monoMs ||
          (timer.monoMs === next.monoMs && timer.order < next.order)
        ) {
          next = timer;
        }
      }
      if (!next) break;
      this.#timers.delete(next);
      this.#wallMs += next.monoMs - this.#monoMs;
      this.#monoMs = next.monoMs;
      next.fn();
    }
    this.#wallMs += endMs - this.#monoMs;
    this.#monoMs = endMs;
  }

  /** Runs both clocks forward to the wall time `wallMs`. */
  advanceTo(wallMs: number): void {
    this.advance(wallMs - this.#wallMs);
  }

  /** Moves the wall clock by `deltaMs` (negative: back) while time stands still. */
  stepWall(deltaMs: number): void {
    this.#wallMs += deltaMs;
  }
}
