/**
 * `reload`: reloads the config (and the actions), as HUP does by default.
 * Give it to a signal whose default was replaced to keep reloading there too:
 * `--hup reload --hup exec notify-send reloaded`.
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/runtime/action.ts";

/** Asks the runtime to reload the config. */
export default class ReloadAction {
  /** One line for `flagstaff list`. */
  static readonly description = "Reloads the config, as HUP does by default";
  /** It takes no arguments. */
  static readonly arguments: readonly ActionArgument[] = [];

  /** The runtime constructs the action with its context. */
  constructor(_context: ActionContext) {}

  /** Reloads, and resolves when the reload is done. */
  async run(context: ActionContext): Promise<void> {
    await context.runtime.reload();
  }
}
