/**
 * The common kinds of config value, each a {@link KeyKind} that gives its
 * type and unit for the docs and checks a value: {@link seconds},
 * {@link flag}, {@link text} and {@link pathText}. Special kinds (umask,
 * user and group, action lists, module entries) are beside their section's
 * table; the tables themselves are read by `schema.ts`'s `checkSection()`.
 *
 * @module
 */

import { describeValue } from "../core/errors.ts";
import { isNonEmptyString, type KeyKind } from "./schema.ts";

/**
 * A duration: a positive, finite number of seconds, at least `minS`. A null
 * value is a missing one (its row's default applies).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seconds } from "./key_kinds.ts";
 * const kind = seconds(0.01);
 * assert.equal(kind.type, "number ≥ 0.01");
 * const problems: string[] = [];
 * const context = {
 *   path: ["Application", "wake_interval"],
 *   report: (_: unknown, message: string) => problems.push(message),
 *   section: {},
 *   origin: () => "",
 * };
 * assert.equal(kind.check(0.5, context), 0.5);
 * assert.equal(kind.check(0.001, context), undefined);
 * assert.deepEqual(problems, ["expected at least 0.01 seconds, got 0.001"]);
 * ```
 */
export function seconds(minS: number): KeyKind<number> & { readonly minS: number } {
  return {
    type: `number ≥ ${minS}`,
    unit: "seconds",
    minS,
    check(value, { path, report }) {
      if (value === null) return undefined;
      const problem = secondsProblem(value, minS);
      if (problem) report(path, problem);
      return problem ? undefined : value as number;
    },
  };
}

/**
 * Why `value` is not a duration of at least `minS` seconds; undefined when it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { secondsProblem } from "./key_kinds.ts";
 * assert.equal(secondsProblem(0, 1), "expected a positive number of seconds, got 0");
 * assert.equal(secondsProblem(0.5, 1), "expected at least 1 seconds, got 0.5");
 * assert.equal(secondsProblem(2, 1), undefined);
 * assert.equal(
 *   secondsProblem("1e-3", 0.001),
 *   'expected a positive number of seconds, got "1e-3" (YAML 1.1 reads 1e-3 as text, as PyYAML does: write 1.0e-3)',
 * );
 * ```
 */
export function secondsProblem(value: unknown, minS: number): string | undefined {
  if (!isPositiveNumber(value)) {
    return `expected a positive number of seconds, got ${describeValue(value)}${textHint(value)}`;
  }
  return value < minS ? `expected at least ${minS} seconds, got ${value}` : undefined;
}

/**
 * For a string JavaScript would read as a number but YAML 1.1 reads as text
 * (`1e-9`, `-.5`, `08`: see `_yaml11.ts`), how to write it as a YAML 1.1
 * float; else nothing.
 */
function textHint(value: unknown): string {
  const match = typeof value === "string"
    ? /^([-+]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?)([0-9]+))?$/.exec(value)
    : null;
  if (!match || !/[0-9]/.test(value as string)) return "";
  const [, sign, whole, fraction, expSign, exponent] = match;
  const float = `${sign}${whole.replace(/^0+(?=[0-9])/, "") || "0"}.${fraction || "0"}` +
    (exponent === undefined ? "" : `e${expSign || "+"}${exponent}`);
  return ` (YAML 1.1 reads ${value} as text, as PyYAML does: write ${float})`;
}

/** A boolean: `true`/`false` (or YAML 1.1's `yes`/`no`, `on`/`off`). */
export const flag: KeyKind<boolean> = {
  type: "boolean",
  check(value, { path, report }) {
    if (typeof value === "boolean") return value;
    report(path, `expected true or false, got ${describeValue(value)}`);
    return undefined;
  },
};

/** A non-empty string. */
export const text: KeyKind<string> = {
  type: "string",
  check(value, { path, report }) {
    if (isNonEmptyString(value)) return value;
    report(path, `expected a string, got ${describeValue(value)}`);
    return undefined;
  },
};

/**
 * A file or folder: a non-empty string without control characters. The C
 * library ends a path at a NUL (`/run/a.pid\0/../../etc/x` opens
 * `/run/a.pid`... or worse, what follows), and a newline or escape in a path
 * is a mistake or a trick: refused, naming the key.
 */
export const pathText: KeyKind<string> = {
  type: "string",
  unit: "path",
  check(value, { path, report }) {
    const problem = isNonEmptyString(value)
      ? pathProblem(value)
      : `expected a string, got ${describeValue(value)}`;
    if (problem) report(path, problem);
    return problem ? undefined : value as string;
  },
};

/**
 * Why `text` cannot be a path: it holds a control character (U+0000 to
 * U+001F, or U+007F); undefined when it has none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathProblem } from "./key_kinds.ts";
 * assert.equal(pathProblem("/run/app.pid"), undefined);
 * assert.equal(
 *   pathProblem("/run/a.pid\0/../x"),
 *   'expected a path without control characters (such as NUL), got "/run/a.pid\\u0000/../x"',
 * );
 * ```
 */
export function pathProblem(text: string): string | undefined {
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u001f\u007f]/.test(text)
    ? `expected a path without control characters (such as NUL), got ${JSON.stringify(text)}`
    : undefined;
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}
