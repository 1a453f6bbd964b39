/**
 * The YAML 1.1 scalar types a config is read with, as helper's PyYAML reads
 * them: js-yaml's `YAML11_SCHEMA` (its nulls, merge keys, binary and
 * collections) with PyYAML's booleans, integers, floats and timestamps, their
 * patterns copied from PyYAML 6's `resolver.py` and their values computed as
 * its `constructor.py` computes them. So `y`, `n`, `08`, `0:30`, `1e3`,
 * `-.5` and `2001-1-5` are strings, as in PyYAML; `0x_` and `2001-13-01`,
 * which PyYAML refuses (ValueError), are problems ({@link implicitProblem}).
 *
 * What JavaScript cannot hold differs: an integer past 2^53 loses precision
 * (PyYAML keeps it exact), a timestamp keeps milliseconds (PyYAML
 * microseconds), and one without a zone is read as UTC (PyYAML: a naive
 * datetime).
 *
 * @module
 */

import type { YamlModule } from "../deps.ts";

/** PyYAML's `bool` pattern: the words true and false, yes and no, on and off, in three cases. */
const BOOLEANS: ReadonlyMap<string, boolean> = new Map(
  [["true", true], ["yes", true], ["on", true], ["false", false], ["no", false], ["off", false]]
    .flatMap(([word, value]) => {
      const text = word as string;
      const cases = [text, text[0].toUpperCase() + text.slice(1), text.toUpperCase()];
      return cases.map((written) => [written, value as boolean] as const);
    }),
);

/** PyYAML's `int` pattern: binary, octal (a leading 0), decimal, hex, base 60; `_` anywhere. */
const INT = new RegExp(
  "^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+" +
    "|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
);

/** PyYAML's `float` pattern: a digit before the point, an exponent only after one and signed. */
const FLOAT = new RegExp(
  "^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?" +
    "|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN))$",
);

/** PyYAML's implicit `timestamp` pattern: `2001-12-14`, or a date (1- or 2-digit month and day) with a time. */
const TIMESTAMP = new RegExp(
  "^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \\t]+)[0-9]{1,2}" +
    ":[0-9]{2}:[0-9]{2}(?:\\.[0-9]*)?(?:[ \\t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$",
);

/** The parts of a timestamp, as PyYAML's constructor reads them (`!!timestamp 2001-1-5` too). */
const TIMESTAMP_PARTS = new RegExp(
  "^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \\t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})" +
    "(?:\\.([0-9]*))?(?:[ \\t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?$",
);

/** What Python's `float()` reads, once PyYAML has removed `_`, lowered it and taken the sign. */
const PYTHON_FLOAT = /^(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?|inf|infinity|nan)$/;

const RADIX_DIGITS: Readonly<Record<number, RegExp>> = {
  2: /^[01]+$/,
  8: /^[0-7]+$/,
  10: /^[0-9]+$/,
  16: /^[0-9a-fA-F]+$/,
};

/** `text` as an integer in `radix`; undefined when it is empty or has another digit. */
function digits(text: string, radix: 2 | 8 | 10 | 16): number | undefined {
  return RADIX_DIGITS[radix].test(text) ? parseInt(text, radix) : undefined;
}

/** `text` without `_`, and its sign: `-1_0` is `[-1, "10"]`. */
function signed(text: string): [number, string] {
  const value = text.replace(/_/g, "");
  const sign = value[0] === "-" ? -1 : 1;
  return [sign, value[0] === "-" || value[0] === "+" ? value.slice(1) : value];
}

/**
 * An integer as PyYAML's `construct_yaml_int` computes it: `0` is 0, then
 * `0b` binary, `0x` hex, a leading `0` octal, `:` base 60, else decimal.
 * Undefined where Python's `int()` fails (`0x_`: no digits).
 */
function integer(text: string): number | undefined {
  const [sign, value] = signed(text);
  let magnitude: number | undefined;
  if (value === "0") magnitude = 0;
  else if (value.startsWith("0b")) magnitude = digits(value.slice(2), 2);
  else if (value.startsWith("0x")) magnitude = digits(value.slice(2), 16);
  else if (value[0] === "0") magnitude = digits(value, 8);
  else if (value.includes(":")) {
    magnitude = 0;
    for (const part of value.split(":")) {
      const n = digits(part, 10);
      magnitude = n === undefined ? undefined : magnitude! * 60 + n;
      if (magnitude === undefined) break;
    }
  } else magnitude = digits(value, 10);
  return magnitude === undefined ? undefined : sign * magnitude + 0; // + 0: no -0.
}

/**
 * A float as PyYAML's `construct_yaml_float` computes it: `.inf`, `.nan`,
 * `:` base 60, else Python's `float()`. Undefined where that fails.
 */
function float(text: string): number | undefined {
  const [sign, value] = signed(text.toLowerCase());
  if (value === ".inf") return sign * Infinity;
  if (value === ".nan") return NaN;
  const parts = value.split(":");
  if (!parts.every((part) => PYTHON_FLOAT.test(part))) return undefined;
  return sign * parts.reduce((sum, part) => sum * 60 + pythonFloat(part), 0);
}

/** Python's `float()` of a part that matches {@link PYTHON_FLOAT}. */
function pythonFloat(part: string): number {
  if (part === "inf" || part === "infinity") return Infinity;
  return part === "nan" ? NaN : Number(part);
}

/** Days in `month` (1-12) of `year`, in the proleptic Gregorian calendar of Python's `datetime`. */
function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2
    ? (leap ? 29 : 28)
    : [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/**
 * A timestamp as PyYAML's `construct_yaml_timestamp` reads it (UTC unless it
 * has a zone), or why Python's `datetime` refuses it.
 */
function timestamp(text: string): Date | { problem: string } | undefined {
  const match = TIMESTAMP_PARTS.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((part) => Number(part));
  if (year < 1) return { problem: "the year must be 1 to 9999" };
  if (month < 1 || month > 12) return { problem: "the month must be 1 to 12" };
  if (day < 1 || day > daysIn(year, month)) {
    return { problem: `the day must be 1 to ${daysIn(year, month)} in that month` };
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (match[4] === undefined) return date;
  if (hour > 23) return { problem: "the hour must be 0 to 23" };
  if (minute > 59) return { problem: "the minute must be 0 to 59" };
  if (second > 59) return { problem: "the second must be 0 to 59" };
  const ms = Math.floor(Number((match[7] ?? "").slice(0, 6).padEnd(6, "0")) / 1000);
  date.setUTCHours(hour, minute, second, ms);
  if (match[9] !== undefined) {
    const offsetMinutes = Number(match[10]) * 60 + Number(match[11] ?? 0);
    if (offsetMinutes >= 24 * 60) return { problem: "the zone's offset must be under 24 hours" };
    date.setTime(date.getTime() - (match[9] === "-" ? -1 : 1) * offsetMinutes * 60_000);
  }
  return date;
}

/**
 * Why PyYAML refuses a plain, untagged scalar that looks like an integer or
 * a timestamp (Python's `int()` or `datetime` raise); undefined for any
 * other text, which has a value (its type's, or a string's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { implicitProblem } from "./_yaml11.ts";
 * assert.equal(implicitProblem("2001-12-14"), undefined);
 * assert.equal(implicitProblem("2001-1-5"), undefined); // a string, as in PyYAML
 * assert.equal(
 *   implicitProblem("2001-13-01"),
 *   "expected a date or timestamp, got 2001-13-01: the month must be 1 to 12 (quote it for a string)",
 * );
 * assert.equal(
 *   implicitProblem("0x_"),
 *   "expected an integer, got 0x_: it has no digits (quote it for a string)",
 * );
 * ```
 */
export function implicitProblem(text: string): string | undefined {
  if (INT.test(text) && integer(text) === undefined) {
    return `expected an integer, got ${text}: it has no digits (quote it for a string)`;
  }
  if (!TIMESTAMP.test(text)) return undefined;
  const value = timestamp(text);
  return value && "problem" in value
    ? `expected a date or timestamp, got ${text}: ${value.problem} (quote it for a string)`
    : undefined;
}

/** The schema for configs, built from the loaded js-yaml module. */
export function configSchema(yaml: YamlModule): InstanceType<YamlModule["Schema"]> {
  const { defineScalarTag, YAML11_SCHEMA } = yaml;
  const NOT_RESOLVED: YamlModule["NOT_RESOLVED"] = yaml.NOT_RESOLVED;
  const digitChars = [..."0123456789"];
  /** A value, or NOT_RESOLVED for undefined. */
  const or = <T>(value: T | undefined) => value === undefined ? NOT_RESOLVED : value;
  return YAML11_SCHEMA.withTags(
    defineScalarTag<null>("tag:yaml.org,2002:null", {
      implicit: true,
      implicitFirstChars: ["", "~", "n", "N"],
      // PyYAML's `!!null` ignores its text: `!!null x` is null.
      resolve: (text, explicit) =>
        explicit || ["", "~", "null", "Null", "NULL"].includes(text) ? null : NOT_RESOLVED,
      identify: (value) => value === null,
    }),
    defineScalarTag<boolean>("tag:yaml.org,2002:bool", {
      implicit: true,
      implicitFirstChars: [..."yYnNtTfFoO"],
      // `!!bool` reads its text in any case, as PyYAML's `bool_values[value.lower()]`.
      resolve: (text, explicit) =>
        or(explicit ? BOOLEANS.get(text.toLowerCase()) : BOOLEANS.get(text)),
      identify: (value) => typeof value === "boolean",
    }),
    defineScalarTag<number>("tag:yaml.org,2002:int", {
      implicit: true,
      implicitFirstChars: ["-", "+", ...digitChars],
      resolve: (text, explicit) => or(explicit || INT.test(text) ? integer(text) : undefined),
      identify: (value) => Number.isInteger(value),
    }),
    defineScalarTag<number>("tag:yaml.org,2002:float", {
      implicit: true,
      implicitFirstChars: ["-", "+", ".", ...digitChars],
      resolve: (text, explicit) => or(explicit || FLOAT.test(text) ? float(text) : undefined),
      identify: (value) => typeof value === "number",
    }),
    defineScalarTag<Date>("tag:yaml.org,2002:timestamp", {
      implicit: true,
      implicitFirstChars: digitChars,
      resolve(text, explicit) {
        const value = explicit || TIMESTAMP.test(text) ? timestamp(text) : undefined;
        return value instanceof Date ? value : NOT_RESOLVED;
      },
      identify: (value) => value instanceof Date,
    }),
  );
}
