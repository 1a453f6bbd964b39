/**
 * The one timer helper. `setTimeout` takes at most 2^31-1 ms (about 24.8
 * days): a longer delay fires at once (a timer overflow), so a
 * `stop_timeout: 3000000` would force every stop at once. Every timer in
 * flagstaff goes through {@link setLongTimeout} or {@link delay}, which chain
 * timers up to the real deadline on the monotonic clock, so a long delay
 * is never shortened and never fires early.
 *
 * @module
 */

/** The longest delay one `setTimeout` takes, in milliseconds (2^31-1). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer from {@link setLongTimeout}. */
export interface LongTimer {
  /** Cancels the timer; calling it again, or after it fired, does nothing. */
  cancel(): void;
}

/** Options for {@link setLongTimeout}. */
export interface LongTimeoutOptions {
  /** Whether the pending timer keeps the process alive. Default true. */
  persistent?: boolean;
}

/**
 * Calls `callback` once, `delayMs` milliseconds from now on the monotonic
 * clock (`performance.now()`), however long that is: a delay past
 * {@link MAX_TIMER_MS} is waited in steps. `Infinity` never fires; a negative
 * or `NaN` delay fires on the next turn, like `setTimeout(callback, 0)`.
 *
 * @param callback What to call when the delay has passed.
 * @param delayMs The delay in milliseconds; fractions are rounded up, so the
 *   callback never runs before the deadline.
 * @returns A handle whose `cancel()` stops the timer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setLongTimeout } from "./delay.ts";
 * const fired = await new Promise<number>((resolve) => {
 *   const start = performance.now();
 *   setLongTimeout(() => resolve(performance.now() - start), 5);
 * });
 * assert.ok(fired >= 5);
 * setLongTimeout(() => assert.fail("cancelled timers never fire"), 3e9).cancel();
 * ```
 */
export function setLongTimeout(
  callback: () => void,
  delayMs: number,
  options: LongTimeoutOptions = {},
): LongTimer {
  let id: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const cancel = () => {
    done = true;
    if (id !== undefined) clearTimeout(id);
    id = undefined;
  };
  if (delayMs === Infinity) return { cancel };
  const deadlineMs = performance.now() + (Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs));
  const start = (fn: () => void, ms: number) => {
    const handle = setTimeout(fn, Math.min(Math.max(0, Math.ceil(ms)), MAX_TIMER_MS));
    if (options.persistent === false) Deno.unrefTimer(handle);
    return handle;
  };
  const arm = () => {
    const left = deadlineMs - performance.now();
    if (left <= 0) {
      id = undefined;
      done = true;
      callback();
      return;
    }
    id = start(arm, left);
  };
  id = start(arm, deadlineMs - performance.now());
  return {
    cancel() {
      if (!done) cancel();
    },
  };
}

/** Options for {@link delay}. */
export interface DelayOptions {
  /** Rejects the promise with the signal's reason when it fires. Default: none. */
  signal?: AbortSignal;
  /** Whether the pending delay keeps the process alive. Default true. */
  persistent?: boolean;
}

/**
 * Resolves after `delayMs` milliseconds, however long (see
 * {@link setLongTimeout}).
 *
 * @param delayMs The delay in milliseconds.
 * @returns A promise that resolves when the delay has passed.
 * @throws The `signal`'s reason (an `AbortError` `DOMException` by default)
 *   when it fires first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { delay } from "./delay.ts";
 * await delay(1);
 * await assert.rejects(delay(3e9, { signal: AbortSignal.abort() }), { name: "AbortError" });
 * ```
 */
export function delay(delayMs: number, options: DelayOptions = {}): Promise<void> {
  const { signal, persistent } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = setLongTimeout(
      () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      },
      delayMs,
      { persistent },
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
