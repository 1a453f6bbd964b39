/**
 * Levels: Python's names and numbers, LogTape's names, and the `-v`/`-q` shift.
 *
 * @module
 */

import type { LogLevel } from "../deps.ts";

/** LogTape's levels, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "trace",
  "debug",
  "info",
  "warning",
  "error",
  "fatal",
];

/** Python's `levelname` of each level in {@link LOG_LEVELS} (LogTape's `fatal` is `CRITICAL`). */
export const PYTHON_LEVEL_NAMES = ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

/** Python's `levelno` of each level in {@link LOG_LEVELS}. */
export const PYTHON_LEVEL_NUMBERS = [5, 10, 20, 30, 40, 50];

/** Level names a config may use, upper-cased; `null` is `NOTSET`. */
const LEVEL_NAMES: Readonly<Record<string, LogLevel | null>> = {
  NOTSET: null,
  TRACE: "trace",
  DEBUG: "debug",
  INFO: "info",
  WARN: "warning",
  WARNING: "warning",
  ERROR: "error",
  CRITICAL: "fatal",
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
 * import { parseLevel } from "./_levels.ts";
 * assert.equal(parseLevel("Warn"), "warning");
 * assert.equal(parseLevel(25), "warning");
 * assert.equal(parseLevel("NOTSET"), null);
 * assert.equal(parseLevel("LOUD"), undefined);
 * ```
 */
export function parseLevel(level: unknown): LogLevel | null | undefined {
  if (typeof level === "string") {
    const name = level.toUpperCase();
    return Object.hasOwn(LEVEL_NAMES, name) ? LEVEL_NAMES[name] : undefined;
  }
  if (!Number.isInteger(level) || (level as number) < 0 || (level as number) > 50) return undefined;
  if (level === 0) return null;
  return (level as number) <= 5 ? "trace" : LOG_LEVELS[Math.ceil((level as number) / 10)];
}

/**
 * Moves a level `verbosity` steps toward `trace` (positive, `-v`) or
 * `fatal` (negative, `-q`), stopping at either end.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shiftLevel } from "./_levels.ts";
 * assert.equal(shiftLevel("info", 1), "debug");
 * assert.equal(shiftLevel("error", -3), "fatal");
 * ```
 */
export function shiftLevel(level: LogLevel, verbosity: number): LogLevel {
  const index = LOG_LEVELS.indexOf(level) - Math.trunc(verbosity);
  return LOG_LEVELS[Math.min(LOG_LEVELS.length - 1, Math.max(0, index))];
}
