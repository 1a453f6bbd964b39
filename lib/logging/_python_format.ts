/**
 * Python `logging` %-formats and `strftime` date formats, compiled to LogTape
 * text formatters.
 *
 * A format such as `%(levelname) -10s %(asctime)s %(name)s: %(message)s`
 * takes `%(field)s`, `%(field)d` and `%(field)f`, each with the flags `-`
 * (left-align), `0` (zero-pad a number) and space (a space before a positive
 * number), a width and a `.precision`, and `%%`. Anything else Python accepts
 * (`%x`, `%e`, `%g`, `%r`, `%c`, the `#` and `+` flags, `*` widths) is
 * reported as unsupported. Numbers print as JavaScript does: `s` with
 * `String(n)` (`%(msecs)s` is `896`, Python's `896.0`), `f` with
 * `n.toFixed(precision)` (default 6).
 *
 * | field | value |
 * |---|---|
 * | `asctime` | the timestamp through `datefmt`; default `2003-07-08 16:49:45,896` |
 * | `created`, `msecs` | the timestamp in seconds since the epoch, its milliseconds |
 * | `levelname`, `levelno` | `TRACE` 5, `DEBUG` 10, `INFO` 20, `WARNING` 30, `ERROR` 40, `CRITICAL` 50 (LogTape `fatal`) |
 * | `name` | the category joined with dots; the root category `[]` is `root` |
 * | `message` | the message, values shown with `Deno.inspect` (strings as they are) |
 * | `pathname`, `filename`, `module`, `lineno` | LogTape's `sourceLocation` of the logging call (the logger must capture it); `(unknown file)` and `0` without one |
 * | `funcName` | the calling function, from V8's call sites; `<anonymous>` for an unnamed one |
 * | `process`, `processName`, `threadName` | `Deno.pid`, `flagstaff`, `MainThread` |
 *
 * When the record's `error` property is an `Error` that the message does not
 * show already, its stack follows the line, as Python prints `exc_info`.
 *
 * @module
 */

import type { LogRecord, TextFormatter } from "../deps.ts";
import { LOG_LEVELS, PYTHON_LEVEL_NAMES } from "./_tables.ts";

/** The fields taken from LogTape's `LogRecord.sourceLocation`: a logger must capture it for them. */
export const LOCATION_FIELDS = ["filename", "lineno", "module", "pathname"];

/**
 * One `%(field)…` conversion: its flags (any of `-`, `0`, space), width, and
 * precision (digits after the point for `f`, minimum digits for `d`, maximum
 * characters for `s`).
 */
export interface Conversion {
  field: string;
  flags: string;
  width?: number;
  precision?: number;
  type: "s" | "d" | "f";
}

/**
 * Parses a Python %-style logging format into literal text (`%%` already
 * `%`) and conversions, with every problem found as a sentence-case message
 * naming the directive (`"%(levelno)x" is not supported: …`).
 */
export function parsePythonFormat(
  format: string,
): { parts: (string | Conversion)[]; problems: string[] } {
  const parts: (string | Conversion)[] = [];
  const problems: string[] = [];
  let end = 0;
  // Python's whole grammar, so that an unsupported directive is named in full; `other` is the
  // rest of what follows a `%` that is no `%(field)…`.
  for (
    const match of format.matchAll(
      /%(?:\(([^)]*)\)([-0 +#]*)(\d+|\*)?(?:\.(\d*|\*))?([hlL]?)(.?)|(\(.*|.?))/gsu,
    )
  ) {
    const [text, field, flags, width, precision, length, type, other] = match;
    parts.push(format.slice(end, match.index));
    end = match.index + text.length;
    if (other === "%") parts.push("%");
    else if (other?.startsWith("(")) problems.push(`expected ")" after "${text}"`);
    else if (other !== undefined) {
      const found = other ? `"${text}"` : `"%" at the end`;
      problems.push(`expected "%(field)s" or "%%" at offset ${match.index}, got ${found}`);
    } else if (!type || !"sradiuoxXeEfFgGc".includes(type)) {
      const found = type ? `"${type}"` : "the end of the format";
      const before = text.slice(0, text.length - type.length);
      problems.push(`expected a conversion type (one of s, d, f) after "${before}", got ${found}`);
    } else if (!Object.hasOwn(FIELDS, field)) {
      problems.push(
        `unknown field "${field}" in "${text}" (supported: ${Object.keys(FIELDS).join(", ")})`,
      );
    } else if (
      !"sdf".includes(type) || /[+#hlL*]/.test(flags + length + (width ?? "") + (precision ?? ""))
    ) {
      problems.push(
        `"${text}" is not supported: flagstaff takes %(field)s, %(field)d and %(field)f, ` +
          "with the flags -, 0 and space, a width and a precision",
      );
    } else if (type !== "s" && !NUMBER_FIELDS.includes(field)) {
      problems.push(`"${text}" needs a number, but field "${field}" is text`);
    } else {
      parts.push({
        field,
        flags,
        type: type as Conversion["type"],
        ...width !== undefined && { width: Number(width) },
        ...precision !== undefined && { precision: Number(precision) },
      });
    }
  }
  parts.push(format.slice(end));
  return { parts: parts.filter((part) => part !== ""), problems };
}

/**
 * Formats one value for a conversion: `s` as `String(value)`, `d` truncated
 * toward zero, `f` with `toFixed`; then the sign, width and flags as Python's.
 */
export function formatConversion(conversion: Conversion, value: string | number): string {
  const { flags, type, precision, width = 0 } = conversion;
  let sign = "";
  let body = String(value);
  if (type === "s") {
    if (precision !== undefined) body = [...body].slice(0, precision).join("");
  } else {
    const number = type === "d" ? Math.trunc(Number(value)) : Number(value);
    sign = number < 0 ? "-" : flags.includes(" ") ? " " : "";
    body = type === "d"
      ? String(Math.abs(number)).padStart(precision ?? 0, "0")
      : Math.abs(number).toFixed(precision ?? 6);
  }
  const padding = width - [...body].length - sign.length;
  if (padding <= 0) return sign + body;
  if (flags.includes("-")) return sign + body + " ".repeat(padding);
  if (flags.includes("0") && type !== "s") return sign + "0".repeat(padding) + body;
  return " ".repeat(padding) + sign + body;
}

const pad = (value: number, width = 2) => String(value).padStart(width, "0");

/** The `strftime` directives a `datefmt` may use, each rendering local time. */
const DIRECTIVES: Readonly<Record<string, (date: Date) => string>> = {
  a: (date) => date.toLocaleString("en-US", { weekday: "short" }),
  A: (date) => date.toLocaleString("en-US", { weekday: "long" }),
  b: (date) => date.toLocaleString("en-US", { month: "short" }),
  B: (date) => date.toLocaleString("en-US", { month: "long" }),
  d: (date) => pad(date.getDate()),
  e: (date) => String(date.getDate()).padStart(2, " "),
  f: (date) => pad(date.getMilliseconds() * 1000, 6),
  H: (date) => pad(date.getHours()),
  I: (date) => pad((date.getHours() + 11) % 12 + 1),
  m: (date) => pad(date.getMonth() + 1),
  M: (date) => pad(date.getMinutes()),
  p: (date) => date.getHours() < 12 ? "AM" : "PM",
  S: (date) => pad(date.getSeconds()),
  y: (date) => pad(date.getFullYear() % 100),
  Y: (date) => String(date.getFullYear()),
  z: (date) => {
    const minutes = -date.getTimezoneOffset();
    const absolute = Math.abs(minutes);
    return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(absolute / 60))}${pad(absolute % 60)}`;
  },
  "%": () => "%",
};

/**
 * Lists what is wrong with a `strftime` pattern (a directive other than
 * `%a %A %b %B %d %e %f %H %I %m %M %p %S %y %Y %z %%`, a lone `%` at the
 * end), each a sentence-case message; empty when it is valid.
 */
export function checkStrftime(pattern: string): string[] {
  return [...pattern.matchAll(/%(.?)/gs)].flatMap(([, directive]) =>
    directive === ""
      ? [`expected a directive after the "%" at the end`]
      : Object.hasOwn(DIRECTIVES, directive)
      ? []
      : [`unknown directive "%${directive}" (supported: %${Object.keys(DIRECTIVES).join(", %")})`]
  );
}

/**
 * Formats a date in local time like Python's `time.strftime`, for the
 * directives {@link checkStrftime} accepts; others are copied as they are.
 */
export function strftime(date: Date, pattern: string): string {
  return pattern.replace(
    /%(.)/gs,
    (text, directive) => Object.hasOwn(DIRECTIVES, directive) ? DIRECTIVES[directive](date) : text,
  );
}

function inspect(value: unknown): string {
  return Deno.inspect(value, { colors: false, breakLength: Infinity });
}

/** The file of the logging call, as Python's `LogRecord` names it; `(unknown file)` when unknown. */
function locationOf(
  { sourceLocation }: LogRecord,
): Record<"pathname" | "filename" | "module", string> {
  let pathname = sourceLocation?.file ?? "(unknown file)";
  try {
    if (pathname.startsWith("file:")) pathname = decodeURIComponent(new URL(pathname).pathname);
  } catch {
    // Keep the URL as it is.
  }
  const filename = pathname.slice(pathname.lastIndexOf("/") + 1);
  const module = filename.replace(/(?<=.)\.[^.]*$/, "");
  return { pathname, filename, module };
}

/**
 * The name of the function that called the logger: the call site just
 * outside the outermost LogTape one, from V8's structured call sites
 * (LogTape's `sourceLocation` has no function name). Sinks run synchronously
 * inside the logging call, as every flagstaff sink does.
 */
function callerName(): string {
  const { stackTraceLimit, prepareStackTrace } = Error;
  Error.stackTraceLimit = 100;
  Error.prepareStackTrace = (_error, sites) => sites;
  const sites = new Error().stack as unknown as {
    getFileName(): string | null | undefined;
    getFunctionName(): string | null;
  }[];
  Object.assign(Error, { stackTraceLimit, prepareStackTrace });
  const outermost = sites.findLastIndex((site) =>
    /[/\\]@logtape[/\\]logtape[/\\]/.test(site.getFileName() ?? "")
  );
  const caller = outermost < 0 ? undefined : sites[outermost + 1];
  return caller === undefined ? "(unknown function)" : caller.getFunctionName() || "<anonymous>";
}

/** Each `LogRecord` field a format may name, read from a LogTape record. */
const FIELDS: Readonly<Record<string, (record: LogRecord, datefmt?: string) => string | number>> = {
  asctime: ({ timestamp }, datefmt) =>
    datefmt === undefined
      ? `${strftime(new Date(timestamp), "%Y-%m-%d %H:%M:%S")},${pad(timestamp % 1000, 3)}`
      : strftime(new Date(timestamp), datefmt),
  created: (record) => record.timestamp / 1000,
  filename: (record) => locationOf(record).filename,
  funcName: callerName,
  levelname: (record) => PYTHON_LEVEL_NAMES[LOG_LEVELS.indexOf(record.level)],
  levelno: (record) => Math.max(5, LOG_LEVELS.indexOf(record.level) * 10),
  lineno: (record) => record.sourceLocation?.line ?? 0,
  message: (record) =>
    record.message.map((part, index) =>
      index % 2 === 0 || typeof part === "string" ? String(part) : inspect(part)
    ).join(""),
  module: (record) => locationOf(record).module,
  msecs: (record) => record.timestamp % 1000,
  name: (record) => record.category.length === 0 ? "root" : record.category.join("."),
  pathname: (record) => locationOf(record).pathname,
  process: () => Deno.pid,
  processName: () => "flagstaff",
  threadName: () => "MainThread",
};
const NUMBER_FIELDS = ["created", "levelno", "lineno", "msecs", "process"];

/**
 * Compiles a Python logging format and optional `strftime` `datefmt` (for
 * `%(asctime)s`; default Python's `%Y-%m-%d %H:%M:%S,mmm`) into a LogTape
 * text formatter, which returns the line with its trailing newline.
 *
 * @throws {TypeError} naming the format and its first problem if the format
 *   or `datefmt` is invalid; check them first with {@link parsePythonFormat}
 *   and {@link checkStrftime} to get every problem.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePythonFormat } from "./_python_format.ts";
 * const format = compilePythonFormat("%(levelname)-8s %(name)s: %(message)s");
 * const line = format({
 *   category: ["app", "db"], level: "warning", message: ["Slow query"],
 *   rawMessage: "Slow query", timestamp: Date.now(), properties: {},
 * });
 * assert.equal(line, "WARNING  app.db: Slow query\n");
 * assert.throws(() => compilePythonFormat("%(levelno)x"), TypeError);
 * ```
 */
export function compilePythonFormat(format: string, datefmt?: string): TextFormatter {
  const { parts, problems } = parsePythonFormat(format);
  if (datefmt !== undefined) problems.push(...checkStrftime(datefmt));
  if (problems.length > 0) throw new TypeError(`Invalid log format "${format}": ${problems[0]}`);
  return (record: LogRecord): string => {
    let line = parts.map((part) =>
      typeof part === "string" ? part : formatConversion(part, FIELDS[part.field](record, datefmt))
    ).join("");
    const error = record.properties.error;
    if (error instanceof Error && !record.message.includes(error)) line += `\n${inspect(error)}`;
    return `${line}\n`;
  };
}
