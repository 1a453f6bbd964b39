/**
 * What every command is handed, and the helpers several share: reading the
 * config, finding the controller and the actions.
 *
 * @module
 */

import { basename, dirname, extname, join, resolve } from "node:path";
import type { Config } from "../config/config.ts";
import { FlagstaffError, messageOf } from "../core/errors.ts";
import type { SignalInbox } from "../os/signals.ts";
import type { ActionClass } from "../runtime/action.ts";
import type { ActionRegistry } from "../runtime/action_registry.ts";
import type { AppArgs, AppOptions, ControllerClass } from "../runtime/controller.ts";
import type { CliActions, CliSchedule, OptionValue, ProgramSpec } from "./spec.ts";

/** Options for `runCli`: what tool mode (`main.ts`) and library mode (`start()`) hand in. */
export interface CliOptions {
  /** Library mode: the app's controller class; `--controller` is then not offered. */
  controller?: ControllerClass;
  /** Library mode: the app's name (program name, logger category, errors file). */
  name?: string;
  /** Library mode: the app's version for `--version`. Default flagstaff's. */
  version?: string;
  /** Library mode: the description in `--help`. Default: "NAME: a flagstaff app". */
  description?: string;
  /** Library mode: the usage line of `--help`, replacing the one made. Default: made. */
  usage?: string;
  /** Library mode: text at the end of `--help`. Default none. */
  epilog?: string;
  /** Library mode: the app's own command-line options (helper's `add_argument`). Default none. */
  appOptions?: AppOptions;
  /** The built-in actions by name. Default none. */
  builtinActions?: Readonly<Record<string, ActionClass>>;
  /**
   * Loads the built-in actions when a command needs them (main.ts hands in
   * an import of `actions/mod.ts`); used when `builtinActions` is not given.
   */
  loadBuiltinActions?: () => Promise<Readonly<Record<string, ActionClass>>>;
  /** The built-ins' own folder: never scanned as a user's actions folder. */
  builtinActionsDir?: string;
  /** Library mode: the app's own actions folder (beside its `main.ts`), always scanned. */
  appActionsDir?: string;
  /** Library mode: when it fires, `run` stops as on TERM (exit 0). Default: none. */
  signal?: AbortSignal;
  /**
   * The signal listeners installed first thing (`main.ts`, `start()`): `run`
   * takes them; every other command removes them. Default: installed here.
   */
  signals?: SignalInbox;
}

/** What a command runs with. */
export interface CommandContext {
  /** The program (its name is the one messages use: `myapp list`). */
  readonly program: ProgramSpec;
  /** The option values, by long name. */
  readonly values: Readonly<Record<string, OptionValue | undefined>>;
  /** The positional arguments. */
  readonly positionals: readonly string[];
  /** The action groups from the command line. */
  readonly actions: CliActions;
  /** The schedule groups from the command line (`--every`, `--cron`), unchecked. */
  readonly schedules: readonly CliSchedule[];
  /** The app's own options, parsed and typed (library mode). */
  readonly appArgs: AppArgs;
  /** What main.ts or start() handed in. */
  readonly options: CliOptions;
  /** The signal listeners (only `run` keeps them). */
  readonly inbox: SignalInbox;
  /** The whole argv (`--daemon` starts itself again with it). */
  readonly argv: readonly string[];
}

/** A string option's value. */
export function stringOf(context: CommandContext, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === "string" ? value : undefined;
}

/** A flag's value (`--no-x` gives false). */
export function flagOf(context: CommandContext, name: string): boolean | undefined {
  const value = context.values[name];
  return typeof value === "boolean" ? value : undefined;
}

/**
 * Reads the config named by `-c`, or the built-in default, and notes
 * whether its default actions folder exists ({@link noteActionsDir}): every
 * command reads its config before any privilege drop.
 */
export async function readConfig(
  context: CommandContext,
  options: { forStart?: boolean } = {},
): Promise<Config> {
  const file = stringOf(context, "config");
  const { defaultConfig, loadConfig } = await import("../config/config.ts");
  if (!file) return noteActionsDir(context, defaultConfig());
  await trustConfig(file);
  return noteActionsDir(context, await loadConfig(file, { forStart: options.forStart }));
}

/** Default actions folders looked at before a privilege drop and found missing. */
const missingBeforeDrop = new Set<string>();

/**
 * Looks, as the process is now (before the privilege drop, as root), at the
 * default actions folder of `config` (`actions/` beside it; not one given by
 * `--actions-dir`) and notes when it is missing: after a drop to a user who
 * may not look there, it is then known to be absent, and skipped without a
 * warning. Returns `config`.
 */
export async function noteActionsDir(context: CommandContext, config: Config): Promise<Config> {
  if (stringOf(context, "actions-dir")) return config;
  const folder = defaultActionsDir(config);
  try {
    await Deno.lstat(folder);
    missingBeforeDrop.delete(folder);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) missingBeforeDrop.add(folder);
  }
  return config;
}

/** `actions/` beside the config (in the working directory without one), absolute. */
function defaultActionsDir(config: Config): string {
  return resolve(configDir(config), "actions");
}

/**
 * As root, a config file chooses the code flagstaff runs (its controller,
 * its actions): it must be one that only root can change, as code must
 * (`codeTrustProblem`). A missing file is left to the loader's message.
 *
 * @throws {FlagstaffError} `config_invalid` naming the file and why.
 */
export async function trustConfig(file: string): Promise<void> {
  const { codeTrustProblem } = await import("../runtime/code_trust.ts");
  const { resolve } = await import("node:path");
  const path = resolve(file);
  if (!(await Deno.lstat(path).then(() => true, () => false))) return;
  let problem: string | undefined;
  try {
    problem = await codeTrustProblem(path);
  } catch (error) {
    if (error instanceof FlagstaffError && error.code === "permission") {
      throw new FlagstaffError(
        "permission",
        `Cannot tell whether flagstaff runs as root before reading config "${file}": run deno with --allow-ffi`,
        { cause: error },
      );
    }
    throw error;
  }
  if (problem) {
    throw new FlagstaffError(
      "config_invalid",
      `Refusing config "${file}" as root: ${problem} (a config chooses the code flagstaff runs: ` +
        "as root, it must be a file that only root can change)",
    );
  }
}

/**
 * The `--pidfile` given, with `..` resolved as written (`/tmp/link/../x.pid`
 * is `/tmp/x.pid`, not where the kernel would go through the link): the
 * path the trust checks walk is then the path that is opened.
 */
export function pidfileOption(context: CommandContext): string | undefined {
  const given = stringOf(context, "pidfile");
  return given?.split("/").includes("..") ? resolve(given) : given;
}

/** The folder a config's relative paths are relative to. */
export function configDir(config: Config): string {
  return config.file ? dirname(config.file) : Deno.cwd();
}

/**
 * Builds the registry loader: built-ins, the app's own actions folder, the
 * actions folder (`--actions-dir`, else `actions/` beside the config), the
 * config's `Actions`. Every action is loaded, used or not: a broken one is
 * an error (as `list` and `check` say).
 */
export function registryFor(context: CommandContext): (config: Config) => Promise<ActionRegistry> {
  return async (config) => {
    const registry = await bareRegistry(context, config);
    const problems = [...(await registry.problems()).values()];
    if (problems.length === 1) throw problems[0];
    if (problems.length > 1) throw new AggregateError(problems, "Several actions cannot be loaded");
    return registry;
  };
}

/**
 * The registry without loading the modules (for `check` and `list`, which
 * report); `warn` says a skipped folder (default: logged).
 */
export async function bareRegistry(
  context: CommandContext,
  config: Config,
  warn?: (message: string) => void,
): Promise<ActionRegistry> {
  const { loadActionRegistry } = await import("../runtime/action_registry.ts");
  const actionsDir = stringOf(context, "actions-dir");
  const { options } = context;
  return await loadActionRegistry({
    builtins: options.builtinActions ?? await options.loadBuiltinActions?.(),
    actionsDirs: [
      ...(options.appActionsDir ? [{ path: options.appActionsDir, required: false }] : []),
      actionsDir ? { path: actionsDir, required: true } : {
        path: join(configDir(config), "actions"),
        required: false,
        missingBeforeDrop: missingBeforeDrop.has(defaultActionsDir(config)),
      },
    ],
    skipDirs: options.builtinActionsDir ? [options.builtinActionsDir] : [],
    warn,
    configActions: {
      actions: config.actions,
      baseDir: configDir(config),
      origins: await actionsOrigins(config),
    },
  });
}

/** Where each `Actions` entry is given: `app.yml line 3 (Actions.greet)`. */
async function actionsOrigins(config: Config): Promise<Record<string, string>> {
  const names = Object.keys(config.actions);
  if (!config.file || names.length === 0) return {};
  const origins = await keyOrigins(config.file, names.map((name) => ["Actions", name]));
  return Object.fromEntries(names.map((name, i) => [name, origins[i]]));
}

/** The controller to run, where it comes from, and the app's name. */
export interface LoadedController {
  /** The class, when there is a controller. */
  controller?: ControllerClass;
  /** Where it came from, for `check`. */
  source?: string;
  /** The app's name: logger category, errors file. */
  name: string;
}

/** The app's name when no controller names it: the config's stem, the controller's, or "flagstaff". */
export function appName(context: CommandContext, config: Config, specifier?: string): string {
  return context.options.name ??
    (config.file ? stem(config.file) : specifier ? stem(specifier) : "flagstaff");
}

/**
 * The name `run` gives the app (logger category, errors file, default state
 * folder), without loading anything: library mode's name (or its class's),
 * else the config file's stem, the controller's (`--controller`, then
 * `Application.controller`), or `flagstaff`.
 */
export function runName(context: CommandContext, config: Config): string {
  const { options } = context;
  if (options.controller) return options.name ?? options.controller.name;
  return appName(context, config, stringOf(context, "controller") ?? config.application.controller);
}

/**
 * The schedules' state folder: `Daemon.state_dir`, else the default for the
 * app's name ({@link runName}) as this process is now (call it before the
 * privilege drop, as `run` does, so `status` finds the same folder);
 * undefined when no rule gives one (not root, no `HOME`).
 */
export async function stateDirFor(
  context: CommandContext,
  config: Config,
): Promise<string | undefined> {
  const found = await stateDirOrProblem(context, config);
  return "dir" in found ? found.dir : undefined;
}

/** {@link stateDirFor}, with why there is none (`problem`, a message) instead of undefined. */
export async function stateDirOrProblem(
  context: CommandContext,
  config: Config,
): Promise<{ dir: string } | { problem: string }> {
  if (config.daemon.state_dir) return { dir: config.daemon.state_dir };
  const { defaultStateDir } = await import("../schedules/state_dir.ts");
  let euid = -1; // Without libc (no --allow-ffi): taken as not root.
  try {
    euid = (await import("../os/own_file.ts")).effectiveUid();
  } catch {
    // The folder for a user, then.
  }
  try {
    return {
      dir: defaultStateDir(runName(context, config), {
        env: {
          STATE_DIRECTORY: env("STATE_DIRECTORY"),
          XDG_STATE_HOME: env("XDG_STATE_HOME"),
          HOME: env("HOME"),
        },
        euid,
      }),
    };
  } catch (error) {
    return { problem: messageOf(error) };
  }
}

/**
 * Loads the controller: library mode's class, else `--controller` or
 * `Application.controller` (a path relative to the config's folder, or on the
 * command line to the working directory; or a URL, with its integrity pin).
 */
export async function loadControllerFor(
  context: CommandContext,
  config: Config,
): Promise<LoadedController> {
  const { options } = context;
  const name = runName(context, config);
  if (options.controller) {
    return { controller: options.controller, source: `class ${options.controller.name}`, name };
  }
  const given = stringOf(context, "controller");
  const specifier = given ?? config.application.controller;
  if (!specifier) return { name };
  const baseDir = given ? Deno.cwd() : configDir(config);
  const { loadController } = await import("../runtime/loader.ts");
  const integrity = given ? undefined : config.application.controller_integrity;
  try {
    return {
      controller: await loadController(specifier, { baseDir, integrity }),
      source: specifier,
      name,
    };
  } catch (error) {
    if (given || !config.file) throw error;
    throw await namingConfigKey(error, specifier, config.file);
  }
}

/**
 * A controller error when the config named the controller: the message names
 * the file, line and key, as the config's other errors and the actions'
 * (`Cannot load controller "./c.ts" given by /srv/app.yml line 2
 * (Application.controller): Module not found …`); the code stays the
 * loader's.
 */
async function namingConfigKey(error: unknown, specifier: string, file: string): Promise<unknown> {
  if (!(error instanceof FlagstaffError)) return error;
  const prefix = `Cannot load controller "${specifier}": `;
  if (!error.message.startsWith(prefix)) return error;
  const key = ["Application", "controller"];
  return new FlagstaffError(
    error.code,
    `Cannot load controller "${specifier}" given by ${(await keyOrigins(file, [key]))[0]}: ` +
      error.message.slice(prefix.length),
    { cause: error },
  );
}

/**
 * Where each key is in the config `file`: `/srv/app.yml line 2
 * (Application.controller)`, read once; without the line when the file
 * changed or went away since it was read.
 */
async function keyOrigins(file: string, keys: readonly (readonly string[])[]): Promise<string[]> {
  let position: ((key: readonly string[]) => number) | undefined;
  try {
    const { parseYaml } = await import("../config/_yaml.ts");
    const { MAX_ALIAS_NODES } = await import("../config/config.ts");
    const { source } = await parseYaml(await Deno.readTextFile(file), file, {
      allowEmpty: true,
      maxAliasNodes: MAX_ALIAS_NODES,
    });
    position = (key) => source.position(key, "value").line;
  } catch {
    // The key still says where.
  }
  return keys.map((key) => {
    const line = position?.(key) ?? 0;
    return `${file}${line > 0 ? ` line ${line}` : ""} (${key.join(".")})`;
  });
}

/** `/etc/app.yml` → `app`. */
export function stem(path: string): string {
  const base = basename(new URL(path, "file:///").pathname);
  return base.slice(0, base.length - extname(base).length) || "flagstaff";
}

/** An environment variable, or undefined when it is unset or may not be read. */
export function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
