/**
 * `stop`: asks for a graceful stop, as TERM does, with the reason
 * `stop action`. The run returns at once; the stop follows the run.
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/runtime/action.ts";

/** Asks the runtime for a graceful stop. */
export default class StopAction {
  /** One line for `flagstaff list`. */
  static readonly description = "Stops flagstaff gracefully, as TERM does";
  /** It takes no arguments. */
  static readonly arguments: readonly ActionArgument[] = [];

  /** The runtime constructs the action with its context. */
  constructor(_context: ActionContext) {}

  /** Requests the stop. */
  run(context: ActionContext): void {
    context.runtime.stop("stop action");
  }
}
