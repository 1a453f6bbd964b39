/**
 * `print MESSAGE`: flagman's `print` action, line for line. Set-up prints
 * `init`, each run prints the message, tear-down prints `cleanup`, each on a
 * line of its own, to the output the action is handed (stdout).
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/runtime/action.ts";

/** Prints `init`, then the message on each run, then `cleanup`. */
export default class PrintAction {
  /** One line for `flagstaff list` (flagman's words). */
  static readonly description: string =
    "A simple Action that prints messages at the various stages of execution";
  /** The arguments it takes. */
  static readonly arguments: readonly ActionArgument[] = [
    { name: "message", doc: "what each run prints" },
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

  /** Prints the message. */
  run(context: ActionContext): void {
    context.out.write(`${this.#message}\n`);
  }

  /** Prints `cleanup`. */
  tearDown(): void {
    this.#context.out.write("cleanup\n");
  }
}
