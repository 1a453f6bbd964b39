/**
 * Library mode's entry: helper's `helper.start`.
 *
 * This is the one module of `lib/` that imports flagstaff's built-in actions
 * (`actions/mod.ts`): an app gets them by default, as `flagstaff` does.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { BUILTIN_ACTIONS } from "../../actions/mod.ts";
import { SignalInbox } from "../os/signals.ts";
import type { ActionClass } from "../runtime/action.ts";
import type { AppOptions, ArgsOf, Controller } from "../runtime/controller.ts";
import { runCli } from "./main.ts";

const BUILTINS_DIR = new URL("../../actions/", import.meta.url);

/** Options for {@link start}. */
export interface StartOptions<O extends AppOptions = Record<never, never>> {
  /** The app's name: program name in `--help` and messages, logger category, errors file. Default: the class name. */
  name?: string;
  /** The app's version for `--version`. Default: flagstaff's. */
  version?: string;
  /** The description under the usage line of `--help`. Default: "NAME: a flagstaff app". */
  description?: string;
  /** The usage line of `--help` (helper's `usage`), replacing the one made. Default: made. */
  usage?: string;
  /** Text at the end of `--help` (helper's `epilog`). Default: none. */
  epilog?: string;
  /**
   * The app's own command-line options (helper's `add_argument`), by long
   * name: shown in `--help` of `run` and `check`, parsed and converted, and
   * read back as `this.args` (typed: see {@link ArgsOf}). Default: none.
   */
  options?: O;
  /** The command line. Default: `Deno.args`. */
  args?: readonly string[];
  /**
   * Actions the app hands in as classes, by name; they replace a built-in of
   * the same name. Default: none.
   */
  actions?: Readonly<Record<string, ActionClass>>;
  /** Whether flagstaff's built-in actions (`print`, `exec`, `reload`, …) are known. Default true. */
  builtins?: boolean;
  /**
   * The app's own actions folder: every `*.ts`/`*.js` module in it is an
   * action named by its file name, found at each start and reload (a new file
   * needs no registration). Default: `actions/` beside the app's main module;
   * `false` for none. A compiled binary needs it embedded:
   * `deno compile --include actions/ main.ts` (`flagstaff new` writes that task).
   */
  actionsDir?: string | URL | false;
  /**
   * Stops the app when it fires, as TERM does (cleanup, exit 0): for an app
   * that embeds flagstaff and decides itself when to stop. Default: none.
   */
  signal?: AbortSignal;
}

/**
 * Runs an app's command line with `controller` as its controller: `run` (the
 * default: `-c FILE`, `-f`, `-d`, `-v`, `-q`, and the app's own options),
 * `check`, `list`, `status`, `stop`, `reload`, `signal`. Resolves with the
 * exit code; the app's `main.ts` exits with it, at once: `run` leaves its
 * signal listeners installed to the end, so that a signal during the exit
 * is ignored rather than fatal.
 *
 * @param controller The app's `Controller` subclass.
 * @param options Name, help texts, the app's options and actions.
 * @returns The exit code (see the README's table).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Controller, start } from "../mod.ts";
 * class App extends Controller<{ port: number }> {
 *   override process(): void {
 *     this.logger.info("serving on {port}", { port: this.args.port });
 *   }
 * }
 * // `check` validates what `run` would run, and prints it.
 * const code = await start(App, {
 *   name: "app",
 *   options: { port: { type: "integer", description: "port to serve on", default: 8080 } },
 *   args: ["check", "--port", "8081"],
 *   actionsDir: false,
 * });
 * assert.equal(code, 0);
 * ```
 */
export function start<O extends AppOptions = Record<never, never>>(
  controller: new () => Controller<ArgsOf<NoInfer<O>>>,
  options: StartOptions<O> = {},
): Promise<number> {
  // First: listeners for every signal flagstaff handles, so none ends the app while it starts.
  const signals = SignalInbox.install();
  const dir = options.actionsDir === undefined
    ? new URL("./actions/", Deno.mainModule)
    : options.actionsDir;
  const appActionsDir = dir === false
    ? undefined
    : dir instanceof URL
    ? (dir.protocol === "file:" ? fileURLToPath(dir) : undefined)
    : dir;
  return runCli(options.args ?? Deno.args, {
    controller: controller as never,
    name: options.name ?? controller.name,
    version: options.version,
    description: options.description,
    usage: options.usage,
    epilog: options.epilog,
    appOptions: options.options,
    builtinActions: {
      ...(options.builtins === false ? {} : BUILTIN_ACTIONS),
      ...options.actions,
    },
    appActionsDir,
    signal: options.signal,
    // flagstaff's own actions/ folder holds the built-ins: never scanned as actions (`deno task dev` in a checkout).
    builtinActionsDir: BUILTINS_DIR.protocol === "file:" ? fileURLToPath(BUILTINS_DIR) : undefined,
    signals,
  });
}
