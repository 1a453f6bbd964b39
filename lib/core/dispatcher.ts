/**
 * The one queue and its one worker (DESIGN.md). Signal listeners and timers
 * only {@link Dispatcher.request} a unit of work by key; a single async loop
 * runs one unit at a time, so user code never races itself.
 *
 * The guarantee: every request is followed by at least one full run of its
 * unit that starts after the request arrived. A key requested while it is
 * already queued collapses into that queued run; a key requested while it
 * runs is queued once more. Different keys run in the order they were first
 * requested.
 *
 * @module
 */

/** Runs one unit of work; the signal fires when a stop is requested. */
export type UnitRunner<K extends string> = (key: K, signal: AbortSignal) => Promise<void> | void;

/** Options for {@link Dispatcher}. */
export interface DispatcherOptions<K extends string> {
  /** Called with a unit's key and error when the runner throws. Default: rethrow is lost; give one. */
  onError?: (key: K, error: unknown) => void;
}

/**
 * A FIFO of unit keys with at most one queued entry per key, drained by one
 * worker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Dispatcher } from "./dispatcher.ts";
 * const ran: string[] = [];
 * const dispatcher = new Dispatcher<string>((key) => { ran.push(key); });
 * dispatcher.request("usr1");
 * dispatcher.request("usr1"); // collapses into the queued run
 * dispatcher.request("hup");
 * await dispatcher.drain();
 * assert.deepEqual(ran, ["usr1", "hup"]);
 * ```
 */
export class Dispatcher<K extends string> {
  readonly #run: UnitRunner<K>;
  readonly #onError: (key: K, error: unknown) => void;
  readonly #queue: K[] = [];
  readonly #stop = new AbortController();
  #current: K | undefined;
  #worker: Promise<void> | undefined;
  #closed = false;
  #held = false;

  /** Creates a dispatcher that runs units with `run`. */
  constructor(run: UnitRunner<K>, options: DispatcherOptions<K> = {}) {
    this.#run = run;
    this.#onError = options.onError ?? (() => {});
  }

  /** Fires when {@link close} is called: the unit in flight should finish soon. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** The key of the unit running now, if any. */
  get current(): K | undefined {
    return this.#current;
  }

  /** Keys waiting to run, in order. */
  get pending(): readonly K[] {
    return [...this.#queue];
  }

  /**
   * Asks for one run of `key` that starts after this call. Returns false when
   * the dispatcher is closed and the request was dropped.
   */
  request(key: K): boolean {
    if (this.#closed) return false;
    if (!this.#queue.includes(key)) this.#queue.push(key);
    if (!this.#held) this.#worker ??= this.#work();
    return true;
  }

  /**
   * Keeps requests queued without running them (during start-up), until
   * {@link resume}. The unit in flight, if any, finishes.
   */
  hold(): void {
    this.#held = true;
  }

  /** Runs what {@link hold} kept queued, in order, and what comes next. */
  resume(): void {
    this.#held = false;
    if (this.#queue.length > 0 && !this.#closed) this.#worker ??= this.#work();
  }

  /** Whether `key` is queued (not counting a run in flight). */
  isPending(key: K): boolean {
    return this.#queue.includes(key);
  }

  /** Drops `key` from the queue if it waits there. */
  cancel(key: K): void {
    const at = this.#queue.indexOf(key);
    if (at >= 0) this.#queue.splice(at, 1);
  }

  /** Resolves when the queue is empty and no unit runs. */
  async drain(): Promise<void> {
    while (this.#worker) await this.#worker;
  }

  /**
   * Stops taking work: drops the queue, fires {@link signal} for the unit in
   * flight and resolves when that unit has finished.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    this.#stop.abort();
    await this.drain();
  }

  async #work(): Promise<void> {
    try {
      // Let the caller finish the turn that requested work before running it.
      await Promise.resolve();
      while (this.#queue.length > 0 && !this.#held) {
        const key = this.#queue.shift()!;
        this.#current = key;
        try {
          await this.#run(key, this.#stop.signal);
        } catch (error) {
          this.#onError(key, error);
        } finally {
          this.#current = undefined;
        }
      }
    } finally {
      this.#worker = undefined;
    }
  }
}
