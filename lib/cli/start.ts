/**
 * Library mode's entry: helper's `helper.start`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { ActionClass } from "../runtime/action.ts";
import { runCli } from "./main.ts";
import type { Controller } from "../runtime/controller.ts";
import { SignalInbox } from "../os/signals.ts";

/** Options for {@link start}. */
export interface StartOptions {
  /** The app's name: program name in `--help`, logger category, errors file. Default: the class name. */
  name?: string;
  /** The app's version for `--version`. Default: flagstaff's. */
  version?: string;
  /** The command line. Default: `Deno.args`. */
  args?: readonly string[];
  /**
   * The actions the app embeds, by name: its own, and flagstaff's built-ins if
   * it wants them (`BUILTIN_ACTIONS` of flagstaff's `actions/mod.ts`). They
   * are compiled into the app's binary. Default: none.
   */
  actions?: Readonly<Record<string, ActionClass>>;
}

/**
 * Runs an app's command line with `Controller` as its controller: `run` (the
 * default: `-c FILE`, `-f`, `-v`, `-q`) or `check`. Resolves with the exit
 * code; the app's `main.ts` exits with it, at once: `run` leaves its signal
 * listeners installed to the end, so that a signal during the exit is
 * ignored rather than fatal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Controller, start } from "../mod.ts";
 * class App extends Controller {
 *   override process(): void {}
 * }
 * // `check` validates what `run` would run, and prints it.
 * assert.equal(await start(App, { name: "app", args: ["check"] }), 0);
 * ```
 */
export function start(
  controller: new () => Controller,
  options: StartOptions = {},
): Promise<number> {
  // First: listeners for every signal flagstaff handles, so none ends the app while it starts.
  const signals = SignalInbox.install();
  // The app's own actions/ folder is embedded through `actions`: never scan it again.
  const own = new URL("./actions/", Deno.mainModule);
  return runCli(options.args ?? Deno.args, {
    controller: controller as never,
    name: options.name ?? controller.name,
    version: options.version,
    builtinActions: options.actions,
    builtinActionsDir: own.protocol === "file:" ? fileURLToPath(own) : undefined,
    signals,
  });
}
