/**
 * The YAML config: helper's case-sensitive sections `Application`, `Daemon`
 * and `Logging`, and flagstaff's `Signals`, `Schedules` and `Actions`. Loading returns one
 * deep-frozen {@link Config} value or a {@link ConfigError} listing every
 * problem with file, line, column and key.
 *
 * YAML is read as YAML 1.1, as helper's PyYAML reads it, so helper configs
 * port unchanged: `yes`/`no`/`on`/`off` are booleans (`y` and `n` are
 * strings) and `022` is octal. Keys that are one key once built (`on` and
 * `'true'`) are duplicates, an error.
 * Where a value is text rather than data, it is read as written instead:
 * action arguments in `Signals` (`0755` stays `"0755"`), `Daemon.umask` (read
 * as octal from its text) and `Daemon.user`/`Daemon.group` (`user: 0100` is
 * uid 100, and must exist: `--allow-ffi`).
 *
 * Every relative path in a config is relative to the config file's folder:
 * `Daemon.pidfile`, `Daemon.state_dir` and each `Logging.handlers.*.filename` are made absolute
 * when the file is loaded (paths on the command line stay relative to the
 * working directory).
 *
 * Aliases (`*name`) may be used any number of times, but may repeat at most
 * {@link MAX_ALIAS_NODES} nodes in all: an "alias bomb" (billion laughs) is
 * refused, in time and memory linear in the file's size. An alias must follow
 * its anchor and may not sit inside the node it names.
 *
 * Durations are in seconds, finite, and at least {@link MIN_SECONDS}.
 *
 * The modules of `lib/config/`:
 *
 * - `config.ts` (this one): the entry points, and path resolution.
 * - `schema.ts`: what a table is (a row per key: kind, default, example,
 *   doc), the interpreter that checks a section against its table, the
 *   common kinds (seconds, boolean, string), and the README rows.
 * - `application.ts`, `daemon.ts`, `signals.ts`, `actions.ts`: one table
 *   each, with the kinds only that section uses; `daemon.ts` also looks up
 *   users and groups and checks log folders against the privilege drop.
 * - `sections.ts`: the top level, its sections in order (`Logging` is
 *   checked by `lib/logging/`), and the README's Configuration table.
 * - `_yaml.ts`: parsing, line and column of a key, source texts;
 *   `_yaml_tree.ts` its syntax tree, `_yaml_checks.ts` the checks on it
 *   (unique keys, tags, merge keys, aliases), `_yaml11.ts` PyYAML's scalar
 *   types.
 * - `_modules.ts`: module paths, URLs and integrity pins.
 *
 * A new key is one row in its section's table (plus, for `Application` and
 * `Daemon`, the typed field the compiler then asks for); see `daemon.ts`.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { ConfigError, type ConfigIssue, FlagstaffError } from "../core/errors.ts";
import type { LoggingSection } from "../logging/logging.ts";
import { parseYaml } from "./_yaml.ts";
import { APPLICATION_KEYS } from "./application.ts";
import { DAEMON_KEYS } from "./daemon.ts";
import { checkAccounts, checkDropWrites, checkPidfileFolder } from "./system_checks.ts";
import { isNonEmptyString, isPlainObject, type KeyPath, type Report } from "./schema.ts";
import { checkSections, type ConfigSections } from "./sections.ts";
import { MIN_TIMEOUT_S } from "./signals.ts";
import { loadCronCalendars } from "../schedules/calendar.ts";

export { DEFAULT_WAKE_INTERVAL_S } from "./application.ts";
export type { ApplicationConfig } from "./application.ts";
export { DEFAULT_STOP_TIMEOUT_S } from "./daemon.ts";
export type { DaemonConfig } from "./daemon.ts";
export type { ActionUse } from "./signals.ts";
export type { ScheduleConfig, SchedulesConfig } from "./schedules.ts";
export type { ConfigKeyDoc } from "./schema.ts";
export { configKeyDocs, SECTIONS } from "./sections.ts";
export type { ConfigSections } from "./sections.ts";
export { ACTION_SIGNALS } from "../core/signal_table.ts";
export type { ActionSignal } from "../core/signal_table.ts";

/**
 * The smallest value, in seconds, of each key given in seconds, from the
 * tables: `wake_interval` 0.01 (see `application.ts` for why), `stop_timeout`
 * and an action's `timeout` 0.001, the timer resolution.
 */
export const MIN_SECONDS: Readonly<Record<"wake_interval" | "stop_timeout" | "timeout", number>> = {
  wake_interval: APPLICATION_KEYS.wake_interval.minS,
  stop_timeout: DAEMON_KEYS.stop_timeout.minS,
  timeout: MIN_TIMEOUT_S,
};

/** How many nodes aliases (`*name`) may repeat in one config, in all. */
export const MAX_ALIAS_NODES = 100_000;

/** A validated config; read it through the runtime each time, never cache it. */
export interface Config extends ConfigSections {
  /** Absolute path of the file it was loaded from; undefined for the built-in default. */
  readonly file?: string;
}

/** Options for {@link loadConfig}, {@link parseConfig} and {@link validateConfigText}. */
export interface LoadConfigOptions {
  /**
   * Whether an empty file (nothing but whitespace and comments, or a null
   * document) is allowed, as a config with every key at its default. Default
   * true, for a first start. A reload passes false: a file an editor has just
   * truncated is then an error and the running config stays.
   */
  allowEmpty?: boolean;
  /**
   * Whether `Daemon.pidfile`'s folder must exist, as it must for `run` to
   * take the pidfile. Default false: `status`, `stop` and the other commands
   * that only read the pidfile say "not running" when it is missing. `check`
   * and `run` pass true.
   */
  forStart?: boolean;
}

/** A config and every problem found in it, from {@link validateConfigText}. */
export interface ConfigValidation {
  /**
   * The config, best effort: each invalid value is left out or at its
   * default, so that the rest can still be checked. Use it only when
   * `issues` is empty.
   */
  readonly config: Config;
  /** Every problem found, in file order; empty when the config is valid. */
  readonly issues: readonly ConfigIssue[];
}

/**
 * The config used when no file is given: every key at its default.
 *
 * @returns A frozen config with no `file`, every section at its defaults and no Logging section.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultConfig } from "./config.ts";
 * assert.equal(defaultConfig().application.wake_interval, 60);
 * ```
 */
export function defaultConfig(): Config {
  // Every section missing: nothing to parse, so yaml is not loaded.
  const config = checkSections(undefined, {
    report(path, message) {
      throw new Error(`Bug: the default config is invalid at "${path.join(".")}": ${message}`);
    },
    origin: () => "<default>",
  });
  return deepFreeze({ ...config, file: undefined });
}

/**
 * Reads and validates a config file.
 *
 * @param file The config file; relative to the working directory.
 * @param options `allowEmpty` (default true): whether a file with no content means every default.
 * @returns The frozen config; its paths are resolved against the file's folder.
 * @throws {ConfigError} `config_not_found` when the file is missing or
 *   unreadable, `config_invalid` for YAML or schema errors (every one of
 *   them), an unknown `Daemon.user` or `Daemon.group`, or an empty file when
 *   `options.allowEmpty` is false.
 * @throws {FlagstaffError} `permission` when Deno may not read it, or may not
 *   call libc (`--allow-ffi`) to look up `Daemon.user`/`Daemon.group`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig } from "./config.ts";
 * import { ConfigError } from "../core/errors.ts";
 * const file = await Deno.makeTempFile({ suffix: ".yml" });
 * await Deno.writeTextFile(file, "Application:\n  wake_interval: 0.5\n");
 * const config = await loadConfig(file);
 * assert.equal(config.application.wake_interval, 0.5);
 * await Deno.writeTextFile(file, "# emptied by an editor\n");
 * await assert.rejects(() => loadConfig(file, { allowEmpty: false }), ConfigError);
 * await Deno.remove(file);
 * ```
 */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<Config> {
  return orThrow(await validateConfigFile(file, options));
}

/**
 * Reads and validates a config file like {@link loadConfig}, but returns
 * every problem with a best-effort config instead of throwing them, so that a
 * check can go on to the controller and the actions.
 *
 * @param file The config file; relative to the working directory.
 * @param options As {@link loadConfig}.
 * @returns The best-effort config (use it only when `issues` is empty) and every problem found.
 * @throws {ConfigError} `config_not_found` when the file is missing or
 *   unreadable; `config_invalid` when it is not UTF-8.
 * @throws {FlagstaffError} `permission` as {@link loadConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateConfigFile } from "./config.ts";
 * const file = await Deno.makeTempFile({ suffix: ".yml" });
 * await Deno.writeTextFile(file, "Daemon:\n  stop_timeout: soon\n");
 * const { config, issues } = await validateConfigFile(file);
 * assert.equal(issues[0].key, "Daemon.stop_timeout");
 * assert.equal(config.daemon.stop_timeout, 10);
 * await Deno.remove(file);
 * ```
 */
export async function validateConfigFile(
  file: string,
  options: LoadConfigOptions = {},
): Promise<ConfigValidation> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw readError(file, error);
  }
  return await validateConfigText(text, resolve(file), options);
}

/**
 * Validates config text. `file` names it in errors and anchors relative paths.
 *
 * @param text The YAML text.
 * @param file The file it came from (absolute, or relative to the working directory).
 * @param options As {@link loadConfig}.
 * @returns The frozen config.
 * @throws {ConfigError} listing every problem found, as {@link loadConfig}.
 * @throws {FlagstaffError} `permission` as {@link loadConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * import { ConfigError } from "../core/errors.ts";
 * await assert.rejects(() => parseConfig("Daemon:\n  pidfile: 42\n", "app.yml"), (error) => {
 *   assert.ok(error instanceof ConfigError);
 *   assert.equal(error.line, 2);
 *   assert.equal(error.key, "Daemon.pidfile");
 *   return true;
 * });
 * ```
 */
export async function parseConfig(
  text: string,
  file: string,
  options: LoadConfigOptions = {},
): Promise<Config> {
  return orThrow(await validateConfigText(text, file, options));
}

/**
 * Validates config text in one pass and returns every problem with a
 * best-effort config, instead of throwing: the one validation behind
 * {@link loadConfig}, {@link parseConfig} and `flagstaff check`. `file` names
 * the text in issues and anchors relative paths (its folder; the working
 * directory when `file` is empty).
 *
 * @param text The YAML text.
 * @param file The file it came from, or `""` for none.
 * @param options As {@link loadConfig}.
 * @returns The best-effort config (wrong values left at their defaults; use it
 *   only when `issues` is empty) and every problem, sorted by line and column.
 * @throws {FlagstaffError} `permission` without `--allow-ffi` when the text
 *   names a `Daemon.user` or `Daemon.group` to look up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateConfigText } from "./config.ts";
 * const { config, issues } = await validateConfigText(
 *   "Application:\n  wake_interval: 1e-9\nDaemon:\n  umask: 089\n  pidfile: run/app.pid\n",
 *   "/srv/app/app.yml",
 * );
 * assert.deepEqual(issues.map((issue) => [issue.line, issue.key]), [
 *   [2, "Application.wake_interval"],
 *   [4, "Daemon.umask"],
 * ]);
 * assert.equal(config.daemon.pidfile, "/srv/app/run/app.pid");
 * assert.equal(config.application.wake_interval, 60);
 * ```
 */
export async function validateConfigText(
  text: string,
  file: string,
  options: LoadConfigOptions = {},
): Promise<ConfigValidation> {
  const name = file || "<default>";
  const { root, source, issues } = await parseYaml(text, name, {
    allowEmpty: options.allowEmpty !== false,
    maxAliasNodes: MAX_ALIAS_NODES,
  });
  const done = (config: ConfigSections | undefined): ConfigValidation => {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    const whole = config ?? withoutFile(defaultConfig());
    return { config: deepFreeze({ ...whole, file: file || undefined }), issues };
  };
  if (issues.length > 0) return done(undefined);
  const report: Report = (path, message, at = "value") => {
    const { line, column } = source.position(path, at);
    issues.push({ file: name, line, column, key: path.join("."), message });
  };
  const origin = (path: KeyPath) => `${name} line ${source.position(path, "value").line}`;
  // Cron fields are checked by croner, synchronously: load it first when a schedule may use it.
  if (isPlainObject(root) && Array.isArray(root.Schedules)) await loadCronCalendars();
  const config = checkSections(root, { report, source, origin });
  await checkAccounts(config.daemon, report);
  const resolved = resolvePaths(config, file);
  if (issues.length === 0) await checkDropWrites(resolved.daemon, resolved.logging, report);
  if (issues.length === 0 && options.forStart) checkPidfileFolder(resolved.daemon, report);
  return done(resolved);
}

/** The config of `validation`, or a ConfigError with its issues. */
function orThrow(validation: ConfigValidation): Config {
  if (validation.issues.length > 0) throw new ConfigError(validation.issues);
  return validation.config;
}

function withoutFile(config: Config): ConfigSections {
  const { file: _, ...rest } = config;
  return rest;
}

/**
 * Makes every path in the config absolute, relative to the config file's
 * folder (the working directory when there is no file): `Daemon.pidfile`,
 * `Daemon.state_dir` and each `Logging.handlers.*.filename`. Values shared through aliases are
 * copied, never changed in place.
 */
function resolvePaths(config: ConfigSections, file: string): ConfigSections {
  let base: string | undefined;
  const absolute = (path: string) => {
    // `..` resolved as written (`/tmp/link/../x` is `/tmp/x`): the path checked is the path opened.
    if (path.startsWith("/")) return resolve(path);
    base ??= file ? dirname(resolve(file)) : Deno.cwd();
    return resolve(base, path);
  };
  let { daemon, logging } = config;
  if (daemon.pidfile !== undefined) daemon = { ...daemon, pidfile: absolute(daemon.pidfile) };
  if (daemon.state_dir !== undefined) {
    daemon = { ...daemon, state_dir: absolute(daemon.state_dir) };
  }
  const handlers = logging?.handlers;
  if (logging && isPlainObject(handlers)) {
    const copy: Record<string, unknown> = {};
    for (const [name, handler] of Object.entries(handlers)) {
      copy[name] = isPlainObject(handler) && isNonEmptyString(handler.filename)
        ? { ...handler, filename: absolute(handler.filename) }
        : handler;
    }
    logging = { ...logging, handlers: copy } as LoggingSection;
  }
  return { ...config, daemon, logging };
}

function readError(file: string, error: unknown): Error {
  const issue = (message: string): ConfigIssue => ({ file, line: 0, column: 0, key: "", message });
  if (error instanceof Deno.errors.NotFound) {
    return new ConfigError([issue("no such file")], { code: "config_not_found", cause: error });
  }
  if (error instanceof Deno.errors.NotCapable) {
    return new FlagstaffError(
      "permission",
      `Cannot read config "${file}": run deno with --allow-read`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new ConfigError([issue("permission denied")], {
      code: "config_not_found",
      cause: error,
    });
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return new ConfigError([issue("is a directory, not a file")], {
      code: "config_not_found",
      cause: error,
    });
  }
  if (error instanceof TypeError) {
    return new ConfigError([issue("not valid UTF-8 text")], {
      code: "config_invalid",
      cause: error,
    });
  }
  return new ConfigError([issue(error instanceof Error ? error.message : String(error))], {
    code: "config_not_found",
    cause: error,
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
