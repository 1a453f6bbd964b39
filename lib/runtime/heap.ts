/**
 * A full garbage collection on demand, after a reload.
 *
 * A reload makes garbage (the YAML document, the config, the old action set,
 * the new modules' source); V8 collects it lazily and meanwhile grows its
 * heap: 1,000 reloads in a row grew RSS by about 70 MB before it levelled off,
 * although nothing was leaked (the heap in use stayed at 9 MB). A reload is
 * a rare event, so flagstaff asks V8 for a full collection right after one
 * (about 10 ms); then 1,000 reloads grow RSS by a few MB (`deno task bench`,
 * "Memory across reloads").
 *
 * V8 has no API for it without `--expose-gc`, which `deno run` users would
 * have to pass: Node's documented way, setting the flag at run time and
 * taking `gc` from a new context (`node:v8` `setFlagsFromString`,
 * `node:vm` `runInNewContext`), works in Deno too. Both modules are loaded on
 * the first call, not at start-up.
 *
 * Signals are the other source of garbage: each run allocates about 10 KB
 * (the dispatcher's promises, a log record), part of which outlives V8's
 * young-generation collections, and V8 grew its heap for it: 10,000 signals
 * in a row grew RSS by 12 MB (actions) to 36 MB (a controller whose USR2
 * hook logs a line and appends to a file), to about 80 MB over the empty
 * script before it levelled off, although the heap in use stayed at 7 MB.
 * {@link IdleCollector} asks for a full collection once signals have stopped
 * for a second after a burst; then V8 gives the memory back
 * (`deno task bench`, "Memory: … under signals").
 *
 * @module
 */

import { setLongTimeout } from "../core/delay.ts";

let gc: (() => void) | null | undefined;

/**
 * Runs a full garbage collection. Does nothing where the runtime offers no
 * way to (it never throws).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { collectGarbage } from "./heap.ts";
 * assert.equal(await collectGarbage(), undefined);
 * ```
 */
export async function collectGarbage(): Promise<void> {
  if (gc === undefined) {
    try {
      const [{ default: v8 }, { default: vm }] = await Promise.all([
        import("node:v8"),
        import("node:vm"),
      ]);
      v8.setFlagsFromString("--expose-gc");
      const found = vm.runInNewContext("gc");
      gc = typeof found === "function" ? found as () => void : null;
    } catch {
      gc = null;
    }
  }
  try {
    gc?.();
  } catch {
    // Nothing to do.
  }
}

/** Options for {@link IdleCollector}. */
export interface IdleCollectorOptions {
  /** How many events make a burst worth a collection. Default 1000. */
  afterEvents?: number;
  /** How long no event must come before collecting, in milliseconds. Default 1000. */
  idleMs?: number;
  /** The collection to run. Default {@link collectGarbage}. */
  collect?: () => Promise<void> | void;
}

/**
 * Runs a full garbage collection once events (signal deliveries) have
 * stopped for `idleMs` after at least `afterEvents` of them: never while a
 * burst goes on, at most once per quiet spell. {@link note} is cheap enough
 * for a signal listener (a count and a clock read; a timer only when a
 * burst has filled).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IdleCollector } from "./heap.ts";
 * let collections = 0;
 * const collected = Promise.withResolvers<void>();
 * using collector = new IdleCollector({
 *   afterEvents: 3,
 *   idleMs: 5,
 *   collect: () => {
 *     collections++;
 *     collected.resolve();
 *   },
 * });
 * // Its timer keeps no process alive; this one waits for it.
 * const alive = setInterval(() => {}, 1000);
 * collector.note();
 * collector.note();
 * assert.equal(collections, 0);
 * collector.note();
 * await collected.promise;
 * clearInterval(alive);
 * assert.equal(collections, 1);
 * ```
 */
export class IdleCollector implements Disposable {
  readonly #afterEvents: number;
  readonly #idleMs: number;
  readonly #collect: () => Promise<void> | void;
  #events = 0;
  #lastAtMs = 0;
  #timer: { cancel(): void } | undefined;
  #closed = false;

  /** A collector; nothing runs until {@link note} has been called `afterEvents` times. */
  constructor(options: IdleCollectorOptions = {}) {
    this.#afterEvents = options.afterEvents ?? 1000;
    this.#idleMs = options.idleMs ?? 1000;
    this.#collect = options.collect ?? collectGarbage;
  }

  /** Counts an event. */
  note(): void {
    this.#events++;
    this.#lastAtMs = performance.now();
    if (this.#events >= this.#afterEvents && !this.#timer && !this.#closed) {
      this.#arm(this.#idleMs);
    }
  }

  #arm(delayMs: number): void {
    // Never keeps the process alive: a stop does not wait for it.
    this.#timer = setLongTimeout(() => this.#fire(), delayMs, { persistent: false });
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const quietMs = performance.now() - this.#lastAtMs;
    if (quietMs < this.#idleMs) return this.#arm(this.#idleMs - quietMs);
    this.#events = 0;
    Promise.resolve().then(this.#collect).catch(() => {});
  }

  /** Stops: no collection runs after this. */
  [Symbol.dispose](): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}
