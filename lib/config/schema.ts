/**
 * The config schema's building blocks: a section is a table of rows, one per
 * key ({@link KeyRow}: kind, default, example, doc), and {@link checkSection}
 * interprets a table against a section's value. A row's kind
 * ({@link KeyKind}) gives its type and unit for the docs and checks a value;
 * the common kinds are in `key_kinds.ts` (`seconds`, `flag`, `text`,
 * `pathText`), special ones (umask, user and group, action lists, module
 * entries) beside their section's table.
 *
 * The same rows drive the validator, the README's Configuration table (see
 * {@link keyDocs}; `tests/readme_test.ts` compares them) and the commented
 * config `flagstaff new` writes (`scaffold/config_keys.ts`).
 *
 * Every problem is reported through a {@link Report} with the key path it is
 * about; the caller turns the path into file, line and column.
 *
 * @module
 */

import { describeValue } from "../core/errors.ts";

/** A path into the config: section, keys and list indexes, e.g. `["Signals", "usr1", 0]`. */
export type KeyPath = readonly (string | number)[];

/**
 * Records a problem at `path`: `at: "key"` places it on the key (an unknown
 * key), `"value"` (the default) on its value.
 */
export type Report = (path: KeyPath, message: string, at?: "key" | "value") => void;

/** A scalar's text as written in the file (see {@link ConfigSource.scalar}). */
export interface WrittenScalar {
  /** A plain scalar's source text (`0755`, `yes`, `~`), a quoted or block scalar's string. */
  readonly text: string;
  /** Whether it was written plain (unquoted, not a block). */
  readonly plain: boolean;
}

/** What the file itself says, for kinds that read values as written. */
export interface ConfigSource {
  /** 1-based line and column of the key or value at `path` (or its nearest parent); 0, 0 for none. */
  position(path: KeyPath, at: "key" | "value"): { line: number; column: number };
  /** The scalar at `path` as written; undefined when there is no scalar there. */
  scalar(path: KeyPath): WrittenScalar | undefined;
  /** The words at `path` as written: a scalar's, a list of scalars'; none for null; undefined otherwise. */
  words(path: KeyPath): string[] | undefined;
}

/** What a kind's check is given besides the value. */
export interface CheckContext {
  /** The key's path, e.g. `["Daemon", "umask"]`. */
  readonly path: KeyPath;
  /** Where problems go; report at `path` or below it. */
  readonly report: Report;
  /** The whole section as parsed, for a key that depends on another. */
  readonly section: Readonly<Record<string, unknown>>;
  /** The file's syntax tree; undefined for the built-in default config. */
  readonly source?: ConfigSource;
  /** Where `path` is, for messages: `app.yml line 12`. */
  readonly origin: (path: KeyPath) => string;
}

/** A kind of value: how the docs name it and how it is checked. */
export interface KeyKind<T> {
  /** The type, as the docs show it: `number ≥ 0.01`, `string or id`, `octal`. */
  readonly type: string;
  /** The unit, as the docs show it (`seconds`, `path`); none by default. */
  readonly unit?: string;
  /**
   * Checks a value that is present (possibly null): returns what the config
   * keeps, or undefined to leave the key out (then its row's default
   * applies), after reporting why when the value is wrong.
   */
  readonly check: (value: unknown, context: CheckContext) => T | undefined;
}

/** One key of a section: its kind, default and docs. */
export interface KeyRow<T> extends KeyKind<T> {
  /** The value when the key is missing, or its value is left out. */
  readonly default?: T;
  /** Without a `default`: what a missing key means, as markdown (`none`, `the user's`). */
  readonly absent?: string;
  /** A YAML line using the key, valid as it stands where possible: `wake_interval: 0.5`. */
  readonly example: string;
  /** What the key does, as markdown: the README's "meaning" column. */
  readonly doc: string;
}

/** One row of the README's Configuration table: the keys it documents and markdown cells. */
export interface ConfigKeyDoc {
  /** The keys, e.g. `["Daemon.umask"]`; several when they share a row. */
  readonly keys: readonly string[];
  /** The type column. */
  readonly type: string;
  /** The unit column; empty when none. */
  readonly unit: string;
  /** The default column, markdown: `` `60` ``, `none`, or empty. */
  readonly default: string;
  /** The example column, markdown: `` `wake_interval: 0.5` `` or prose. */
  readonly example: string;
  /** The meaning column, markdown. */
  readonly doc: string;
}

/** What a section does with a key that has no row. */
export type OtherKeys =
  /** An error, with this message (placed on the key). */
  | { readonly kind: "refused"; readonly message: (key: string, known: string[]) => string }
  /** Kept untouched (the app's own keys), documented by `doc`. */
  | { readonly kind: "kept"; readonly doc: ConfigKeyDoc }
  /** A name the user chooses (`name` must match), checked by `row`; `label` names it in docs. */
  | {
    readonly kind: "named";
    readonly label: string;
    readonly name: RegExp;
    readonly nameMessage: (key: string) => string;
    readonly row: KeyRow<unknown>;
  };

/** A section's table. */
export interface SectionSchema {
  /** The section's name: `Daemon`. */
  readonly name: string;
  /** Its keys, in the order messages list them. */
  readonly keys: Readonly<Record<string, KeyRow<unknown>>>;
  /** What any other key is. */
  readonly others: OtherKeys;
}

/** The keys of `T` without its index signature: `keyof` the declared fields only. */
export type KnownKeys<T> = keyof {
  [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K];
};

/**
 * The table a section type `C` asks for: one row per field, of the field's
 * type; a field that is never undefined needs a row with a `default`. Use it
 * as `{ ... } satisfies SectionRows<DaemonConfig>`: a field without a row, or
 * a row without a field, is then a type error.
 */
export type SectionRows<C> = {
  readonly [K in KnownKeys<C>]-?: undefined extends C[K] ? KeyRow<Exclude<C[K], undefined>>
    : KeyRow<C[K]> & { readonly default: C[K] };
};

/**
 * Checks a section's value against its table, reporting every problem: a
 * value that is not a map, an unknown or misnamed key, each row's checks.
 * Returns what the config keeps, keys in the order written, then missing
 * keys' defaults in table order: a wrong value is left out or at its default.
 * A missing or null section is an empty map. `context.at` is the map's path
 * (default `[schema.name]`; `["Schedules", 0]` for a list's entry).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSection, type SectionSchema } from "./schema.ts";
 * import { flag, seconds } from "./key_kinds.ts";
 * const schema: SectionSchema = {
 *   name: "Daemon",
 *   keys: {
 *     stop_timeout: { ...seconds(0.001), default: 10, example: "stop_timeout: 5", doc: "…" },
 *     detach: { ...flag, example: "detach: true", doc: "…" },
 *   },
 *   others: { kind: "refused", message: (key) => `unknown key "${key}"` },
 * };
 * const problems: string[] = [];
 * const context = {
 *   report: (path: readonly (string | number)[], message: string) =>
 *     problems.push(`${path.join(".")}: ${message}`),
 *   origin: () => "<default>",
 * };
 * const out = checkSection(schema, { stop_timeout: 0, detach: true, colour: "red" }, context);
 * assert.deepEqual(out, { stop_timeout: 10, detach: true });
 * assert.deepEqual(problems, [
 *   'Daemon.colour: unknown key "colour"',
 *   "Daemon.stop_timeout: expected a positive number of seconds, got 0",
 * ]);
 * ```
 */
export function checkSection(
  schema: SectionSchema,
  value: unknown,
  context: Omit<CheckContext, "path" | "section"> & { readonly at?: KeyPath },
): Record<string, unknown> {
  const { keys, others } = schema;
  const base = context.at ?? [schema.name];
  const section = sectionMap(value, base, context.report);
  const known = Object.keys(keys);
  const out: Record<string, unknown> = {};
  const rowAt = (key: string): KeyRow<unknown> | undefined => {
    if (Object.hasOwn(keys, key)) return keys[key];
    if (others.kind !== "named") return undefined;
    if (others.name.test(key)) return others.row;
    context.report([...base, key], others.nameMessage(key), "key");
    return undefined;
  };
  // Unknown keys first, then each key's checks, each in the order written.
  if (others.kind === "refused") {
    for (const key of Object.keys(section)) {
      if (!known.includes(key)) context.report([...base, key], others.message(key, known), "key");
    }
  }
  for (const [key, given] of Object.entries(section)) {
    const row = rowAt(key);
    if (row === undefined) {
      if (others.kind === "kept") out[key] = given;
      continue;
    }
    const kept = row.check(given, { ...context, path: [...base, key], section }) ?? row.default;
    if (kept !== undefined) out[key] = kept;
  }
  for (const [key, row] of Object.entries(keys)) {
    if (!Object.hasOwn(out, key) && row.default !== undefined) out[key] = row.default;
  }
  return out;
}

/**
 * The README rows of a section's table, in table order: keys sharing one
 * row object share one doc row; then the doc of its other keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyDocs } from "./schema.ts";
 * import { flag } from "./key_kinds.ts";
 * const row = { ...flag, absent: "`false`", example: "detach: true", doc: "detach" };
 * const docs = keyDocs({
 *   name: "Daemon",
 *   keys: { detach: row },
 *   others: { kind: "refused", message: () => "" },
 * });
 * assert.deepEqual(docs, [{
 *   keys: ["Daemon.detach"],
 *   type: "boolean",
 *   unit: "",
 *   default: "`false`",
 *   example: "`detach: true`",
 *   doc: "detach",
 * }]);
 * ```
 */
export function keyDocs(schema: SectionSchema): ConfigKeyDoc[] {
  const groups = new Map<KeyRow<unknown>, string[]>();
  for (const [key, row] of Object.entries(schema.keys)) {
    groups.set(row, [...groups.get(row) ?? [], `${schema.name}.${key}`]);
  }
  const docs = [...groups].map(([row, keys]) => rowDoc(keys, row));
  const { others } = schema;
  if (others.kind === "kept") docs.push(others.doc);
  if (others.kind === "named") docs.push(rowDoc([`${schema.name}.${others.label}`], others.row));
  return docs;
}

/** The doc row of `row`, documenting `keys`. */
function rowDoc(keys: string[], row: KeyRow<unknown>): ConfigKeyDoc {
  return {
    keys,
    type: row.type,
    unit: row.unit ?? "",
    default: row.default === undefined ? row.absent ?? "" : `\`${row.default}\``,
    example: `\`${row.example}\``,
    doc: row.doc,
  };
}

/**
 * A section's value as a map: missing or null is empty; anything else that
 * is not a map is reported at the section and counts as empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sectionMap } from "./schema.ts";
 * const problems: string[] = [];
 * assert.deepEqual(sectionMap(null, "Daemon", (_, message) => problems.push(message)), {});
 * assert.deepEqual(sectionMap([1], "Daemon", (_, message) => problems.push(message)), {});
 * assert.deepEqual(problems, ["expected a map, got a list"]);
 * ```
 */
export function sectionMap(
  value: unknown,
  name: string | KeyPath,
  report: Report,
): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (isPlainObject(value)) return value;
  report(typeof name === "string" ? [name] : name, `expected a map, got ${describeValue(value)}`);
  return {};
}

/**
 * Whether `value` is a map (an object that is not a list or a date).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPlainObject } from "./schema.ts";
 * assert.deepEqual([isPlainObject({}), isPlainObject([]), isPlainObject(null)], [true, false, false]);
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/**
 * Whether `value` is a string of at least one character.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isNonEmptyString } from "./schema.ts";
 * assert.deepEqual([isNonEmptyString("a"), isNonEmptyString(""), isNonEmptyString(1)], [true, false, false]);
 * ```
 */
export function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}
