/**
 * The shape of the `Logging` section: Python's `dictConfig`, as helper uses
 * it. `logging.ts` re-exports these types (and `lib/mod.ts` from there);
 * `check_section.ts` validates a section against them.
 *
 * @module
 */

/**
 * A level: a Python name (`DEBUG`, `INFO`, `WARNING`/`WARN`, `ERROR`,
 * `CRITICAL`/`FATAL`, `NOTSET`) or a LogTape one (`trace` … `fatal`), in any
 * case, or a Python level number from 0 to 50.
 */
export type LoggingLevel = string | number;

/** A formatter: a Python %-style `format` and a `strftime` `datefmt`. */
export interface FormatterSection {
  /** The line layout: `%(field)s`, `d` or `f` with flags `-`, `0`, space, width, precision. Default: `%(message)s`. */
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

/** What every handler may set. */
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

/** A handler writing to stderr or stdout. */
export interface StreamHandlerSection extends HandlerCommon {
  /** The handler class. */
  class: "logging.StreamHandler" | "console";
  /** `ext://sys.stderr` or `ext://sys.stdout` (or `stderr`, `stdout`). Default: stderr. */
  stream?: string;
}

/** What both file handlers take. */
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

/** A handler appending to a file. */
export interface FileHandlerSection extends HandlerCommon, FileOptions {
  /** The handler class. */
  class: "logging.FileHandler" | "file";
}

/** A handler writing to a file that rolls over at a size. */
export interface RotatingFileHandlerSection extends HandlerCommon, FileOptions {
  /** The handler class. */
  class: "logging.handlers.RotatingFileHandler" | "rotating_file";
  /** Roll over before the file would reach this many bytes; 0 never. Default: 0. */
  maxBytes?: number;
  /** How many old files to keep (`app.log.1` …); 0 never rolls over. Default: 0. */
  backupCount?: number;
}

/** A handler that drops every record. */
export interface NullHandlerSection extends HandlerCommon {
  /** The handler class. */
  class: "logging.NullHandler" | "null";
}

/** One handler of the `handlers` map. */
export type HandlerSection =
  | StreamHandlerSection
  | FileHandlerSection
  | RotatingFileHandlerSection
  | NullHandlerSection;

/** A named logger of the `loggers` map. */
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
 * The root logger: where every record ends up unless a logger stops it. Its
 * `level` defaults to `CRITICAL`, as helper's; `propagate` is accepted
 * (helper's defaults have it) and ignored.
 */
export type RootSection = LoggerSection;

/**
 * The validated `Logging` section. Empty lists stand for empty maps, as
 * helper's documented `formatters: []`.
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
