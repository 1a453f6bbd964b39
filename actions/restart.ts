/**
 * `restart`: stops the controller, cleans up, re-reads the config and starts
 * it again, all in the same process (the pid stays the same).
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/runtime/action.ts";

/** Asks the runtime to restart the controller in-process. */
export default class RestartAction {
  /** One line for `flagstaff list`. */
  static readonly description =
    "Stops the controller, cleans up, re-reads the config and starts it again in-process";
  /** It takes no arguments. */
  static readonly arguments: readonly ActionArgument[] = [];

  /** The runtime constructs the action with its context. */
  constructor(_context: ActionContext) {}

  /** Restarts, and resolves when the restart is done. */
  async run(context: ActionContext): Promise<void> {
    await context.runtime.restart();
  }
}
