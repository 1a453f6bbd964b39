/**
 * Validation of the `Logging` section, driven by one table per kind of map
 * (the section, a formatter, each handler class, a logger): each key with
 * the check of its value. A map's unknown keys are reported first, then its
 * keys in table order, which is also the order "expected:" lists them in.
 *
 * @module
 */

import { describeValue } from "../core/errors.ts";
import {
  categoryOf,
  HANDLER_CLASSES,
  handlerKind,
  HELPER_DEFAULTS,
  META_CATEGORY,
  parseLevel,
  STREAMS,
} from "./_tables.ts";
import { checkStrftime, parsePythonFormat } from "./_python_format.ts";

/**
 * Receives one problem of a `Logging` section. `keyPath` is relative to the
 * section, e.g. `["handlers", "file", "class"]`.
 */
export type ReportIssue = (keyPath: (string | number)[], message: string) => void;

type Path = (string | number)[];

/** What the checks of one section share: the report, and the names it defines. */
interface Context {
  report: ReportIssue;
  formatters: Set<string>;
  handlers: Set<string>;
}

/** Checks one value found at `path`. */
type Check = (value: unknown, path: Path, context: Context) => void;

/** A map's keys, in order, each with its check; `"required"` keys must be present. */
type Table = Readonly<Record<string, Check | readonly [Check, "required"]>>;

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A check that reports `expected …, got …` when `test` fails. */
function is(test: (value: unknown) => boolean, expected: string): Check {
  return (value, path, { report }) => {
    if (!test(value)) report(path, `expected ${expected}, got ${describeValue(value)}`);
  };
}

/** A string whose `problems` are each reported at its path. */
function text(expected: string, problems: (value: string) => string[]): Check {
  return (value, path, context) => {
    is((value) => typeof value === "string", expected)(value, path, context);
    if (typeof value === "string") {
      for (const problem of problems(value)) context.report(path, problem);
    }
  };
}

const boolean = is((value) => typeof value === "boolean", "true or false");
const count = is(
  (value) => Number.isSafeInteger(value) && Number(value) >= 0,
  "a whole number, 0 or more",
);

const level: Check = (value, path, { report }) => {
  if (parseLevel(value) !== undefined) return;
  const expected = typeof value === "number"
    ? "a level number from 0 to 50"
    : "one of DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET";
  report(path, `expected ${expected}, got ${describeValue(value)}`);
};

const filterList: Check = (value, path, { report }) => {
  if (!Array.isArray(value)) return report(path, `expected a list, got ${describeValue(value)}`);
  value.forEach((name, index) =>
    report(
      [...path, index],
      `filter ${describeValue(name)} is not defined (filters are not supported)`,
    )
  );
};

const FORMATTER: Table = {
  format: text("a format string", (format) => parsePythonFormat(format).problems),
  datefmt: (value, path, context) =>
    value === null || text("a strftime pattern", checkStrftime)(value, path, context),
  style: (value, path, { report }) => {
    if (value === "%") return;
    const only = value === "{" || value === "$" ? " (only %-style formats are supported)" : "";
    report(path, `expected "%", got ${describeValue(value)}${only}`);
  },
  validate: boolean,
  class: is((value) => value === "logging.Formatter", '"logging.Formatter"'),
};

const HANDLER_CLASS: Check = (value, path, { report }) => {
  if (handlerKind(value)) return;
  report(
    path,
    value === "logging.handlers.SysLogHandler" || value === "syslog"
      ? `handler class "${value}" is not supported: Deno reaches the syslog socket only with ` +
        `--unstable-net; use "logging.StreamHandler" (under systemd, stderr goes to the journal) ` +
        `or "logging.FileHandler"`
      : `unknown handler class ${describeValue(value)} (supported: ${
        Object.keys(HANDLER_CLASSES).join(", ")
      })`,
  );
};

const COMMON: Table = {
  class: [HANDLER_CLASS, "required"],
  level,
  formatter: (value, path, { report, formatters }) => {
    if (typeof value !== "string") {
      report(path, `expected a formatter name, got ${describeValue(value)}`);
    } else if (!formatters.has(value)) report(path, `formatter "${value}" is not defined`);
  },
  filters: filterList,
  debug_only: boolean,
};

const FILE: Table = {
  ...COMMON,
  filename: [is((value) => typeof value === "string" && value !== "", "a file path"), "required"],
  mode: is((value) => value === "a" || value === "w", '"a" or "w"'),
  encoding: is(
    (value) => value === null || (typeof value === "string" && /^utf-?8$/i.test(value)),
    '"utf-8" (the only encoding supported)',
  ),
  delay: boolean,
};

/** Each handler class's keys. */
const HANDLERS: Readonly<Record<string, Table>> = {
  stream: {
    ...COMMON,
    stream: is(
      (value) => typeof value === "string" && Object.hasOwn(STREAMS, value),
      '"ext://sys.stderr" or "ext://sys.stdout"',
    ),
  },
  file: FILE,
  rotating_file: { ...FILE, maxBytes: count, backupCount: count },
  null: COMMON,
};

const LOGGER: Table = {
  level,
  handlers: (value, path, { report, handlers }) => {
    if (!Array.isArray(value)) {
      return report(path, `expected a list of handler names, got ${describeValue(value)}`);
    }
    value.forEach((name, index) => {
      if (typeof name !== "string") {
        report([...path, index], `expected a handler name, got ${describeValue(name)}`);
      } else if (!handlers.has(name)) report([...path, index], `handler "${name}" is not defined`);
    });
  },
  filters: filterList,
  propagate: boolean,
};

/** A map of named things (an empty list counts as an empty map, as helper's `formatters: []`). */
function named(what: string, each: Check): Check {
  return (value, path, context) => {
    if (!isMap(value) && !(Array.isArray(value) && value.length === 0)) {
      return context.report(path, `expected a map of ${what}, got ${describeValue(value)}`);
    }
    for (const [name, item] of Object.entries(value)) each(item, [...path, name], context);
  };
}

/** A logger: its name, then its keys. */
function logger(seen: Map<string, string>): Check {
  return (value, path, context) => {
    const name = String(path.at(-1));
    const category = categoryOf(name).join(".");
    if (name.split(".").includes("")) {
      return context.report(path, `expected a dotted logger name, got "${name}"`);
    }
    if (seen.has(category)) {
      const other = seen.get(category);
      context.report(
        path,
        `"${name}" and "${other}" name the same logger, "${category}"; keep one`,
      );
    }
    seen.set(category, name);
    if (category === META_CATEGORY.join(".")) {
      context.report(path, `logger "${name}" is reserved for LogTape's own diagnostics`);
    }
    map(LOGGER)(value, path, context);
  };
}

/** The section's own keys, in the order they are checked. */
const SECTION: Table = {
  version: is((value) => value === 1, "1"),
  formatters: named("formatters", map(FORMATTER)),
  filters: named(
    "filters",
    (_value, path, { report }) =>
      report(path, "filters are not supported; use a logger or handler level instead"),
  ),
  handlers: named("handlers", (value, path, context) => {
    const className = isMap(value) ? value.class : undefined;
    const kind = handlerKind(className);
    // Unknown keys are reported only once the class, and so its keys, are known.
    checkMap(
      value,
      kind ? HANDLERS[kind] : COMMON,
      path,
      context,
      kind ? ` for "${className}"` : null,
    );
  }),
  loggers: (value, path, context) => named("loggers", logger(new Map()))(value, path, context),
  root: map(LOGGER),
  disable_existing_loggers: boolean,
  incremental: (value, path, context) =>
    value === true
      ? context.report(
        path,
        "expected false, got true (incremental configuration is not supported)",
      )
      : boolean(value, path, context),
};

/** A check of a map against a table. */
function map(table: Table): Check {
  return (value, path, context) => checkMap(value, table, path, context);
}

/**
 * Checks a map against a table. `unknownKeys` is added to each unknown key's
 * message (`for "console"`); `null` leaves unknown keys unreported.
 */
function checkMap(
  value: unknown,
  table: Table,
  path: Path,
  context: Context,
  unknownKeys: string | null = "",
): void {
  if (!isMap(value)) return context.report(path, `expected a map, got ${describeValue(value)}`);
  const keys = Object.keys(table);
  for (const key of unknownKeys === null ? [] : Object.keys(value)) {
    if (keys.includes(key)) continue;
    context.report(
      [...path, key],
      key === "()"
        ? "custom factories are not supported"
        : `unknown key "${key}"${unknownKeys} (expected: ${keys.join(", ")})`,
    );
  }
  for (const [key, entry] of Object.entries(table)) {
    const [check, required] = typeof entry === "function" ? [entry] : entry;
    if (value[key] !== undefined) check(value[key], [...path, key], context);
    else if (required) context.report(path, `missing key "${key}"`);
  }
}

/**
 * Checks a plain-JS `Logging` value (as parsed from YAML) and reports every
 * problem through `report`, with the key path relative to the section. It
 * never throws for bad input. References are resolved against helper's
 * defaults too, so `formatter: verbose` is defined. A stray top-level map of
 * formatter keys (helper's documented example has `verbose:` there) is
 * ignored, as helper ignores it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkLoggingSection } from "./check_section.ts";
 * const issues: string[] = [];
 * checkLoggingSection(
 *   { loggers: { myapp: { level: "LOUD", handlers: ["file"] } } },
 *   (keyPath, message) => issues.push(`${keyPath.join(".")}: ${message}`),
 * );
 * assert.deepEqual(issues, [
 *   'loggers.myapp.level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET, got "LOUD"',
 *   'loggers.myapp.handlers.0: handler "file" is not defined',
 * ]);
 * ```
 */
export function checkLoggingSection(section: unknown, report: ReportIssue): void {
  const namesIn = (key: "formatters" | "handlers") =>
    new Set([
      ...Object.keys(HELPER_DEFAULTS[key]),
      ...isMap(section) && isMap(section[key]) ? Object.keys(section[key]) : [],
    ]);
  const isStrayFormatter = (value: unknown) =>
    isMap(value) && Object.hasOwn(value, "format") &&
    Object.keys(value).every((key) => Object.hasOwn(FORMATTER, key));
  const kept = isMap(section)
    ? Object.fromEntries(
      Object.entries(section).filter(([key, value]) =>
        Object.hasOwn(SECTION, key) || !isStrayFormatter(value)
      ),
    )
    : section;
  checkMap(kept, SECTION, [], {
    report,
    formatters: namesIn("formatters"),
    handlers: namesIn("handlers"),
  });
}
