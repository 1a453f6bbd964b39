/**
 * The signals flagstaff handles, and the {@link SignalInbox} that listens to
 * them from the first moment of a `run` until the process exits.
 *
 * Why an inbox: a signal whose listener is not installed yet gets the
 * default action (HUP, USR1, USR2, TERM and INT all end the process), and
 * Deno restores that default when the last listener is removed. So `main.ts`
 * installs one listener per signal before it loads anything else; each
 * delivery is recorded, in order, until the runtime takes them
 * ({@link SignalInbox.listen}), and the listeners are never removed while
 * the process runs flagstaff's `run`: a signal that arrives during start-up
 * is handled once start-up is done, and one that arrives during the exit is
 * ignored, never the default action. Listeners only record (DESIGN.md); the
 * runtime's one queue acts.
 *
 * Deno merges repeats of one signal that arrive while JavaScript is busy.
 *
 * @module
 */

import { HANDLED_SIGNALS, SIGNAL_NUMBERS, type SignalName } from "../core/signal_table.ts";

export type { SignalName };

/** Where the runtime gets its signals from: the process's own, or a fake in tests. */
export interface SignalSource {
  /**
   * Calls `handler` for every delivery of any {@link HANDLED_SIGNALS}, in the
   * order they arrived (deliveries recorded before this call first). Returns
   * the function that stops the calls.
   */
  listen(handler: SignalHandler): () => void;
}

/**
 * Receives one delivery: the signal, and when it arrived (`performance.now()`
 * in the OS listener, milliseconds), which may be well before the handler
 * runs (during start-up, or while JavaScript was busy).
 */
export type SignalHandler = (signal: SignalName, receivedAtMs?: number) => void;

/** Options for {@link SignalInbox.install}. */
export interface SignalInboxOptions {
  /** Called synchronously inside the OS listener, before the delivery is recorded. */
  onDelivery?: (signal: SignalName) => void;
  /** Adds a listener for a signal and returns its removal; default `Deno.addSignalListener`. */
  addListener?: (signal: SignalName, listener: () => void) => () => void;
}

function denoAddListener(signal: SignalName, listener: () => void): () => void {
  Deno.addSignalListener(signal, listener);
  return () => Deno.removeSignalListener(signal, listener);
}

/**
 * Process-wide listeners for {@link HANDLED_SIGNALS} that record deliveries
 * until someone takes them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SignalInbox } from "./signals.ts";
 * const fired = new Map<string, () => void>();
 * const inbox = SignalInbox.install({
 *   addListener: (signal, listener) => (fired.set(signal, listener), () => fired.delete(signal)),
 * });
 * fired.get("SIGHUP")!(); // arrives before anyone listens: recorded
 * const seen: string[] = [];
 * inbox.listen((signal) => seen.push(signal));
 * fired.get("SIGUSR2")!();
 * assert.deepEqual(seen, ["SIGHUP", "SIGUSR2"]);
 * inbox.close();
 * assert.equal(fired.size, 0);
 * ```
 */
export class SignalInbox implements SignalSource {
  readonly #pending: { signal: SignalName; atMs: number }[] = [];
  #firstStopAtMs: number | undefined;
  readonly #removers: (() => void)[] = [];
  #onDelivery?: (signal: SignalName) => void;
  #handler: SignalHandler | undefined;
  #closed = false;

  private constructor(options: SignalInboxOptions) {
    this.#onDelivery = options.onDelivery;
  }

  /**
   * Installs the listeners now. A signal this platform cannot deliver
   * (Windows has no HUP, USR1, USR2) is skipped: {@link listening} tells.
   */
  static install(options: SignalInboxOptions = {}): SignalInbox {
    const inbox = new SignalInbox(options);
    const add = options.addListener ?? denoAddListener;
    for (const signal of HANDLED_SIGNALS) {
      try {
        inbox.#removers.push(add(signal, () => inbox.#deliver(signal)));
        inbox.#listening.add(signal);
      } catch {
        // Not deliverable on this platform.
      }
    }
    return inbox;
  }

  readonly #listening = new Set<SignalName>();

  /** Whether a listener for `signal` is installed. */
  listening(signal: SignalName): boolean {
    return this.#listening.has(signal);
  }

  /**
   * Sets the hook called synchronously inside the OS listener, before each
   * delivery is recorded or handed on (the SIGUSR1 debugger guard uses it).
   */
  setDeliveryHook(hook: ((signal: SignalName) => void) | undefined): void {
    this.#onDelivery = hook;
  }

  /** Deliveries recorded and not yet handed to a listener, oldest first. */
  get pending(): readonly SignalName[] {
    return this.#pending.map((delivery) => delivery.signal);
  }

  /**
   * When the first TERM or INT arrived (`performance.now()`, milliseconds),
   * whether or not it was handed on yet; undefined before one came. The hard
   * stop counts its deadline from it.
   */
  get firstStopAtMs(): number | undefined {
    return this.#firstStopAtMs;
  }

  #deliver(signal: SignalName): void {
    const atMs = performance.now();
    if ((signal === "SIGTERM" || signal === "SIGINT") && this.#firstStopAtMs === undefined) {
      this.#firstStopAtMs = atMs;
    }
    try {
      this.#onDelivery?.(signal);
    } catch {
      // A hook must never lose the delivery.
    }
    if (this.#handler) this.#handler(signal, atMs);
    else this.#pending.push({ signal, atMs });
  }

  /**
   * Hands every recorded delivery to `handler`, then each new one as it
   * comes. One handler at a time: the returned function detaches it, and
   * deliveries are recorded again (the OS listeners stay).
   */
  listen(handler: SignalHandler): () => void {
    if (this.#handler) throw new Error("Bug: the signal inbox has a listener already");
    this.#handler = handler;
    for (const { signal, atMs } of this.#pending.splice(0)) {
      if (this.#handler !== handler) break;
      handler(signal, atMs);
    }
    return () => {
      if (this.#handler === handler) this.#handler = undefined;
    };
  }

  /**
   * Removes the OS listeners (for a command that is not `run`): from now on
   * each signal has its default action again. Returns the first recorded
   * delivery, if any, so the caller can end the process as that signal
   * would have.
   */
  close(): SignalName | undefined {
    if (this.#closed) return undefined;
    this.#closed = true;
    for (const remove of this.#removers.splice(0)) remove();
    this.#listening.clear();
    return this.#pending.splice(0)[0]?.signal;
  }
}

/**
 * Ends this process as `signal`'s default action would: the listeners must
 * be gone (see {@link SignalInbox.close}). Falls back to exit code 128 + n
 * when sending a signal to itself is not allowed.
 */
export function dieBy(signal: SignalName): never {
  try {
    Deno.kill(Deno.pid, signal);
  } catch {
    // No --allow-run: the shell's convention instead.
  }
  Deno.exit(128 + SIGNAL_NUMBERS[signal]);
}
