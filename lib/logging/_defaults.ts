/**
 * The tables the `Logging` section is read with: handler classes, streams,
 * helper's defaults, and small helpers on plain-JS config values.
 *
 * @module
 */

import type { FormatterSection, HandlerSection, LoggerSection, RootSection } from "./section.ts";

/** What a handler does, whatever name its class goes by. */
export type HandlerKind = "stream" | "file" | "rotating_file" | "null";

/** The handler classes, by every name they go by. */
export const HANDLER_CLASSES: Readonly<Record<string, HandlerKind>> = {
  "logging.StreamHandler": "stream",
  console: "stream",
  "logging.FileHandler": "file",
  file: "file",
  "logging.handlers.RotatingFileHandler": "rotating_file",
  rotating_file: "rotating_file",
  "logging.NullHandler": "null",
  null: "null",
};

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
  root: { handlers: [], level: 50 } as RootSection,
};

/** LogTape's meta logger, which flagstaff always routes to stderr. */
export const META_CATEGORY = ["logtape", "meta"];

/**
 * Whether a value is a plain map (not null, not a list).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isMap } from "./_defaults.ts";
 * assert.deepEqual([{}, [], null].map(isMap), [true, false, false]);
 * ```
 */
export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The entries of a map of named things, where an empty list counts as an
 * empty map (helper's `formatters: []`); `undefined` for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { entriesOf } from "./_defaults.ts";
 * assert.deepEqual(entriesOf({ a: 1 }), [["a", 1]]);
 * assert.deepEqual(entriesOf([]), []);
 * assert.equal(entriesOf([1]), undefined);
 * ```
 */
export function entriesOf(value: unknown): [string, unknown][] | undefined {
  if (Array.isArray(value)) return value.length === 0 ? [] : undefined;
  return isMap(value) ? Object.entries(value) : undefined;
}

/**
 * The LogTape category of a dotted Python logger name; helper's own logger
 * `helper` stands for flagstaff's, `flagstaff`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { categoryOf } from "./_defaults.ts";
 * assert.deepEqual(categoryOf("myapp.db"), ["myapp", "db"]);
 * assert.deepEqual(categoryOf("helper.runtime"), ["flagstaff", "runtime"]);
 * ```
 */
export function categoryOf(name: string): string[] {
  const category = name.split(".");
  if (category[0] === "helper") category[0] = "flagstaff";
  return category;
}
