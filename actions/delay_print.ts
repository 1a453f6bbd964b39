/**
 * `delay_print MESSAGE DELAY`: flagman's `delay_print` action. Set-up prints
 * `init`; each run prints the message, waits DELAY whole seconds, then prints
 * `finished delaying`; tear-down prints `cleanup`.
 *
 * Unlike flagman's `sleep()`, the wait ends early when the run's `signal`
 * fires (a stop, or the run's timeout) or the action is torn down: the run
 * then returns without printing `finished delaying`, so `cleanup` is always
 * the last line. DELAY may be any whole number of seconds: the wait goes
 * through `lib/core/delay.ts`, so one past the timer limit (2^31-1 ms, about 24.8
 * days) is waited in full instead of firing at once.
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/runtime/action.ts";
import { delay } from "../lib/core/delay.ts";

/** The longest delay taken, in whole seconds: its milliseconds are still exact. */
const MAX_DELAY_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/** Prints `init`, then on each run the message, a wait, `finished delaying`; then `cleanup`. */
export default class DelayPrintAction {
  /** One line for `flagstaff list`. */
  static readonly description =
    'Prints a message on each run, waits DELAY seconds, then prints "finished delaying"';
  /** The arguments it takes. */
  static readonly arguments: readonly ActionArgument[] = [
    { name: "message", doc: "what each run prints first" },
    { name: "delay", type: "integer", doc: "whole seconds to wait before finishing" },
  ];

  readonly #context: ActionContext;
  readonly #tornDown = new AbortController();
  #message = "";
  #delayMs = 0;

  /** The runtime constructs the action with its context. */
  constructor(context: ActionContext) {
    this.#context = context;
  }

  /**
   * Keeps the message and the delay, then prints `init`.
   *
   * @throws {Error} when `delay` is not a whole number of seconds from 0 to 9007199254740.
   */
  setUp(message: string, delay: string): void {
    // What Python's int() takes: optional blanks and sign, decimal digits.
    const seconds = /^\s*[-+]?\d+\s*$/.test(delay) ? Number(delay) : NaN;
    if (!(seconds >= 0 && seconds <= MAX_DELAY_SECONDS)) {
      throw new Error(
        `Argument "delay" must be a whole number of seconds from 0 to ${MAX_DELAY_SECONDS}, got ${
          JSON.stringify(delay)
        }`,
      );
    }
    this.#message = message;
    this.#delayMs = seconds * 1000;
    this.#context.out.write("init\n");
  }

  /** Prints the message, waits, prints `finished delaying` (unless the wait was cut short). */
  async run(context: ActionContext): Promise<void> {
    context.out.write(`${this.#message}\n`);
    const signal = AbortSignal.any([context.signal, this.#tornDown.signal]);
    if (!await wait(this.#delayMs, signal)) {
      context.logger.debug("Delay cut short after the message: {reason}", {
        reason: describeReason(signal.reason),
      });
      return;
    }
    context.out.write("finished delaying\n");
  }

  /** Ends a wait in flight, then prints `cleanup`. */
  tearDown(): void {
    this.#tornDown.abort(new Error("the action was torn down"));
    this.#context.out.write("cleanup\n");
  }
}

/** Waits `ms`, however long; resolves true when the time ran out, false as soon as `signal` fires. */
async function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await delay(ms, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Describes an abort reason in a few words. */
function describeReason(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
