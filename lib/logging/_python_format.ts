/**
 * Python `logging` format strings, compiled to LogTape text formatters.
 *
 * A format such as `%(levelname) -10s %(asctime)s %(name)s: %(message)s`
 * takes the part of Python's printf-style `%` that logging configs use:
 * `%(field)s`, `%(field)d` and `%(field)f`, each with the flags `-`
 * (left-align), `0` (zero-pad a number) and ` ` (a space before a positive
 * number), a width and a `.precision`, and `%%`. Anything else Python
 * accepts (`%x`, `%e`, `%g`, `%r`, `%c`, the `#` and `+` flags, `*` widths)
 * is reported as unsupported.
 *
 * | field | value |
 * |---|---|
 * | `asctime` | the timestamp through `datefmt` (see `_strftime.ts`); default `2003-07-08 16:49:45,896` |
 * | `created`, `msecs`, `relativeCreated` | from the timestamp (millisecond precision), as Python floats; `relativeCreated` counts from process start |
 * | `levelname`, `levelno` | `TRACE` 5, `DEBUG` 10, `INFO` 20, `WARNING` 30, `ERROR` 40, `CRITICAL` 50 (LogTape `fatal`) |
 * | `name` | the category joined with dots; the root category `[]` is `root` |
 * | `message` | the message, values shown with `Deno.inspect` (strings as they are) |
 * | `pathname`, `filename`, `module`, `lineno` | LogTape's `sourceLocation` of the logging call (its logger must capture it: `captureSourceLocation`); Python's `(unknown file)` and `0` without one |
 * | `funcName` | the calling function, from V8's call sites (LogTape records no function name); `<anonymous>` for an unnamed one, `(unknown function)` outside a logging call |
 * | `process`, `thread` | `Deno.pid` (on Linux the main thread's id is the process id) |
 * | `processName`, `threadName` | `flagstaff`, `MainThread` |
 *
 * When the record's `error` property is an `Error` that the message does not
 * show already, its stack follows the line, as Python prints `exc_info`.
 *
 * @module
 */

import type { LogRecord, TextFormatter } from "../deps.ts";
import { LOG_LEVELS, PYTHON_LEVEL_NAMES, PYTHON_LEVEL_NUMBERS } from "./_tables.ts";
import { checkStrftime, strftime } from "./_strftime.ts";

/** Every `LogRecord` field a format may name, with the kind of value it holds. */
const FIELDS: Readonly<Record<string, "text" | "integer" | "float">> = {
  asctime: "text",
  created: "float",
  filename: "text",
  funcName: "text",
  levelname: "text",
  levelno: "integer",
  lineno: "integer",
  message: "text",
  module: "text",
  msecs: "float",
  name: "text",
  pathname: "text",
  process: "integer",
  processName: "text",
  relativeCreated: "float",
  thread: "integer",
  threadName: "text",
};

/** The fields taken from LogTape's `LogRecord.sourceLocation`: a logger must capture it for them. */
export const LOCATION_FIELDS = ["filename", "lineno", "module", "pathname"];

/** One `%(field)…` conversion of a format string. */
export interface Conversion {
  /** The field between the parentheses, a key of the field table. */
  field: string;
  /** The flags, any of `-`, `0`, ` `. */
  flags: string;
  /** Minimum width in characters; none when absent. */
  width?: number;
  /** Digits after the point (`f`), minimum digits (`d`) or maximum characters (`s`). */
  precision?: number;
  /** The conversion type: `s`, `d` or `f`. */
  type: "s" | "d" | "f";
}

/** A parsed format: literal text and conversions, and every problem found. */
export interface ParsedFormat {
  /** Literal text and conversions, in order; `%%` is already a literal `%`. */
  parts: (string | Conversion)[];
  /** Each problem as a sentence-case message; empty when the format is valid. */
  problems: string[];
}

const SUPPORTED = "flagstaff takes %(field)s, %(field)d and %(field)f, with the flags -, 0 and " +
  "space, a width and a precision";

/**
 * Parses a Python %-style logging format, reporting every directive it does
 * not support (naming it, e.g. `"%(levelno)x"`) rather than stopping at the first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePythonFormat } from "./_python_format.ts";
 * const parsed = parsePythonFormat("%(levelname) -10s %(message)s");
 * assert.deepEqual(parsed.parts[0], { field: "levelname", flags: " -", width: 10, type: "s" });
 * assert.match(parsePythonFormat("%(levelno)#x").problems[0], /^"%\(levelno\)#x" is not supported: /);
 * ```
 */
export function parsePythonFormat(format: string): ParsedFormat {
  const parts: (string | Conversion)[] = [];
  const problems: string[] = [];
  let literal = "";
  let index = 0;
  while (index < format.length) {
    const percent = format.indexOf("%", index);
    literal += format.slice(index, percent < 0 ? undefined : percent);
    if (percent < 0) break;
    index = percent + 2;
    if (format[percent + 1] === "%") {
      literal += "%";
      continue;
    }
    if (format[percent + 1] !== "(") {
      const found = percent + 1 < format.length
        ? `"${format.slice(percent, index)}"`
        : `"%" at the end`;
      problems.push(`expected "%(field)s" or "%%" at offset ${percent}, got ${found}`);
      index = percent + 1;
      continue;
    }
    const close = format.indexOf(")", index);
    if (close < 0) {
      problems.push(`expected ")" after "${format.slice(percent)}"`);
      break;
    }
    const field = format.slice(index, close);
    // Python's whole grammar, so that an unsupported directive is named in full.
    const [spec, flags, width, precision, length, type] =
      /^([-0 +#]*)(\d+|\*)?(?:\.(\d*|\*))?([hlL]?)(.)?/su.exec(format.slice(close + 1))!;
    const text = format.slice(percent, close + 1 + spec.length);
    index = close + 1 + spec.length;
    if (type === undefined || !"sradiuoxXeEfFgGc".includes(type)) {
      const found = type === undefined ? "the end of the format" : `"${type}"`;
      const before = type === undefined ? text : text.slice(0, -type.length);
      problems.push(`expected a conversion type (one of s, d, f) after "${before}", got ${found}`);
    } else if (!Object.hasOwn(FIELDS, field)) {
      const supported = Object.keys(FIELDS).join(", ");
      problems.push(`unknown field "${field}" in "${text}" (supported: ${supported})`);
    } else if (
      !"sdf".includes(type) || /[+#hlL]/.test(flags + length) || [width, precision].includes("*")
    ) {
      problems.push(`"${text}" is not supported: ${SUPPORTED}`);
    } else if (type !== "s" && FIELDS[field] === "text") {
      problems.push(`"${text}" needs a number, but field "${field}" is text`);
    } else {
      if (literal) parts.push(literal);
      literal = "";
      const conversion: Conversion = { field, flags, type: type as Conversion["type"] };
      if (width !== undefined) conversion.width = Number(width);
      if (precision !== undefined) conversion.precision = Number(precision || "0");
      parts.push(conversion);
    }
  }
  if (literal) parts.push(literal);
  return { parts, problems };
}

/**
 * Formats one value as Python's `%` operator would for a conversion: `s` of
 * a float field shows Python's `repr()` (`896.0`), `d` truncates toward zero,
 * `f` rounds half to even on the exact binary value (`%.2f` of
 * 1700000000.125 is `1700000000.12`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatConversion } from "./_python_format.ts";
 * assert.equal(formatConversion({ field: "levelname", flags: " -", width: 10, type: "s" }, "INFO"), "INFO      ");
 * assert.equal(formatConversion({ field: "msecs", flags: "0", width: 3, type: "d" }, 7.9), "007");
 * assert.equal(formatConversion({ field: "created", flags: "", precision: 2, type: "f" }, 2.125), "2.12");
 * ```
 */
export function formatConversion(conversion: Conversion, value: string | number): string {
  const { flags, type, precision, width = 0 } = conversion;
  let sign = "";
  let body: string;
  if (type === "s") {
    body = typeof value === "string"
      ? value
      : FIELDS[conversion.field] === "float"
      ? pyFloatRepr(value)
      : String(Math.trunc(value));
    if (precision !== undefined) body = Array.from(body).slice(0, precision).join("");
  } else {
    const number = type === "d" ? Math.trunc(Number(value)) : Number(value);
    const magnitude = Math.abs(number);
    sign = number < 0 || Object.is(number, -0) && type === "f"
      ? "-"
      : flags.includes(" ")
      ? " "
      : "";
    body = !Number.isFinite(magnitude)
      ? Number.isNaN(magnitude) ? "nan" : "inf"
      : type === "d"
      ? BigInt(magnitude).toString().padStart(precision ?? 0, "0")
      : toFixed(magnitude, precision ?? 6);
  }
  const padding = width - Array.from(body).length - sign.length;
  if (padding <= 0) return sign + body;
  if (flags.includes("-")) return sign + body + " ".repeat(padding);
  if (flags.includes("0") && type !== "s" && /^\d/.test(body)) {
    return sign + "0".repeat(padding) + body;
  }
  return " ".repeat(padding) + sign + body;
}

/** `magnitude` (finite, 0 or more) with `precision` digits after the point, ties to even, exactly. */
function toFixed(magnitude: number, precision: number): string {
  // magnitude = mantissa * 2 ** exponent, exactly (IEEE 754 double).
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, magnitude);
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  const fraction = bits & 0xfffffffffffffn;
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = biased === 0 ? -1074 : biased - 1075;
  const numerator = mantissa * 10n ** BigInt(precision) << BigInt(Math.max(0, exponent));
  const denominator = 1n << BigInt(Math.max(0, -exponent));
  let scaled = numerator / denominator;
  const twiceRemainder = (numerator % denominator) * 2n;
  if (twiceRemainder > denominator || (twiceRemainder === denominator && scaled % 2n === 1n)) {
    scaled++;
  }
  const digits = scaled.toString().padStart(precision + 1, "0");
  const whole = digits.slice(0, digits.length - precision);
  return precision > 0 ? `${whole}.${digits.slice(whole.length)}` : whole;
}

/**
 * Python's `repr()` of a float: the shortest digits that read back the same
 * value, laid out as Python does (`896.0`, `1e+16`, `1.5e-05`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pyFloatRepr } from "./_python_format.ts";
 * assert.equal(pyFloatRepr(896), "896.0");
 * assert.equal(pyFloatRepr(0.00001), "1e-05");
 * ```
 */
export function pyFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value < 0 ? "-inf" : "inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = Math.abs(value).toExponential().split("e");
  const exponent = Number(exponentText);
  const digits = mantissa.replace(".", "");
  const sign = value < 0 ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${body}e${exponent < 0 ? "-" : "+"}${
      String(Math.abs(exponent)).padStart(2, "0")
    }`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  return `${sign}${whole}.${digits.slice(exponent + 1) || "0"}`;
}

/**
 * Renders a record's message: its text parts as they are, its values with
 * `Deno.inspect` unless they are strings (so an `Error` shows its stack).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderMessage } from "./_python_format.ts";
 * const message = ["Took ", 12, " ms for ", "x", ""];
 * assert.equal(renderMessage({ message } as never), "Took 12 ms for x");
 * ```
 */
export function renderMessage(record: LogRecord): string {
  return record.message.map((part, index) =>
    index % 2 === 0 || typeof part === "string" ? String(part) : inspect(part)
  ).join("");
}

function inspect(value: unknown): string {
  return Deno.inspect(value, { colors: false, breakLength: Infinity });
}

/** Where the logging call was made, as Python's `LogRecord` names it; Python's values when unknown. */
function locationOf(record: LogRecord): Record<string, string | number> {
  const location = record.sourceLocation;
  if (location === undefined) {
    return {
      pathname: "(unknown file)",
      filename: "(unknown file)",
      module: "(unknown file)",
      lineno: 0,
    };
  }
  let pathname = location.file;
  if (pathname.startsWith("file:")) {
    try {
      pathname = decodeURIComponent(new URL(pathname).pathname);
    } catch {
      // Keep the URL as it is.
    }
  }
  const filename = pathname.slice(pathname.lastIndexOf("/") + 1);
  const dot = filename.lastIndexOf(".");
  const module = dot > 0 ? filename.slice(0, dot) : filename;
  return { pathname, filename, module, lineno: location.line };
}

/** The part of V8's call-site API that {@link callerName} reads. */
interface CallSite {
  getFileName(): string | null | undefined;
  getFunctionName(): string | null;
}

/** A call site in LogTape's core, which sits between the caller and every sink. */
const LOGTAPE_FILE = /[/\\]@logtape[/\\]logtape[/\\]/;

/**
 * The name of the function that called the logger: the call site just
 * outside the outermost LogTape one. LogTape's `sourceLocation` has no
 * function name, so this takes V8's structured call sites (no text parsing).
 * It works because sinks run synchronously inside the logging call, as every
 * flagstaff sink does.
 */
function callerName(): string {
  const saved = {
    stackTraceLimit: Error.stackTraceLimit,
    prepareStackTrace: Error.prepareStackTrace,
  };
  Error.stackTraceLimit = 100;
  Error.prepareStackTrace = (_error, sites) => sites;
  const sites = new Error().stack as unknown as CallSite[];
  Object.assign(Error, saved);
  const outermost = sites.findLastIndex((site) => LOGTAPE_FILE.test(site.getFileName() ?? ""));
  const caller = outermost < 0 ? undefined : sites[outermost + 1];
  return caller === undefined ? "(unknown function)" : caller.getFunctionName() || "<anonymous>";
}

/**
 * Compiles a Python logging format and optional `strftime` `datefmt` (for
 * `%(asctime)s`; default Python's `%Y-%m-%d %H:%M:%S,mmm`) into a LogTape
 * text formatter, which returns the line with its trailing newline.
 *
 * @throws {TypeError} naming the format and its first problem if the format
 *   or `datefmt` is invalid; check them first with {@link parsePythonFormat}
 *   and `checkStrftime` to get every problem.
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
export function compilePythonFormat(
  format: string,
  options: { datefmt?: string } = {},
): TextFormatter {
  const { parts, problems } = parsePythonFormat(format);
  const datefmt = options.datefmt;
  if (datefmt !== undefined) problems.push(...checkStrftime(datefmt));
  if (problems.length > 0) throw new TypeError(`Invalid log format "${format}": ${problems[0]}`);
  const fields = new Set(parts.flatMap((part) => typeof part === "string" ? [] : [part.field]));
  const usesLocation = LOCATION_FIELDS.some((field) => fields.has(field));
  return (record: LogRecord): string => {
    const date = new Date(record.timestamp);
    const level = LOG_LEVELS.indexOf(record.level);
    const values: Record<string, string | number> = {
      created: record.timestamp / 1000,
      msecs: Math.floor(record.timestamp % 1000),
      relativeCreated: record.timestamp - performance.timeOrigin,
      levelname: PYTHON_LEVEL_NAMES[level],
      levelno: PYTHON_LEVEL_NUMBERS[level],
      name: record.category.length === 0 ? "root" : record.category.join("."),
      process: Deno.pid,
      thread: Deno.pid,
      processName: "flagstaff",
      threadName: "MainThread",
      ...usesLocation ? locationOf(record) : {},
    };
    if (fields.has("asctime")) {
      values.asctime = datefmt === undefined
        ? `${strftime(date, "%Y-%m-%d %H:%M:%S")},${
          String(date.getMilliseconds()).padStart(3, "0")
        }`
        : strftime(date, datefmt);
    }
    if (fields.has("message")) values.message = renderMessage(record);
    if (fields.has("funcName")) values.funcName = callerName();
    let line = parts.map((part) =>
      typeof part === "string" ? part : formatConversion(part, values[part.field])
    ).join("");
    const error = record.properties.error;
    if (error instanceof Error && !record.message.includes(error)) line += `\n${inspect(error)}`;
    return `${line}\n`;
  };
}
