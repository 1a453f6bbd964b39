/**
 * Options several commands share, written once.
 *
 * @module
 */

import type { AppOptions } from "../runtime/controller.ts";
import type { OptionSpec } from "./spec.ts";

/** `-c, --config <file>` for `run` and `check`. */
export const CONFIG: OptionSpec = {
  long: "config",
  short: "c",
  value: "file",
  description:
    "YAML config file (sections Application, Daemon, Logging, Signals, Schedules, Actions)",
};

/** `-v, --verbose`: counted. */
export const VERBOSE: OptionSpec = {
  long: "verbose",
  short: "v",
  repeat: "count",
  description: "log more; repeat for more (-vv)",
};

/** `-q, --quiet`: flagman's meaning. */
export const QUIET: OptionSpec = {
  long: "quiet",
  short: "q",
  description: "log only critical messages; overrides --verbose",
};

/** `--actions-dir <dir>`. */
export const ACTIONS_DIR: OptionSpec = {
  long: "actions-dir",
  value: "dir",
  description:
    "folder of action modules (default: actions/ beside the config, or in the working directory)",
};

/** `--controller <module>` (tool mode only). */
export const CONTROLLER: OptionSpec = {
  long: "controller",
  value: "module",
  description: "controller module, a path or URL (overrides Application.controller)",
};

/** `-c` and `--pidfile` of the commands that operate a running instance. */
export const INSTANCE_OPTIONS: readonly OptionSpec[] = [
  {
    long: "config",
    short: "c",
    value: "file",
    description: "the config whose Daemon.pidfile names the instance",
  },
  {
    long: "pidfile",
    value: "file",
    description: "the instance's pidfile (overrides the config's)",
  },
];

/** The options `run` and `check` share; `--controller` only in tool mode. */
export function configOptions(library: boolean): OptionSpec[] {
  return [CONFIG, VERBOSE, QUIET, ACTIONS_DIR, ...(library ? [] : [CONTROLLER])];
}

/** An app's own options as option specs, for parsing and help. */
export function appOptionSpecs(options: AppOptions = {}): OptionSpec[] {
  return Object.entries(options).map(([long, spec]) => ({
    long,
    short: spec.short,
    value: spec.type === "boolean" ? undefined : spec.value ?? spec.type,
    description: spec.description,
    // Text quoted, numbers as they are: (default: "fast"), (default: 8080).
    defaultText: spec.default === undefined || spec.type === "boolean"
      ? undefined
      : spec.type === "string"
      ? JSON.stringify(String(spec.default))
      : String(spec.default),
  }));
}

/** Verbosity for logging: +1 per -v; -q means only critical. */
export function verbosityOf(verbose: number, quiet: boolean): number {
  return quiet ? -Infinity : verbose;
}
