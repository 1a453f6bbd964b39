/**
 * The tables a `Logging` section is read with: levels, handler classes,
 * streams and helper's defaults.
 *
 * @module
 */

import type { LogLevel } from "../deps.ts";
import type { FormatterSection, HandlerSection, LoggerSection } from "./section.ts";

/** LogTape's levels, lowest first. */
export const LOG_LEVELS: LogLevel[] = ["trace", "debug", "info", "warning", "error", "fatal"];

/** Python's `levelname` of each of {@link LOG_LEVELS}; its `levelno` is 5, 10, 20 … 50. */
export const PYTHON_LEVEL_NAMES = ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

/** Level names a config may use, upper-cased; `null` is `NOTSET`. */
const LEVEL_NAMES: Readonly<Record<string, LogLevel | null>> = {
  ...Object.fromEntries(LOG_LEVELS.map((level, index) => [PYTHON_LEVEL_NAMES[index], level])),
  NOTSET: null,
  WARN: "warning",
  FATAL: "fatal",
};

/**
 * A config level as LogTape's: a Python or LogTape name in any case, or a
 * Python number from 0 to 50 (rounded up to the next level; 1 to 5 is
 * `trace`). Returns `null` for `NOTSET` (0), `undefined` when invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLevel } from "./_tables.ts";
 * assert.deepEqual(["Warn", 25, "NOTSET", "LOUD"].map(parseLevel), ["warning", "warning", null, undefined]);
 * ```
 */
export function parseLevel(level: unknown): LogLevel | null | undefined {
  if (typeof level === "string") {
    const name = level.toUpperCase();
    return Object.hasOwn(LEVEL_NAMES, name) ? LEVEL_NAMES[name] : undefined;
  }
  const number = Number.isInteger(level) ? level as number : -1;
  if (number < 0 || number > 50) return undefined;
  return number === 0 ? null : LOG_LEVELS[number <= 5 ? 0 : Math.ceil(number / 10)];
}

/** The handler classes, by every name they go by. */
export const HANDLER_CLASSES: Readonly<
  Record<string, "stream" | "file" | "rotating_file" | "null">
> = {
  "logging.StreamHandler": "stream",
  console: "stream",
  "logging.FileHandler": "file",
  file: "file",
  "logging.handlers.RotatingFileHandler": "rotating_file",
  rotating_file: "rotating_file",
  "logging.NullHandler": "null",
  null: "null",
};

/** The kind of a handler `class`, or undefined when it is not one. */
export function handlerKind(className: unknown): (typeof HANDLER_CLASSES)[string] | undefined {
  return typeof className === "string" && Object.hasOwn(HANDLER_CLASSES, className)
    ? HANDLER_CLASSES[className]
    : undefined;
}

/** A `StreamHandler`'s `stream` values. */
export const STREAMS: Readonly<Record<string, "stdout" | "stderr">> = {
  "ext://sys.stdout": "stdout",
  "ext://sys.stderr": "stderr",
  stdout: "stdout",
  stderr: "stderr",
};

/** helper 2.5.0's `Config.LOGGING`, which a section is laid over. */
export const HELPER_DEFAULTS = {
  formatters: {
    verbose: {
      datefmt: "%Y-%m-%d %H:%M:%S",
      format: "%(levelname) -10s %(asctime)s %(process)-6d %(processName) -20s " +
        "%(threadName)-12s %(name) -30s %(funcName) -25s L%(lineno)-6d: %(message)s",
    },
  } as Record<string, FormatterSection>,
  handlers: {
    console: { class: "logging.StreamHandler", debug_only: true, formatter: "verbose" },
  } as Record<string, HandlerSection>,
  loggers: {
    helper: { handlers: ["console"], level: "INFO", propagate: true },
  } as Record<string, LoggerSection>,
  root: { handlers: [], level: 50 } as LoggerSection,
};

/** LogTape's meta logger, which flagstaff always routes to stderr. */
export const META_CATEGORY = ["logtape", "meta"];

/**
 * The LogTape category of a dotted Python logger name; helper's own logger
 * `helper` stands for flagstaff's, `flagstaff`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { categoryOf } from "./_tables.ts";
 * assert.deepEqual(categoryOf("helper.runtime"), ["flagstaff", "runtime"]);
 * ```
 */
export function categoryOf(name: string): string[] {
  const category = name.split(".");
  if (category[0] === "helper") category[0] = "flagstaff";
  return category;
}
