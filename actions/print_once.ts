/**
 * `print_once MESSAGE`: flagman's `print_once` action, a `print` that closes
 * itself. Set-up prints `init`, the first run prints the message and closes
 * the action with the reason `Only print once`; the runtime then tears it
 * down, which prints `cleanup`.
 *
 * flagman raised `ActionClosed` from `run()`; here the run returns normally
 * after `context.close()`, and the runtime retires the action after the run.
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/runtime/action.ts";
import PrintAction from "./print.ts";

/** Prints `init`, the message once (then closes itself), then `cleanup`. */
export default class PrintOnceAction extends PrintAction {
  /** One line for `flagstaff list`. */
  static override readonly description = "Prints a message on the first run, then closes itself";
  /** The arguments it takes. */
  static override readonly arguments: readonly ActionArgument[] = [
    { name: "message", doc: "what the one run prints" },
  ];

  /** Prints the message, then asks the runtime to retire the action. */
  override run(context: ActionContext): void {
    super.run(context);
    context.close("Only print once");
  }
}
