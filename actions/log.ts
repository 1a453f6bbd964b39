/**
 * `log LEVEL MESSAGE`: logs MESSAGE at LEVEL on each run, through the
 * action's logger (category `flagstaff.action.<name>`), so it lands wherever
 * the `Logging` config sends that category.
 *
 * LEVEL is case-insensitive: LogTape's names (`trace`, `debug`, `info`,
 * `warning` or `warn`, `error`, `fatal`) or Python's (`DEBUG`, `INFO`,
 * `WARNING`, `ERROR`, `CRITICAL`). The message is passed as a property, not
 * as the template, so braces in it are logged as they are.
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../lib/runtime/action.ts";
import type { Logger } from "../lib/runtime/controller.ts";

/** Each accepted level name (lower case) and the logger method it calls. */
const LEVELS: ReadonlyMap<string, keyof Logger> = new Map([
  ["trace", "trace"],
  ["debug", "debug"],
  ["info", "info"],
  ["warning", "warn"],
  ["warn", "warn"],
  ["error", "error"],
  ["fatal", "fatal"],
  ["critical", "fatal"],
]);

/** Logs a fixed message at a fixed level on each run. */
export default class LogAction {
  /** One line for `flagstaff list`. */
  static readonly description =
    "Logs a message at a level (trace, debug, info, warning, error, fatal)";
  /** The arguments it takes. */
  static readonly arguments: readonly ActionArgument[] = [
    {
      name: "level",
      doc: "trace, debug, info, warning (warn), error, fatal (critical); any case",
    },
    { name: "message", doc: "what each run logs" },
  ];

  #method: keyof Logger = "info";
  #message = "";

  /** The runtime constructs the action with its context. */
  constructor(_context: ActionContext) {}

  /**
   * Checks the level and keeps the message.
   *
   * @throws {Error} when `level` is not a known level name.
   */
  setUp(level: string, message: string): void {
    const method = LEVELS.get(level.toLowerCase());
    if (method === undefined) {
      throw new Error(
        `Argument "level" must be one of trace, debug, info, warning, error, fatal (or warn, critical), got ${
          JSON.stringify(level)
        }`,
      );
    }
    this.#method = method;
    this.#message = message;
  }

  /** Logs the message. */
  run(context: ActionContext): void {
    context.logger[this.#method]("{message}", { message: this.#message });
  }
}
