/**
 * The `Logging` config section: Python's `logging.config.dictConfig` shape,
 * as helper uses it, applied to LogTape.
 *
 * A helper config ports with no edits. As in helper, the section is laid over
 * helper's built-in defaults, name by name: the formatter `verbose`, the
 * handler `console` (stderr, `debug_only`), the logger `helper` at `INFO` to
 * `console` (only when the section has no `root`: a `root` with handlers would
 * otherwise print the runtime's lines twice), and the root logger at
 * `CRITICAL` with no handlers (its keys are overlaid one by one). The logger name `helper` stands for flagstaff's own
 * logger, `flagstaff`, so `loggers: {helper: …}` configures what the runtime
 * logs. A stray mapping of formatter keys at the top level (helper's
 * documented example has `verbose:` there) is ignored, as helper ignores it.
 *
 * | dictConfig | LogTape |
 * |---|---|
 * | logger `myapp.db` | category `["myapp", "db"]`; `root` is `[]` |
 * | logger `level` | a level filter on the category, so it applies to records logged there and below, and never to records from children that set their own level: Python's effective level. No level, or `NOTSET`, inherits |
 * | `propagate: false` | `parentSinks: "override"` |
 * | handler | a sink; its `level` wraps it in a level filter |
 * | formatter | a text formatter compiled from the %-style `format` and `datefmt` (see `_python_format.ts`) |
 * | a record no handler takes | Python's "last resort": `WARNING` and up go to stderr as the bare message |
 *
 * Handler classes:
 *
 * - `logging.StreamHandler` (`console`): `stream` is `ext://sys.stderr`
 *   (default) or `ext://sys.stdout`. Each line is written with `writeSync`, so
 *   no line is lost or reordered at exit.
 * - `logging.FileHandler` (`file`): `filename` (relative to the working
 *   directory), `mode` `a` (default) or `w` (truncated once every handler has
 *   opened, so a failed apply leaves the file alone), `encoding` UTF-8 only,
 *   `delay` (open, and truncate, on the first record; errors then go to
 *   LogTape's meta logger on stderr). Every record is written at once.
 * - `logging.handlers.RotatingFileHandler` (`rotating_file`): also `maxBytes`
 *   and `backupCount`; `app.log` rolls over to `app.log.1` … `app.log.N` as in
 *   Python, before a record would make the file reach `maxBytes`. With either
 *   at 0 it never rolls over, like Python. Sizes count UTF-8 bytes (Python
 *   counts characters), and a single record of `maxBytes` or more rolls over
 *   even an empty file.
 * - `logging.NullHandler` (`null`): drops records.
 * - `logging.handlers.SysLogHandler` is rejected: Deno can reach a datagram
 *   socket (`/dev/log`, UDP 514) only with `--unstable-net`. Log to stderr
 *   instead; under systemd the journal collects it.
 *
 * `debug_only: true` handlers exist only in the foreground; references to them
 * are dropped otherwise. Filters, `incremental: true`, `style` other than `%`
 * and custom factories (`()`) are rejected. `disable_existing_loggers` is
 * accepted and has no effect: configuring replaces the whole LogTape setup.
 * Only handlers that a logger uses are opened.
 *
 * LogTape's own diagnostics (category `["logtape", "meta"]`) go to stderr at
 * `warning` and up.
 *
 * @module
 */

import { configure, loadFileSinks, reset, withFilter } from "../deps.ts";
import type { LoggerConfig, LogLevel, Sink, TextFormatter } from "../deps.ts";
import { describeValue } from "../core/errors.ts";
import { checkStrftime, compilePythonFormat, parsePythonFormat } from "./_python_format.ts";

/**
 * How to apply the `Logging` section.
 *
 * @example
 * ```ts
 * import type { LoggingOptions } from "./logging.ts";
 * const options: LoggingOptions = { foreground: true, verbosity: 1 };
 * ```
 */
export interface LoggingOptions {
  /** True in the foreground; handlers with `debug_only: true` exist only then. */
  foreground: boolean;
  /** Level shift from the CLI: +1 per -v (more verbose), -1 per -q (quieter). Default: 0. */
  verbosity?: number;
  /**
   * Called with each log file's path before it is opened (and before a
   * delayed one is first opened); throw to refuse it. The CLI checks there
   * that the file is not a planted link, FIFO or someone else's file.
   * Default: none.
   */
  prepareFile?: (path: string) => void;
  /**
   * Leave the file handlers out (their records go where the others' go, or
   * to stderr): until privileges are dropped, so that log files are opened by
   * the user flagstaff runs as. Default false.
   */
  withoutFiles?: boolean;
}

/**
 * Receives one problem of a `Logging` section. `keyPath` is relative to the
 * section, e.g. `["handlers", "file", "class"]`.
 *
 * @example
 * ```ts
 * import type { ReportIssue } from "./logging.ts";
 * const issues: string[] = [];
 * const report: ReportIssue = (keyPath, message) => issues.push(`${keyPath.join(".")}: ${message}`);
 * ```
 */
export type ReportIssue = (keyPath: (string | number)[], message: string) => void;

/**
 * A level: a Python name (`DEBUG`, `INFO`, `WARNING`/`WARN`, `ERROR`,
 * `CRITICAL`/`FATAL`, `NOTSET`) or a LogTape one (`trace` … `fatal`), in any
 * case, or a Python level number from 0 to 50.
 *
 * @example
 * ```ts
 * import type { LoggingLevel } from "./logging.ts";
 * const levels: LoggingLevel[] = ["INFO", "warning", 40];
 * ```
 */
export type LoggingLevel = string | number;

/**
 * A formatter: a Python %-style `format` and a `strftime` `datefmt`.
 *
 * @example
 * ```ts
 * import type { FormatterSection } from "./logging.ts";
 * const verbose: FormatterSection = {
 *   format: "%(levelname) -10s %(asctime)s %(name)s: %(message)s",
 *   datefmt: "%Y-%m-%d %H:%M:%S",
 * };
 * ```
 */
export interface FormatterSection {
  /** The line layout. Default: `%(message)s`, as Python's. */
  format?: string;
  /** The `%(asctime)s` layout. Default: Python's `2003-07-08 16:49:45,896`. */
  datefmt?: string | null;
  /** Only `%` is supported. Default: `%`. */
  style?: "%";
  /** Accepted for Python's sake; formats are always checked. */
  validate?: boolean;
  /** Only `logging.Formatter`. Default: `logging.Formatter`. */
  class?: "logging.Formatter";
}

/**
 * What every handler may set.
 *
 * @example
 * ```ts
 * import type { HandlerCommon } from "./logging.ts";
 * const common: HandlerCommon = { level: "INFO", formatter: "verbose", debug_only: true };
 * ```
 */
export interface HandlerCommon {
  /** Lowest level the handler writes. Default: every level. */
  level?: LoggingLevel;
  /** A formatter name. Default: `%(message)s`, as Python's. */
  formatter?: string;
  /** Must be empty: filters are not supported. */
  filters?: string[];
  /** Only in the foreground when true (helper's key). Default: false. */
  debug_only?: boolean;
}

/**
 * A handler writing to stderr or stdout.
 *
 * @example
 * ```ts
 * import type { StreamHandlerSection } from "./logging.ts";
 * const console: StreamHandlerSection = { class: "logging.StreamHandler", stream: "ext://sys.stdout" };
 * ```
 */
export interface StreamHandlerSection extends HandlerCommon {
  /** The handler class. */
  class: "logging.StreamHandler" | "console";
  /** `ext://sys.stderr` or `ext://sys.stdout` (or `stderr`, `stdout`). Default: stderr. */
  stream?: string;
}

/**
 * What both file handlers take.
 *
 * @example
 * ```ts
 * import type { FileOptions } from "./logging.ts";
 * const options: FileOptions = { filename: "app.log", mode: "a", encoding: "utf-8" };
 * ```
 */
export interface FileOptions {
  /** The log file, relative to the working directory. */
  filename: string;
  /** `a` appends, `w` truncates when logging is applied. Default: `a`. */
  mode?: "a" | "w";
  /** Only UTF-8 (`utf-8`, `utf8`, any case). Default: UTF-8. */
  encoding?: string | null;
  /** Open the file on the first record instead of at once. Default: false. */
  delay?: boolean;
}

/**
 * A handler appending to a file.
 *
 * @example
 * ```ts
 * import type { FileHandlerSection } from "./logging.ts";
 * const file: FileHandlerSection = { class: "logging.FileHandler", filename: "/var/log/app.log" };
 * ```
 */
export interface FileHandlerSection extends HandlerCommon, FileOptions {
  /** The handler class. */
  class: "logging.FileHandler" | "file";
}

/**
 * A handler writing to a file that rolls over at a size.
 *
 * @example
 * ```ts
 * import type { RotatingFileHandlerSection } from "./logging.ts";
 * const rotating: RotatingFileHandlerSection = {
 *   class: "logging.handlers.RotatingFileHandler",
 *   filename: "app.log", maxBytes: 1_048_576, backupCount: 5,
 * };
 * ```
 */
export interface RotatingFileHandlerSection extends HandlerCommon, FileOptions {
  /** The handler class. */
  class: "logging.handlers.RotatingFileHandler" | "rotating_file";
  /** Roll over before the file would reach this many bytes; 0 never. Default: 0. */
  maxBytes?: number;
  /** How many old files to keep (`app.log.1` …); 0 never rolls over. Default: 0. */
  backupCount?: number;
}

/**
 * A handler that drops every record.
 *
 * @example
 * ```ts
 * import type { NullHandlerSection } from "./logging.ts";
 * const drop: NullHandlerSection = { class: "logging.NullHandler" };
 * ```
 */
export interface NullHandlerSection extends HandlerCommon {
  /** The handler class. */
  class: "logging.NullHandler" | "null";
}

/**
 * One handler of the `handlers` map.
 *
 * @example
 * ```ts
 * import type { HandlerSection } from "./logging.ts";
 * const handler: HandlerSection = { class: "console", formatter: "verbose" };
 * ```
 */
export type HandlerSection =
  | StreamHandlerSection
  | FileHandlerSection
  | RotatingFileHandlerSection
  | NullHandlerSection;

/**
 * The root logger: where every record ends up unless a logger stops it.
 *
 * @example
 * ```ts
 * import type { RootSection } from "./logging.ts";
 * const root: RootSection = { level: "WARNING", handlers: ["console"] };
 * ```
 */
export interface RootSection {
  /** Lowest level logged by loggers that set none. Default: `CRITICAL`, as helper's. */
  level?: LoggingLevel;
  /** Handler names. Default: none. */
  handlers?: string[];
  /** Must be empty: filters are not supported. */
  filters?: string[];
  /** Accepted (helper's defaults have it) and ignored: the root has no parent. */
  propagate?: boolean;
}

/**
 * A named logger of the `loggers` map.
 *
 * @example
 * ```ts
 * import type { LoggerSection } from "./logging.ts";
 * const helper: LoggerSection = { level: "INFO", handlers: ["console"], propagate: true };
 * ```
 */
export interface LoggerSection {
  /** Lowest level logged here and below. Default: the parent's (Python's `NOTSET`). */
  level?: LoggingLevel;
  /** Handler names. Default: none. */
  handlers?: string[];
  /** Must be empty: filters are not supported. */
  filters?: string[];
  /** Also hand records to the parents' handlers. Default: true. */
  propagate?: boolean;
}

/**
 * The validated `Logging` section. Empty lists stand for empty maps, as
 * helper's documented `formatters: []`.
 *
 * @example
 * ```ts
 * import type { LoggingSection } from "./logging.ts";
 * const section: LoggingSection = {
 *   version: 1,
 *   handlers: { file: { class: "logging.FileHandler", filename: "app.log" } },
 *   loggers: { helper: { level: "INFO", handlers: ["file"] } },
 * };
 * ```
 */
export interface LoggingSection {
  /** Must be 1 when given. */
  version?: 1;
  /** Formatters by name, laid over helper's `verbose`. */
  formatters?: Record<string, FormatterSection> | never[];
  /** Must be empty: filters are not supported. */
  filters?: Record<string, never> | never[];
  /** Handlers by name, laid over helper's `console`. */
  handlers?: Record<string, HandlerSection> | never[];
  /** Loggers by dotted name, laid over helper's `helper`. */
  loggers?: Record<string, LoggerSection> | never[];
  /** The root logger; its keys are laid over helper's root one by one. */
  root?: RootSection;
  /** Accepted and without effect: every apply replaces the whole setup. */
  disable_existing_loggers?: boolean;
  /** Must be false: incremental configuration is not supported. */
  incremental?: false;
}

/** The handler classes, by every name they go by. */
/**
 * Which log files a handler opens again after start-up, in their folder:
 * `"create"` for a `delay: true` file (first opened at the first record),
 * `"rotate"` for a rotating file (renamed, then created anew), or undefined.
 * After a privilege drop, `Daemon.user` must be able to write that folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reopensInFolder } from "./logging.ts";
 * assert.equal(reopensInFolder({ class: "rotating_file", filename: "a.log", maxBytes: 10, backupCount: 2 }), "rotate");
 * assert.equal(reopensInFolder({ class: "logging.FileHandler", filename: "a.log" }), undefined);
 * ```
 */
export function reopensInFolder(handler: unknown): "create" | "rotate" | undefined {
  if (typeof handler !== "object" || handler === null) return undefined;
  const h = handler as Record<string, unknown>;
  const kind = typeof h.class === "string" ? HANDLER_CLASSES[h.class] : undefined;
  if (kind === "rotating_file" && Number(h.maxBytes) > 0 && Number(h.backupCount) > 0) {
    return "rotate";
  }
  if ((kind === "file" || kind === "rotating_file") && h.delay === true) return "create";
  return undefined;
}

const HANDLER_CLASSES: Readonly<Record<string, HandlerKind>> = {
  "logging.StreamHandler": "stream",
  console: "stream",
  "logging.FileHandler": "file",
  file: "file",
  "logging.handlers.RotatingFileHandler": "rotating_file",
  rotating_file: "rotating_file",
  "logging.NullHandler": "null",
  null: "null",
};

type HandlerKind = "stream" | "file" | "rotating_file" | "null";

const COMMON_HANDLER_KEYS = ["class", "level", "formatter", "filters", "debug_only"];
const FILE_KEYS = ["filename", "mode", "encoding", "delay"];
const HANDLER_KEYS: Readonly<Record<HandlerKind, readonly string[]>> = {
  stream: [...COMMON_HANDLER_KEYS, "stream"],
  file: [...COMMON_HANDLER_KEYS, ...FILE_KEYS],
  rotating_file: [...COMMON_HANDLER_KEYS, ...FILE_KEYS, "maxBytes", "backupCount"],
  null: COMMON_HANDLER_KEYS,
};

const SYSLOG_CLASSES = ["logging.handlers.SysLogHandler", "syslog"];

const STREAMS: Readonly<Record<string, "stdout" | "stderr">> = {
  "ext://sys.stdout": "stdout",
  "ext://sys.stderr": "stderr",
  stdout: "stdout",
  stderr: "stderr",
};

const TOP_LEVEL_KEYS = [
  "version",
  "formatters",
  "filters",
  "handlers",
  "loggers",
  "root",
  "disable_existing_loggers",
  "incremental",
];
const FORMATTER_KEYS = ["format", "datefmt", "style", "validate", "class"];
const LOGGER_KEYS = ["level", "handlers", "filters", "propagate"];
const ROOT_KEYS = ["level", "handlers", "filters", "propagate"];

/** Python's level names (and LogTape's, upper-cased); `null` is `NOTSET`. */
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

/** LogTape's levels, lowest first. */
const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warning", "error", "fatal"];

/** Python's `dictConfig` default format for a handler without a formatter. */
const PYTHON_DEFAULT_FORMAT = "%(message)s";

/** The format of the console when there is no `Logging` section (and of LogTape's diagnostics). */
const DEFAULT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s";

/** helper 2.5.0's `Config.LOGGING_FORMAT`. */
const HELPER_FORMAT = "%(levelname) -10s %(asctime)s %(process)-6d %(processName) -20s " +
  "%(threadName)-12s %(name) -30s %(funcName) -25s L%(lineno)-6d: %(message)s";

/** helper 2.5.0's `Config.LOGGING`, which the section is laid over. */
const HELPER_DEFAULTS = {
  formatters: {
    verbose: { datefmt: "%Y-%m-%d %H:%M:%S", format: HELPER_FORMAT },
  } as Record<string, FormatterSection>,
  handlers: {
    console: { class: "logging.StreamHandler", debug_only: true, formatter: "verbose" },
  } as Record<string, HandlerSection>,
  loggers: {
    helper: { handlers: ["console"], level: "INFO", propagate: true },
  } as Record<string, LoggerSection>,
  root: { handlers: [], level: 50 } as RootSection,
};

/** Python logger names that stand for another: helper's own logger is flagstaff's. */
const LOGGER_ALIASES: Readonly<Record<string, string>> = { helper: "flagstaff" };

/** LogTape's meta logger, which flagstaff always routes to stderr. */
const META_CATEGORY = ["logtape", "meta"];

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The entries of a map of named things, where an empty list counts as an empty map. */
function entriesOf(value: unknown): [string, unknown][] | undefined {
  if (Array.isArray(value)) return value.length === 0 ? [] : undefined;
  return isMap(value) ? Object.entries(value) : undefined;
}

/** The LogTape category of a dotted Python logger name. */
function categoryOf(name: string): string[] {
  const category = name.split(".");
  const alias = LOGGER_ALIASES[category[0]];
  if (alias !== undefined) category[0] = alias;
  return category;
}

/** A level as LogTape's, `null` for `NOTSET`, `undefined` when invalid. */
function parseLevel(level: unknown): LogLevel | null | undefined {
  if (typeof level === "string") {
    const name = level.toUpperCase();
    return Object.hasOwn(LEVEL_NAMES, name) ? LEVEL_NAMES[name] : undefined;
  }
  if (typeof level !== "number" || !Number.isInteger(level) || level < 0 || level > 50) {
    return undefined;
  }
  if (level === 0) return null;
  return level <= 5 ? "trace" : LOG_LEVELS[Math.ceil(level / 10)];
}

/** Moves a level `verbosity` steps toward trace (positive) or fatal (negative). */
function shiftLevel(level: LogLevel, verbosity: number): LogLevel {
  const index = LOG_LEVELS.indexOf(level) - Math.trunc(verbosity);
  return LOG_LEVELS[Math.min(LOG_LEVELS.length - 1, Math.max(0, index))];
}

function formatKeys(keys: readonly string[]): string {
  return keys.join(", ");
}

/**
 * Checks a plain-JS `Logging` value (as parsed from YAML) and reports every
 * problem through `report`, with the key path relative to the section. It
 * never throws for bad input. References are resolved against helper's
 * defaults too, so `formatter: verbose` is defined.
 *
 * @example
 * ```ts
 * import { checkLoggingSection } from "./logging.ts";
 * const issues: string[] = [];
 * checkLoggingSection(
 *   { loggers: { myapp: { level: "LOUD", handlers: ["file"] } } },
 *   (keyPath, message) => issues.push(`${keyPath.join(".")}: ${message}`),
 * );
 * console.assert(issues[0] ===
 *   'loggers.myapp.level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET, got "LOUD"');
 * console.assert(issues[1] === 'loggers.myapp.handlers.0: handler "file" is not defined');
 * ```
 */
export function checkLoggingSection(section: unknown, report: ReportIssue): void {
  if (!isMap(section)) {
    report([], `expected a map, got ${describeValue(section)}`);
    return;
  }
  const formatterNames = new Set(Object.keys(HELPER_DEFAULTS.formatters));
  const handlerNames = new Set(Object.keys(HELPER_DEFAULTS.handlers));
  for (const [key, value] of Object.entries(section)) {
    const path = [key];
    switch (key) {
      case "version":
        if (value !== 1) report(path, `expected 1, got ${describeValue(value)}`);
        break;
      case "disable_existing_loggers":
        checkBoolean(value, path, report);
        break;
      case "incremental":
        if (value === true) {
          report(path, "expected false, got true (incremental configuration is not supported)");
        } else checkBoolean(value, path, report);
        break;
      case "filters":
        for (const [name] of namedEntries(value, path, "filters", report)) {
          report([key, name], "filters are not supported; use a logger or handler level instead");
        }
        break;
      case "formatters":
        for (const [name] of namedEntries(value, path, "formatters", report)) {
          formatterNames.add(name);
        }
        break;
      case "handlers":
        for (const [name] of namedEntries(value, path, "handlers", report)) handlerNames.add(name);
        break;
      case "loggers":
      case "root":
        break;
      default:
        if (!isStrayFormatter(value)) {
          report(path, `unknown key "${key}" (expected: ${formatKeys(TOP_LEVEL_KEYS)})`);
        }
    }
  }
  for (const [name, formatter] of entriesOf(section.formatters) ?? []) {
    checkFormatter(formatter, ["formatters", name], report);
  }
  for (const [name, handler] of entriesOf(section.handlers) ?? []) {
    checkHandler(handler, ["handlers", name], formatterNames, report);
  }
  const categories = new Map<string, string>();
  for (const [name, logger] of namedEntries(section.loggers, ["loggers"], "loggers", report)) {
    const path = ["loggers", name];
    if (name.split(".").some((part) => part === "")) {
      report(path, `expected a dotted logger name, got "${name}"`);
      continue;
    }
    const category = categoryOf(name).join(".");
    const other = categories.get(category);
    if (other !== undefined) {
      report(path, `"${name}" and "${other}" name the same logger, "${category}"; keep one`);
    }
    categories.set(category, name);
    if (category === META_CATEGORY.join(".")) {
      report(path, `logger "${name}" is reserved for LogTape's own diagnostics`);
    }
    checkLogger(logger, path, LOGGER_KEYS, handlerNames, report);
  }
  if (section.root !== undefined) {
    checkLogger(section.root, ["root"], ROOT_KEYS, handlerNames, report);
  }
}

/** A top-level map of formatter keys, as helper's documented `verbose:` is; helper ignores it. */
function isStrayFormatter(value: unknown): boolean {
  return isMap(value) && Object.hasOwn(value, "format") &&
    Object.keys(value).every((key) => FORMATTER_KEYS.includes(key));
}

function namedEntries(
  value: unknown,
  path: string[],
  what: string,
  report: ReportIssue,
): [string, unknown][] {
  if (value === undefined) return [];
  const entries = entriesOf(value);
  if (entries === undefined) {
    report(path, `expected a map of ${what}, got ${describeValue(value)}`);
    return [];
  }
  return entries;
}

function checkBoolean(value: unknown, path: (string | number)[], report: ReportIssue): void {
  if (typeof value !== "boolean") {
    report(path, `expected true or false, got ${describeValue(value)}`);
  }
}

function checkLevel(value: unknown, path: (string | number)[], report: ReportIssue): void {
  if (parseLevel(value) !== undefined) return;
  report(
    path,
    typeof value === "number"
      ? `expected a level number from 0 to 50, got ${value}`
      : `expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET, got ${
        describeValue(value)
      }`,
  );
}

function checkUnknownKeys(
  value: Record<string, unknown>,
  allowed: readonly string[],
  path: (string | number)[],
  report: ReportIssue,
  what = "",
): void {
  for (const key of Object.keys(value)) {
    if (allowed.includes(key)) continue;
    report(
      [...path, key],
      key === "()"
        ? "custom factories are not supported"
        : `unknown key "${key}"${what} (expected: ${formatKeys(allowed)})`,
    );
  }
}

function checkFilterList(value: unknown, path: (string | number)[], report: ReportIssue): void {
  if (!Array.isArray(value)) {
    report(path, `expected a list, got ${describeValue(value)}`);
    return;
  }
  value.forEach((name, index) => {
    report(
      [...path, index],
      `filter ${describeValue(name)} is not defined (filters are not supported)`,
    );
  });
}

function checkFormatter(value: unknown, path: string[], report: ReportIssue): void {
  if (!isMap(value)) {
    report(path, `expected a map, got ${describeValue(value)}`);
    return;
  }
  checkUnknownKeys(value, FORMATTER_KEYS, path, report);
  if (value.format !== undefined) {
    if (typeof value.format !== "string") {
      report([...path, "format"], `expected a format string, got ${describeValue(value.format)}`);
    } else {
      for (const problem of parsePythonFormat(value.format).problems) {
        report([...path, "format"], problem);
      }
    }
  }
  if (value.datefmt !== undefined && value.datefmt !== null) {
    if (typeof value.datefmt !== "string") {
      report(
        [...path, "datefmt"],
        `expected a strftime pattern, got ${describeValue(value.datefmt)}`,
      );
    } else {
      for (const problem of checkStrftime(value.datefmt)) report([...path, "datefmt"], problem);
    }
  }
  if (value.style !== undefined && value.style !== "%") {
    const only = value.style === "{" || value.style === "$"
      ? " (only %-style formats are supported)"
      : "";
    report([...path, "style"], `expected "%", got ${describeValue(value.style)}${only}`);
  }
  if (value.validate !== undefined) checkBoolean(value.validate, [...path, "validate"], report);
  if (value.class !== undefined && value.class !== "logging.Formatter") {
    report([...path, "class"], `expected "logging.Formatter", got ${describeValue(value.class)}`);
  }
}

function checkHandler(
  value: unknown,
  path: string[],
  formatterNames: ReadonlySet<string>,
  report: ReportIssue,
): void {
  if (!isMap(value)) {
    report(path, `expected a map, got ${describeValue(value)}`);
    return;
  }
  const className = value.class;
  let kind: HandlerKind | undefined;
  if (className === undefined) {
    report(path, `missing key "class"`);
  } else if (typeof className === "string" && SYSLOG_CLASSES.includes(className)) {
    report(
      [...path, "class"],
      `handler class "${className}" is not supported: Deno reaches the syslog socket only with ` +
        `--unstable-net; use "logging.StreamHandler" (under systemd, stderr goes to the journal) ` +
        `or "logging.FileHandler"`,
    );
  } else if (typeof className === "string" && Object.hasOwn(HANDLER_CLASSES, className)) {
    kind = HANDLER_CLASSES[className];
  } else {
    report(
      [...path, "class"],
      `unknown handler class ${describeValue(className)} (supported: ${
        formatKeys(Object.keys(HANDLER_CLASSES))
      })`,
    );
  }
  if (kind !== undefined) {
    checkUnknownKeys(value, HANDLER_KEYS[kind], path, report, ` for "${className}"`);
  }
  if (value.level !== undefined) checkLevel(value.level, [...path, "level"], report);
  if (value.formatter !== undefined) {
    if (typeof value.formatter !== "string") {
      report(
        [...path, "formatter"],
        `expected a formatter name, got ${describeValue(value.formatter)}`,
      );
    } else if (!formatterNames.has(value.formatter)) {
      report([...path, "formatter"], `formatter "${value.formatter}" is not defined`);
    }
  }
  if (value.filters !== undefined) checkFilterList(value.filters, [...path, "filters"], report);
  if (value.debug_only !== undefined) {
    checkBoolean(value.debug_only, [...path, "debug_only"], report);
  }
  if (kind === "stream" && value.stream !== undefined) {
    if (typeof value.stream !== "string" || !Object.hasOwn(STREAMS, value.stream)) {
      report(
        [...path, "stream"],
        `expected "ext://sys.stderr" or "ext://sys.stdout", got ${describeValue(value.stream)}`,
      );
    }
  }
  if (kind === "file" || kind === "rotating_file") {
    if (value.filename === undefined) {
      report(path, `missing key "filename"`);
    } else if (typeof value.filename !== "string" || value.filename === "") {
      report([...path, "filename"], `expected a file path, got ${describeValue(value.filename)}`);
    }
    if (value.mode !== undefined && value.mode !== "a" && value.mode !== "w") {
      report([...path, "mode"], `expected "a" or "w", got ${describeValue(value.mode)}`);
    }
    if (
      value.encoding !== undefined && value.encoding !== null &&
      !(typeof value.encoding === "string" && /^utf-?8$/i.test(value.encoding))
    ) {
      report(
        [...path, "encoding"],
        `expected "utf-8" (the only encoding supported), got ${describeValue(value.encoding)}`,
      );
    }
    if (value.delay !== undefined) checkBoolean(value.delay, [...path, "delay"], report);
  }
  if (kind === "rotating_file") {
    for (const key of ["maxBytes", "backupCount"]) {
      const count = value[key];
      if (count !== undefined && !(Number.isSafeInteger(count) && (count as number) >= 0)) {
        report([...path, key], `expected a whole number, 0 or more, got ${describeValue(count)}`);
      }
    }
  }
}

function checkLogger(
  value: unknown,
  path: string[],
  allowed: readonly string[],
  handlerNames: ReadonlySet<string>,
  report: ReportIssue,
): void {
  if (!isMap(value)) {
    report(path, `expected a map, got ${describeValue(value)}`);
    return;
  }
  checkUnknownKeys(value, allowed, path, report);
  if (value.level !== undefined) checkLevel(value.level, [...path, "level"], report);
  if (value.propagate !== undefined) checkBoolean(value.propagate, [...path, "propagate"], report);
  if (value.filters !== undefined) checkFilterList(value.filters, [...path, "filters"], report);
  if (value.handlers !== undefined) {
    if (!Array.isArray(value.handlers)) {
      report(
        [...path, "handlers"],
        `expected a list of handler names, got ${describeValue(value.handlers)}`,
      );
    } else {
      value.handlers.forEach((name, index) => {
        if (typeof name !== "string") {
          report(
            [...path, "handlers", index],
            `expected a handler name, got ${describeValue(name)}`,
          );
        } else if (!handlerNames.has(name)) {
          report([...path, "handlers", index], `handler "${name}" is not defined`);
        }
      });
    }
  }
}

/** The section after helper's defaults are laid under it. */
interface Effective {
  formatters: Map<string, FormatterSection>;
  handlers: Map<string, HandlerSection>;
  /** By LogTape category, joined with dots. */
  loggers: Map<string, { category: string[]; section: LoggerSection }>;
  root: RootSection;
}

/** What applies when there is no `Logging` section: INFO and up to stderr. */
const NO_SECTION: Effective = {
  formatters: new Map([["default", { format: DEFAULT_FORMAT }]]),
  handlers: new Map([["console", { class: "logging.StreamHandler", formatter: "default" }]]),
  loggers: new Map(),
  root: { level: "INFO", handlers: ["console"] },
};

/** Lays a section over helper's defaults, as helper 2.5.0's `Config.logging` does. */
function overlayHelperDefaults(section: LoggingSection): Effective {
  const loggers: Effective["loggers"] = new Map();
  const userLoggers = entriesOf(section.loggers) as [string, LoggerSection][] | undefined;
  // helper's default `helper` logger writes to `console`; a section that gives
  // `root` handlers of its own would print the runtime's lines twice, so the
  // default logger only applies to sections without `root` (helper's style).
  const defaults = section.root === undefined ? Object.entries(HELPER_DEFAULTS.loggers) : [];
  for (const [name, logger] of [...defaults, ...userLoggers ?? []]) {
    const category = categoryOf(name);
    loggers.set(category.join("."), { category, section: logger });
  }
  return {
    formatters: new Map([
      ...Object.entries(HELPER_DEFAULTS.formatters),
      ...(entriesOf(section.formatters) ?? []) as [string, FormatterSection][],
    ]),
    handlers: new Map([
      ...Object.entries(HELPER_DEFAULTS.handlers),
      ...(entriesOf(section.handlers) ?? []) as [string, HandlerSection][],
    ]),
    loggers,
    root: { ...HELPER_DEFAULTS.root, ...section.root },
  };
}

/** A logger as LogTape gets it. */
interface LoggerPlan {
  category: string[];
  /** Lowest level, already shifted; `undefined` inherits. */
  level?: LogLevel;
  handlers: string[];
  propagate: boolean;
}

/** A sink that may hold a file open. */
type OwnedSink = Sink & Partial<Disposable>;

/** Every sink built for one apply, so a failure can close them. */
class SinkSet {
  readonly sinks = new Map<string, OwnedSink>();
  /** Files to truncate once every sink is open (`mode: w` without `delay`). */
  readonly truncate: string[] = [];

  dispose(): void {
    for (const sink of this.sinks.values()) {
      try {
        sink[Symbol.dispose]?.();
      } catch {
        // Closing what was just opened; nothing more to do.
      }
    }
  }
}

/**
 * Writes each line to stderr or stdout with `writeSync`, looked up at each
 * call, so that lines are never lost or reordered at exit.
 */
function getWriteSyncSink(stream: "stdout" | "stderr", formatter: TextFormatter): Sink {
  const encoder = new TextEncoder();
  return (record) => {
    const bytes = encoder.encode(formatter(record));
    const target = stream === "stdout" ? Deno.stdout : Deno.stderr;
    for (let written = 0; written < bytes.length;) {
      written += target.writeSync(bytes.subarray(written));
    }
  };
}

/**
 * A sink that opens its file (through `open`) on the first record: Python's
 * `delay`. While opening fails, each record fails with a one-line error naming
 * the handler and file, which LogTape's meta logger prints to stderr.
 */
function getDelayedSink(name: string, path: string, open: () => OwnedSink): OwnedSink {
  let inner: OwnedSink | undefined;
  const sink: OwnedSink = (record) => {
    if (inner === undefined) {
      try {
        inner = open();
      } catch (error) {
        const failure = new Error(`Handler "${name}" cannot open "${path}": ${messageOf(error)}`);
        failure.stack = `Error: ${failure.message}`;
        throw failure;
      }
    }
    inner(record);
  };
  sink[Symbol.dispose] = () => inner?.[Symbol.dispose]?.();
  return sink;
}

/** `@logtape/file`, once a file handler needed it (see `loadFileSinks`). */
let fileSinks: Awaited<ReturnType<typeof loadFileSinks>> | undefined;

/** Builds the sink of one handler; throws what opening its file throws. */
function buildSink(
  name: string,
  handler: HandlerSection,
  formatter: TextFormatter,
  built: SinkSet,
  prepareFile: (path: string) => void = () => {},
): OwnedSink {
  const kind = HANDLER_CLASSES[handler.class];
  if (kind === "null") return () => {};
  if (kind === "stream") {
    const stream = (handler as StreamHandlerSection).stream;
    return getWriteSyncSink(stream === undefined ? "stderr" : STREAMS[stream], formatter);
  }
  const file = handler as FileHandlerSection | RotatingFileHandlerSection;
  const path = file.filename;
  const maxBytes = (file as RotatingFileHandlerSection).maxBytes ?? 0;
  const backupCount = (file as RotatingFileHandlerSection).backupCount ?? 0;
  const rotates = kind === "rotating_file" && maxBytes > 0 && backupCount > 0;
  // Python opens a rotating file in append mode whenever maxBytes is set.
  const truncate = file.mode === "w" && !(kind === "rotating_file" && maxBytes > 0);
  const { getFileSink, getRotatingFileSink } = fileSinks!;
  const open = (): OwnedSink => {
    prepareFile(path);
    return rotates
      ? getRotatingFileSink(path, {
        formatter,
        // Python rolls over when the file would reach maxBytes; LogTape when it would exceed it.
        maxSize: maxBytes - 1,
        maxFiles: backupCount,
        bufferSize: 0,
        flushInterval: 0,
      })
      : getFileSink(path, { formatter, bufferSize: 0, flushInterval: 0 });
  };
  if (file.delay) {
    return getDelayedSink(name, path, () => {
      prepareFile(path);
      if (truncate) Deno.truncateSync(path, 0);
      return open();
    });
  }
  const sink = open();
  if (truncate) built.truncate.push(path);
  return sink;
}

/** Serialises applies and shutdowns: LogTape refuses a configure during another. */
let pending: Promise<unknown> = Promise.resolve();
function serialise<T>(task: () => Promise<T>): Promise<T> {
  const run = pending.then(task);
  pending = run.catch(() => {});
  return run;
}

/**
 * Configures LogTape from a `Logging` section, or, with `undefined`, logs
 * `INFO` and up (shifted by `verbosity`) to stderr as
 * `%(asctime)s %(levelname)s %(name)s: %(message)s`.
 *
 * Every sink is built (files opened) first. If one fails, those built are
 * closed and an `Error` names the handler and file, while the previous
 * configuration keeps working. Only then does it call LogTape's
 * `configure({ reset: true })`. An invalid section throws before anything
 * changes; check it with {@link checkLoggingSection} to get every problem.
 *
 * @example
 * ```ts
 * import { applyLogging, shutdownLogging } from "./logging.ts";
 * import { getLogger } from "../deps.ts";
 * const dir = await Deno.makeTempDir();
 * await applyLogging({
 *   handlers: { file: { class: "logging.FileHandler", filename: `${dir}/app.log` } },
 *   loggers: { myapp: { level: "INFO", handlers: ["file"] } },
 * }, { foreground: false });
 * getLogger(["myapp", "db"]).info("Connected to {host}", { host: "db1" });
 * await shutdownLogging();
 * console.assert(await Deno.readTextFile(`${dir}/app.log`) === "Connected to db1\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function applyLogging(
  section: LoggingSection | undefined,
  options: LoggingOptions,
): Promise<void> {
  return serialise(() => applyNow(section, options));
}

async function applyNow(
  section: LoggingSection | undefined,
  options: LoggingOptions,
): Promise<void> {
  if (section !== undefined) {
    const issues: string[] = [];
    checkLoggingSection(section, (keyPath, message) => {
      issues.push(keyPath.length ? `key "${keyPath.join(".")}": ${message}` : message);
    });
    if (issues.length > 0) {
      const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
      throw new Error(`Invalid Logging section: ${issues[0]}${more}`);
    }
  }
  const verbosity = options.verbosity ?? 0;
  const effective = section === undefined ? NO_SECTION : overlayHelperDefaults(section);

  const fileClasses = new Set(["file", "rotating_file"]);
  const isFile = (h: HandlerSection) => fileClasses.has(HANDLER_CLASSES[h.class]);
  if (!options.withoutFiles && [...effective.handlers.values()].some(isFile)) {
    fileSinks ??= await loadFileSinks();
  }
  const dropped = new Set<string>();
  if (!options.foreground) {
    for (const [name, handler] of effective.handlers) if (handler.debug_only) dropped.add(name);
  }
  if (options.withoutFiles) {
    for (const [name, handler] of effective.handlers) if (isFile(handler)) dropped.add(name);
  }
  const keep = (names: string[] = []) => names.filter((name) => !dropped.has(name));
  const rootLevel = parseLevel(effective.root.level ?? "WARNING");
  const plans: LoggerPlan[] = [{
    category: [],
    level: rootLevel ? shiftLevel(rootLevel, verbosity) : "trace",
    handlers: keep(effective.root.handlers),
    propagate: true,
  }];
  for (const { category, section: logger } of effective.loggers.values()) {
    const level = parseLevel(logger.level ?? 0);
    plans.push({
      category,
      level: level ? shiftLevel(level, verbosity) : undefined,
      handlers: keep(logger.handlers),
      propagate: logger.propagate ?? true,
    });
  }

  const formatters = new Map<string, TextFormatter>();
  const formatterOf = (name: string | undefined): TextFormatter => {
    const key = name ?? "";
    let formatter = formatters.get(key);
    if (formatter === undefined) {
      const section = name === undefined ? undefined : effective.formatters.get(name);
      formatter = compilePythonFormat(section?.format ?? PYTHON_DEFAULT_FORMAT, {
        datefmt: section?.datefmt ?? undefined,
      });
      formatters.set(key, formatter);
    }
    return formatter;
  };

  const built = new SinkSet();
  try {
    for (const name of new Set(plans.flatMap((plan) => plan.handlers))) {
      const handler = effective.handlers.get(name)!;
      let sink: OwnedSink;
      try {
        sink = buildSink(
          name,
          handler,
          formatterOf(handler.formatter),
          built,
          options.prepareFile,
        );
      } catch (error) {
        const file = "filename" in handler ? ` cannot open "${handler.filename}"` : " failed";
        throw new Error(`Cannot apply logging: handler "${name}"${file}: ${messageOf(error)}`, {
          cause: error,
        });
      }
      const level = parseLevel(handler.level ?? 0);
      built.sinks.set(name, level ? withFilter(sink, shiftLevel(level, verbosity)) : sink);
    }
    for (const path of built.truncate) {
      try {
        Deno.truncateSync(path, 0);
      } catch (error) {
        throw new Error(`Cannot apply logging: cannot truncate "${path}": ${messageOf(error)}`, {
          cause: error,
        });
      }
    }
  } catch (error) {
    built.dispose();
    throw error;
  }

  const sinks: Record<string, Sink> = {};
  for (const [name, sink] of built.sinks) sinks[`handler:${name}`] = sink;
  sinks["flagstaff:stderr"] = getWriteSyncSink("stderr", compilePythonFormat(DEFAULT_FORMAT));
  sinks["flagstaff:last-resort"] = getLastResortSink(plans);
  const filters: Record<string, LogLevel> = {};
  const loggers: LoggerConfig<string, string>[] = [];
  for (const plan of plans) {
    const sinkIds = plan.handlers.map((name) => `handler:${name}`);
    // Python's last resort takes a record that meets no handler on its way up.
    if (plan.handlers.length === 0 && (plan.category.length === 0 || !plan.propagate)) {
      sinkIds.push("flagstaff:last-resort");
    }
    const config: LoggerConfig<string, string> = {
      category: plan.category,
      sinks: sinkIds,
      parentSinks: plan.propagate ? "inherit" : "override",
    };
    if (plan.level !== undefined) {
      filters[`level:${plan.level}`] = plan.level;
      config.filters = [`level:${plan.level}`];
    }
    loggers.push(config);
  }
  filters["level:warning"] = "warning";
  loggers.push({
    category: META_CATEGORY,
    sinks: ["flagstaff:stderr"],
    parentSinks: "override",
    filters: ["level:warning"],
    lowestLevel: "warning",
  });
  try {
    await configure({ reset: true, sinks, filters, loggers });
  } catch (error) {
    built.dispose();
    throw new Error(`Cannot apply logging: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Python's last resort: `WARNING` and up, as the bare message to stderr, for
 * a record whose way up (stopping at `propagate: false`) meets no handler.
 */
function getLastResortSink(plans: readonly LoggerPlan[]): Sink {
  const byCategory = new Map(plans.map((plan) => [JSON.stringify(plan.category), plan]));
  const write = getWriteSyncSink("stderr", compilePythonFormat(PYTHON_DEFAULT_FORMAT));
  const warning = LOG_LEVELS.indexOf("warning");
  return (record) => {
    if (LOG_LEVELS.indexOf(record.level) < warning) return;
    for (let length = record.category.length; length >= 0; length--) {
      const plan = byCategory.get(JSON.stringify(record.category.slice(0, length)));
      if (plan === undefined) continue;
      if (plan.handlers.length > 0) return;
      if (!plan.propagate) break;
    }
    write(record);
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Flushes and closes every sink and clears LogTape's configuration (LogTape's
 * `reset()`, which disposes), so that later records go nowhere instead of to
 * closed files. {@link applyLogging} may be called again afterwards.
 *
 * @example
 * ```ts
 * import { applyLogging, shutdownLogging } from "./logging.ts";
 * await applyLogging(undefined, { foreground: true });
 * await shutdownLogging();
 * ```
 */
export function shutdownLogging(): Promise<void> {
  return serialise(() => reset());
}
