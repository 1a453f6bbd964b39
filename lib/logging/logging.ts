/**
 * The `Logging` config section (Python's `logging.config.dictConfig` shape,
 * `section.ts`) applied to LogTape. As in helper, the section is laid over
 * helper's built-in defaults, name by name, and the logger name `helper`
 * stands for flagstaff's own logger, `flagstaff`.
 *
 * | dictConfig | LogTape |
 * |---|---|
 * | logger `myapp.db` | category `["myapp", "db"]`; `root` is `[]` |
 * | logger `level` | a level filter on the category, so it applies to records logged there and below, and never to records from children that set their own level: Python's effective level. No level, or `NOTSET`, inherits |
 * | `propagate: false` | `parentSinks: "override"` |
 * | handler | a sink; its `level` wraps it in a level filter; `debug_only: true` ones exist only in the foreground |
 * | formatter | a text formatter compiled from the %-style `format` and `datefmt` |
 * | a record no handler takes | Python's "last resort": `WARNING` and up go to stderr as the bare message |
 *
 * Only handlers that a logger uses are opened. LogTape's own diagnostics
 * (category `["logtape", "meta"]`) go to stderr at `warning` and up.
 *
 * @module
 */

import { configure, reset, withFilter } from "../deps.ts";
import type { LoggerConfig, LogLevel, Sink } from "../deps.ts";
import { messageOf } from "../core/errors.ts";
import {
  categoryOf,
  handlerKind,
  HELPER_DEFAULTS,
  LOG_LEVELS,
  META_CATEGORY,
  parseLevel,
} from "./_tables.ts";
import { compilePythonFormat, LOCATION_FIELDS } from "./_python_format.ts";
import { buildSink, type OwnedSink, streamSink } from "./_sinks.ts";
import { checkLoggingSection } from "./check_section.ts";
import type { FormatterSection, HandlerSection, LoggerSection, LoggingSection } from "./section.ts";

export { checkLoggingSection } from "./check_section.ts";
export type { ReportIssue } from "./check_section.ts";
export type {
  FileHandlerSection,
  FileOptions,
  FormatterSection,
  HandlerCommon,
  HandlerSection,
  LoggerSection,
  LoggingLevel,
  LoggingSection,
  NullHandlerSection,
  RootSection,
  RotatingFileHandlerSection,
  StreamHandlerSection,
} from "./section.ts";

/** How to apply the `Logging` section. */
export interface LoggingOptions {
  /** True in the foreground; handlers with `debug_only: true` exist only then. */
  foreground: boolean;
  /** Level shift from the CLI: +1 per -v (more verbose), -1 per -q (quieter). Default: 0. */
  verbosity?: number;
  /**
   * Called with each log file's path (absolute, `..` resolved as written:
   * the path LogTape opens) before it is opened (and before a delayed one is
   * first opened), and with how the handler opens it again after start
   * ({@link reopensInFolder}); throw to refuse it. The CLI checks there
   * that the file is not a planted link, FIFO or someone else's file, in a
   * folder no other user can change (`lib/os/log_folder.ts`). Default: none.
   */
  prepareFile?: (path: string, file: { reopens?: "create" | "rotate" }) => void;
  /**
   * Leave the file handlers out (their records go where the others' go, or
   * to stderr): until privileges are dropped, so that log files are opened by
   * the user flagstaff runs as. Default false.
   */
  withoutFiles?: boolean;
}

/**
 * Which log files a handler (a plain-JS handler section) opens again after
 * start-up, in their folder: `"create"` for a `delay: true` file (first
 * opened at the first record), `"rotate"` for a rotating file (renamed, then
 * created anew), or undefined. After a privilege drop, `Daemon.user` must be
 * able to write that folder; and, since LogTape then opens the file by its
 * path, no other user may (`lib/os/log_folder.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reopensInFolder } from "./logging.ts";
 * assert.equal(reopensInFolder({ class: "rotating_file", filename: "a.log", maxBytes: 10, backupCount: 2 }), "rotate");
 * assert.equal(reopensInFolder({ class: "file", filename: "a.log", delay: true }), "create");
 * assert.equal(reopensInFolder({ class: "logging.FileHandler", filename: "a.log" }), undefined);
 * ```
 */
export function reopensInFolder(handler: unknown): "create" | "rotate" | undefined {
  const h = (handler ?? {}) as Record<string, unknown>;
  const kind = handlerKind(h.class);
  if (kind === "rotating_file" && Number(h.maxBytes) > 0 && Number(h.backupCount) > 0) {
    return "rotate";
  }
  if ((kind === "file" || kind === "rotating_file") && h.delay === true) return "create";
  return undefined;
}

/** Python's `dictConfig` default format for a handler without a formatter. */
const PYTHON_DEFAULT_FORMAT = "%(message)s";

/** The format of the console when there is no `Logging` section (and of LogTape's diagnostics). */
const DEFAULT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s";

/** A section after helper's defaults are laid under it. */
type Effective = { [Key in "formatters" | "handlers" | "loggers"]: Record<string, unknown> } & {
  root: LoggerSection;
};

/** What applies when there is no `Logging` section: INFO and up to stderr. */
const NO_SECTION: Effective = {
  formatters: { default: { format: DEFAULT_FORMAT } },
  handlers: { console: { class: "console", formatter: "default" } },
  loggers: {},
  root: { level: "INFO", handlers: ["console"] },
};

/**
 * Lays a section over helper's defaults, name by name, as helper 2.5.0's
 * `Config.logging` does. helper's default `helper` logger writes to
 * `console`; a section that gives `root` handlers of its own would print the
 * runtime's lines twice, so that logger only applies to sections without `root`.
 */
function overlayHelperDefaults(section: LoggingSection): Effective {
  return {
    formatters: { ...HELPER_DEFAULTS.formatters, ...section.formatters },
    handlers: { ...HELPER_DEFAULTS.handlers, ...section.handlers },
    loggers: { ...section.root === undefined && HELPER_DEFAULTS.loggers, ...section.loggers },
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
 * closed and it rejects with an `Error` naming the handler and file
 * (`Cannot apply logging: handler "file" cannot open "…": …`), while the
 * previous configuration keeps working. Only then does it call LogTape's
 * `configure({ reset: true })`. An invalid section rejects
 * (`Invalid Logging section: key "…": …`) before anything changes; check it
 * with {@link checkLoggingSection} to get every problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyLogging, shutdownLogging } from "./logging.ts";
 * import { getLogger } from "../deps.ts";
 * const dir = await Deno.makeTempDir();
 * await applyLogging({
 *   handlers: { file: { class: "logging.FileHandler", filename: `${dir}/app.log` } },
 *   loggers: { myapp: { level: "INFO", handlers: ["file"] } },
 * }, { foreground: false });
 * getLogger(["myapp", "db"]).info("Connected to {host}", { host: "db1" });
 * await shutdownLogging();
 * assert.equal(await Deno.readTextFile(`${dir}/app.log`), "Connected to db1\n");
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
    checkLoggingSection(
      section,
      (keyPath, message) =>
        issues.push(keyPath.length ? `key "${keyPath.join(".")}": ${message}` : message),
    );
    if (issues.length > 0) {
      const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
      throw new Error(`Invalid Logging section: ${issues[0]}${more}`);
    }
  }
  // A config level, shifted by -v/-q; undefined for none or NOTSET.
  const levelOf = (level: unknown) => {
    const parsed = parseLevel(level ?? 0);
    if (!parsed) return undefined;
    const index = LOG_LEVELS.indexOf(parsed) - Math.trunc(options.verbosity ?? 0);
    return LOG_LEVELS[Math.min(LOG_LEVELS.length - 1, Math.max(0, index))];
  };
  const effective = section === undefined ? NO_SECTION : overlayHelperDefaults(section);
  const handlers = effective.handlers as Record<string, HandlerSection>;
  const used = (names: string[] = []) =>
    names.filter((name) =>
      (options.foreground || !handlers[name].debug_only) &&
      !(options.withoutFiles && handlerKind(handlers[name].class)?.endsWith("file"))
    );
  const plans = new Map<string, LoggerPlan>([["", {
    category: [],
    level: levelOf(effective.root.level ?? "WARNING") ?? "trace",
    handlers: used(effective.root.handlers),
    propagate: true,
  }]]);
  for (const [name, logger] of Object.entries(effective.loggers as Record<string, LoggerSection>)) {
    const category = categoryOf(name);
    plans.set(category.join("."), {
      category,
      level: levelOf(logger.level),
      handlers: used(logger.handlers),
      propagate: logger.propagate ?? true,
    });
  }

  const sinks: Record<string, OwnedSink> = {};
  const truncate: string[] = [];
  let capturesLocation = false;
  const closeSinks = () => {
    for (const sink of Object.values(sinks)) {
      try {
        sink[Symbol.dispose]?.();
      } catch {
        // Closing what was just opened; nothing more to do.
      }
    }
  };
  try {
    for (const name of new Set([...plans.values()].flatMap((plan) => plan.handlers))) {
      const handler = handlers[name];
      const formatter = effective.formatters[handler.formatter ?? ""] as
        | FormatterSection
        | undefined;
      const format = formatter?.format ?? PYTHON_DEFAULT_FORMAT;
      capturesLocation ||= LOCATION_FIELDS.some((field) => format.includes(`%(${field})`));
      const compiled = compilePythonFormat(format, formatter?.datefmt ?? undefined);
      let sink: OwnedSink;
      const prepare = options.prepareFile;
      const reopens = reopensInFolder(handler);
      try {
        sink = await buildSink(name, handler, {
          formatter: compiled,
          prepareFile: prepare && ((path) => prepare(path, { reopens })),
          truncate,
        });
      } catch (error) {
        const what = "filename" in handler ? ` cannot open "${handler.filename}"` : " failed";
        throw new Error(`Cannot apply logging: handler "${name}"${what}: ${messageOf(error)}`, {
          cause: error,
        });
      }
      const level = levelOf(handler.level);
      sinks[`handler:${name}`] = level ? withFilter(sink, level) : sink;
    }
    for (const path of truncate) {
      try {
        Deno.truncateSync(path, 0);
      } catch (error) {
        throw new Error(`Cannot apply logging: cannot truncate "${path}": ${messageOf(error)}`, {
          cause: error,
        });
      }
    }
  } catch (error) {
    closeSinks();
    throw error;
  }
  sinks["flagstaff:stderr"] = streamSink("stderr", compilePythonFormat(DEFAULT_FORMAT));
  sinks["flagstaff:last-resort"] = getLastResortSink(
    [...plans.values()],
    streamSink("stderr", compilePythonFormat(PYTHON_DEFAULT_FORMAT)),
  );
  const loggers = [...plans.values()].map((plan): LoggerConfig<string, string> => ({
    category: plan.category,
    sinks: [
      ...plan.handlers.map((name) => `handler:${name}`),
      // Python's last resort takes a record that meets no handler on its way up.
      ...plan.handlers.length === 0 && (plan.category.length === 0 || !plan.propagate)
        ? ["flagstaff:last-resort"]
        : [],
    ],
    parentSinks: plan.propagate ? "inherit" : "override",
    ...plan.level && { filters: [`level:${plan.level}`] },
  }));
  // LogTape records where each logging call was made (for %(lineno)d and the like) only when asked.
  loggers[0].captureSourceLocation = capturesLocation;
  loggers.push({
    category: META_CATEGORY,
    sinks: ["flagstaff:stderr"],
    parentSinks: "override",
    filters: ["level:warning"],
    lowestLevel: "warning",
  });
  try {
    const filters = Object.fromEntries(LOG_LEVELS.map((level) => [`level:${level}`, level]));
    await configure({ reset: true, sinks, filters, loggers });
  } catch (error) {
    closeSinks();
    throw new Error(`Cannot apply logging: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Python's last resort: `WARNING` and up, as the bare message to stderr, for
 * a record whose way up (stopping at `propagate: false`) meets no handler.
 */
function getLastResortSink(plans: readonly LoggerPlan[], write: Sink): Sink {
  const byCategory = new Map(plans.map((plan) => [JSON.stringify(plan.category), plan]));
  return (record) => {
    if (LOG_LEVELS.indexOf(record.level) < LOG_LEVELS.indexOf("warning")) return;
    for (let length = record.category.length; length >= 0; length--) {
      const plan = byCategory.get(JSON.stringify(record.category.slice(0, length)));
      if (plan === undefined) continue;
      if (plan.handlers.length > 0) return;
      if (!plan.propagate) break;
    }
    write(record);
  };
}

/**
 * Flushes and closes every sink and clears LogTape's configuration (LogTape's
 * `reset()`, which disposes), so that later records go nowhere instead of to
 * closed files. {@link applyLogging} may be called again afterwards.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyLogging, shutdownLogging } from "./logging.ts";
 * import { getLogger } from "../deps.ts";
 * const dir = await Deno.makeTempDir();
 * await applyLogging({
 *   handlers: { file: { class: "file", filename: `${dir}/app.log` } },
 *   root: { level: "INFO", handlers: ["file"] },
 * }, { foreground: false });
 * await shutdownLogging();
 * getLogger(["app"]).info("After the shutdown");
 * assert.equal(await Deno.readTextFile(`${dir}/app.log`), "");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function shutdownLogging(): Promise<void> {
  return serialise(() => reset());
}
