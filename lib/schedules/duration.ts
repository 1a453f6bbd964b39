/**
 * Durations in schedule configs (`every:`, `jitter:`): a number of seconds
 * (`90`, `1.5`) or numbers with units (`30s`, `5m`, `1h`, `1d`, `1h30m`,
 * `250ms`), parsed into whole milliseconds.
 *
 * Errors are {@link FlagstaffError}s with code `config_invalid` whose message
 * is an issue text (`expected …, got …`) for the config loader to place at
 * the key's file, line and column.
 *
 * @module
 */

import { describeValue, FlagstaffError } from "../core/errors.ts";

/** Milliseconds per unit, longest first (the order units must appear in). */
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/** A unit of {@link UNIT_MS}. */
type Unit = keyof typeof UNIT_MS;

/** What every duration error message says is expected. */
export const DURATION_EXPECTED: string =
  "a duration such as 90 (seconds), 1.5, 30s, 5m, 1h, 1d or 1h30m (units d, h, m, s, ms)";

/** One `<number><unit>` part, e.g. `1.5h`. */
const PART = /(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)/y;

/**
 * Parses a duration into whole milliseconds (rounded to the nearest one).
 *
 * A YAML number or a plain numeric string is seconds (`90`, `1.5`, `"90"`).
 * A string may instead chain `<number><unit>` parts, longest unit first, each
 * unit at most once, optionally separated by spaces: `1d`, `1h30m`,
 * `1h 30m`, `2.5s`, `250ms`. Units are lower case: `d` (days of 24 hours,
 * not calendar days), `h`, `m` (minutes), `s`, `ms`.
 *
 * @param value The config value (a number or a string).
 * @returns Milliseconds, a positive safe integer.
 * @throws {FlagstaffError} `config_invalid`, with an issue text naming what
 *   was found: not a number or string, empty, zero or negative, not finite,
 *   shorter than 1 ms, longer than `Number.MAX_SAFE_INTEGER` ms, an unknown
 *   or upper-case unit, a repeated or out-of-order unit, or a stray character.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDurationMs } from "./duration.ts";
 * assert.equal(parseDurationMs(90), 90_000);
 * assert.equal(parseDurationMs("1.5"), 1500);
 * assert.equal(parseDurationMs("5m"), 300_000);
 * assert.equal(parseDurationMs("1h30m"), 5_400_000);
 * assert.throws(() => parseDurationMs("5x"), /unknown unit "x"/);
 * assert.throws(() => parseDurationMs(0), /must be positive/);
 * ```
 */
export function parseDurationMs(value: unknown): number {
  if (typeof value === "number") return checkMs(value * 1000, value);
  if (typeof value !== "string") fail(value);
  const text = value.trim();
  if (text === "") fail(value, "it is empty");
  if (text.startsWith("-")) fail(value, "a duration must be positive");
  if (/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return checkMs(Number(text) * 1000, value);
  let totalMs = 0;
  let previous: Unit | undefined;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const match = PART.exec(text);
    if (!match) fail(value, `unexpected "${text.slice(at)}"`);
    const [, digits, unit] = match;
    if (unit === "") fail(value, `"${digits}" has no unit (only a whole duration may omit it)`);
    if (!isUnit(unit)) {
      const hint = isUnit(unit.toLowerCase()) ? `; units are lower case` : "";
      fail(value, `unknown unit "${unit}"${hint}`);
    }
    if (previous !== undefined && UNIT_MS[unit] >= UNIT_MS[previous]) {
      fail(
        value,
        unit === previous
          ? `unit "${unit}" is repeated`
          : `unit "${unit}" comes after "${previous}" (longest unit first)`,
      );
    }
    previous = unit;
    totalMs += Number(digits) * UNIT_MS[unit];
    while (text[PART.lastIndex] === " ") PART.lastIndex++;
  }
  return checkMs(totalMs, value);
}

/**
 * Formats milliseconds as the shortest duration {@link parseDurationMs}
 * reads back to the same value: `90000` → `1m30s`, `1500` → `1s500ms`.
 *
 * @param ms Milliseconds, a non-negative integer; fractions are rounded.
 * @returns The duration text, `0s` for zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./duration.ts";
 * assert.equal(formatDuration(5_400_000), "1h30m");
 * assert.equal(formatDuration(86_400_000), "1d");
 * assert.equal(formatDuration(1500), "1s500ms");
 * ```
 */
export function formatDuration(ms: number): string {
  let left = Math.round(ms);
  if (!(left > 0)) return "0s";
  let text = "";
  for (const [unit, unitMs] of Object.entries(UNIT_MS)) {
    const count = Math.floor(left / unitMs);
    if (count > 0) text += `${count}${unit}`;
    left -= count * unitMs;
  }
  return text;
}

/**
 * The shortest `every:` period, in milliseconds: 10 ms, as `wake_interval`'s
 * 0.01 s. Each run is a unit on the one queue and its timer wakes a little
 * early (`EARLY_WAKE_MS` in `schedule_source.ts`), so a shorter period would
 * keep a core busy.
 */
export const MIN_EVERY_MS = 10;

/**
 * Parses an `every:` period: a duration ({@link parseDurationMs}) of at least
 * {@link MIN_EVERY_MS}.
 *
 * @param value The config value or command-line word.
 * @returns Milliseconds, at least {@link MIN_EVERY_MS}.
 * @throws {FlagstaffError} `config_invalid`, as {@link parseDurationMs}, or
 *   when the period is shorter than 10 ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEveryMs } from "./duration.ts";
 * assert.equal(parseEveryMs("10ms"), 10);
 * assert.throws(() => parseEveryMs("5ms"), /shorter than 10ms, the shortest period/);
 * ```
 */
export function parseEveryMs(value: unknown): number {
  const ms = parseDurationMs(value);
  if (ms < MIN_EVERY_MS) {
    fail(value, `it is shorter than ${formatDuration(MIN_EVERY_MS)}, the shortest period`);
  }
  return ms;
}

function isUnit(unit: string): unit is Unit {
  return Object.hasOwn(UNIT_MS, unit);
}

function checkMs(ms: number, value: unknown): number {
  if (Number.isNaN(ms)) fail(value);
  if (ms <= 0) fail(value, "a duration must be positive");
  if (!Number.isFinite(ms)) fail(value, "it is not finite");
  const rounded = Math.round(ms);
  if (rounded < 1) fail(value, "it is shorter than 1 ms");
  if (rounded > Number.MAX_SAFE_INTEGER) fail(value, "it is too long");
  return rounded;
}

function fail(value: unknown, why?: string): never {
  const found = typeof value === "string" ? JSON.stringify(value) : describeValue(value);
  throw new FlagstaffError(
    "config_invalid",
    `expected ${DURATION_EXPECTED}, got ${found}${why ? `: ${why}` : ""}`,
  );
}
