/**
 * The YAML 1.1 scalar types a config is read with: js-yaml's
 * `YAML11_SCHEMA` (its booleans, nulls, merge keys and collections) with
 * the numbers and timestamps of the `yaml` package's YAML 1.1 schema, which
 * flagstaff used before: `1e-9` and `08` are numbers, `2001-1-5` is a date.
 * Configs read exactly as they did.
 *
 * @module
 */

import type { YamlModule } from "../deps.ts";

/** `[-+]` sign, then digits with `:` groups of base 60 (`1:30` is 90). */
function sexagesimal(text: string): number {
  const sign = text[0] === "-" ? -1 : 1;
  const digits = text[0] === "-" || text[0] === "+" ? text.slice(1) : text;
  return sign *
    digits.replace(/_/g, "").split(":").reduce((sum, part) => sum * 60 + Number(part), 0);
}

/** An integer in `radix` after `prefix` characters (past a sign), `_` ignored. */
function integer(text: string, prefix: number, radix: number): number {
  const signed = text[0] === "-" || text[0] === "+";
  const value = parseInt(text.slice(prefix + (signed ? 1 : 0)).replace(/_/g, ""), radix);
  return text[0] === "-" ? -value : value;
}

const INTEGERS: readonly [RegExp, (text: string) => number][] = [
  [/^[-+]?0b[0-1_]+$/, (text) => integer(text, 2, 2)],
  [/^[-+]?0[0-7_]+$/, (text) => integer(text, 1, 8)],
  [/^[-+]?[0-9][0-9_]*$/, (text) => integer(text, 0, 10)],
  [/^[-+]?0x[0-9a-fA-F_]+$/, (text) => integer(text, 2, 16)],
  [/^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+$/, sexagesimal],
];

const FLOATS: readonly [RegExp, (text: string) => number][] = [
  [
    /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
    (text) =>
      text.slice(-3).toLowerCase() === "nan"
        ? NaN
        : text[0] === "-"
        ? Number.NEGATIVE_INFINITY
        : Number.POSITIVE_INFINITY,
  ],
  [/^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/, (t) => parseFloat(t.replace(/_/g, ""))],
  [/^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/, (text) => parseFloat(text.replace(/_/g, ""))],
  [/^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/, sexagesimal],
];

const TIMESTAMP = new RegExp(
  "^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})" +
    "(?:(?:t|T|[ \\t]+)([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2}(\\.[0-9]+)?)" +
    "(?:[ \\t]*(Z|[-+][012]?[0-9](?::[0-9]{2})?))?)?$",
);

/** A timestamp (UTC unless it has a zone), or undefined when `text` is not one. */
function timestamp(text: string): Date | undefined {
  const match = text.match(TIMESTAMP);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const ms = match[7] ? Number((match[7] + "00").slice(1, 4)) : 0;
  let time = Date.UTC(year, month - 1, day, hour || 0, minute || 0, second || 0, ms);
  const zone = match[8];
  if (zone && zone !== "Z") {
    let offset = sexagesimal(zone);
    if (Math.abs(offset) < 30) offset *= 60;
    time -= 60_000 * offset;
  }
  return new Date(time);
}

/** The first of `forms` whose pattern `text` matches, resolved; else undefined. */
function first(
  forms: readonly [RegExp, (text: string) => number][],
  text: string,
): number | undefined {
  for (const [pattern, resolve] of forms) if (pattern.test(text)) return resolve(text);
  return undefined;
}

/** The schema for configs, built from the loaded js-yaml module. */
export function configSchema(yaml: YamlModule): InstanceType<YamlModule["Schema"]> {
  const { defineScalarTag, YAML11_SCHEMA } = yaml;
  const digits = [..."0123456789"];
  return YAML11_SCHEMA.withTags(
    defineScalarTag<number>("tag:yaml.org,2002:int", {
      implicit: true,
      implicitFirstChars: ["-", "+", ...digits],
      resolve: (text) => first(INTEGERS, text) ?? yaml.NOT_RESOLVED,
      identify: (value) => Number.isInteger(value),
    }),
    defineScalarTag<number>("tag:yaml.org,2002:float", {
      implicit: true,
      implicitFirstChars: ["-", "+", ".", ...digits],
      resolve: (text) => first(FLOATS, text) ?? yaml.NOT_RESOLVED,
      identify: (value) => typeof value === "number",
    }),
    defineScalarTag<Date>("tag:yaml.org,2002:timestamp", {
      implicit: true,
      implicitFirstChars: digits,
      resolve: (text) => timestamp(text) ?? yaml.NOT_RESOLVED,
      identify: (value) => value instanceof Date,
    }),
  );
}
