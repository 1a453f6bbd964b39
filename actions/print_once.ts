/**
 * `print_once MESSAGE`: flagman's `print_once` action. Set-up prints `init`,
 * the first run prints the message and closes the action with the reason
 * `Only print once`; the runtime then tears it down, which prints `cleanup`.
 *
 * flagman raised `ActionClosed` from `run()`; here the run returns normally
 * after `context.close()`, and the runtime retires the action after the run.
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/action.ts";

/** Prints `init`, the message once (then closes itself), then `cleanup`. */
export default class PrintOnceAction {
  /** One line for `flagstaff list`. */
  static readonly description = "Prints a message on the first run, then closes itself";
  /** The arguments it takes. */
  static readonly arguments: readonly ActionArgument[] = [
    { name: "message", doc: "what the one run prints" },
  ];

  readonly #context: ActionContext;
  #message = "";

  /** The runtime constructs the action with its context. */
  constructor(context: ActionContext) {
    this.#context = context;
  }

  /** Keeps the message and prints `init`. */
  setUp(message: string): void {
    this.#message = message;
    this.#context.out.write("init\n");
  }

  /** Prints the message, then asks the runtime to retire the action. */
  run(context: ActionContext): void {
    context.out.write(`${this.#message}\n`);
    context.close("Only print once");
  }

  /** Prints `cleanup`. */
  tearDown(): void {
    this.#context.out.write("cleanup\n");
  }
}
