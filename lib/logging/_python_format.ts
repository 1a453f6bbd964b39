/**
 * Python `logging` format strings, compiled to LogTape text formatters.
 *
 * A format such as `%(levelname) -10s %(asctime)s %(name)s: %(message)s`
 * follows Python's printf-style rules (`%(key)[flags][width][.precision]type`,
 * flags `-`, `0`, ` `, `+`, `#`, the types `s r a d i u o x X e E f F g G c`,
 * and `%%`), with the fields of Python's `LogRecord`. A `datefmt` follows
 * `time.strftime` for a subset of directives, in local time (`%Z` is the
 * zone's English abbreviation where ICU has one, else `GMT+9` style).
 *
 * How each field is filled from a LogTape record:
 *
 * | field | value |
 * |---|---|
 * | `asctime` | the timestamp through `datefmt`; default `2003-07-08 16:49:45,896` |
 * | `created`, `msecs`, `relativeCreated` | from the timestamp (millisecond precision), as Python floats; `relativeCreated` counts from process start |
 * | `levelname`, `levelno` | `TRACE` 5, `DEBUG` 10, `INFO` 20, `WARNING` 30, `ERROR` 40, `CRITICAL` 50 (LogTape `fatal`) |
 * | `name` | the category joined with dots; the root category `[]` is `root` |
 * | `message` | the message, values shown with `Deno.inspect` (strings as-is) |
 * | `funcName`, `lineno`, `filename`, `pathname`, `module` | the code that called the logger, read from the stack (about 0.1 ms a record, paid only by formats that use them; a method shows its own name, an unnamed function `<anonymous>`); Python's `(unknown function)`, `0`, `(unknown file)` when it cannot be found |
 * | `process`, `thread` | `Deno.pid` (on Linux the main thread's id is the process id) |
 * | `processName`, `threadName` | `flagstaff`, `MainThread` |
 *
 * When the record's `error` property is an `Error` that the message does not
 * show already, its stack follows the line, as Python prints `exc_info`.
 *
 * @module
 */

import type { LogLevel, LogRecord, TextFormatter } from "../deps.ts";

/** What a field holds, which decides the conversion types it accepts. */
export type FieldKind = "text" | "integer" | "float";

/** Every `LogRecord` field a format may name, with its kind. */
export const LOG_RECORD_FIELDS: Readonly<Record<string, FieldKind>> = {
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

/** The fields that need the caller's stack frame. */
const CALLER_FIELDS: ReadonlySet<string> = new Set([
  "filename",
  "funcName",
  "lineno",
  "module",
  "pathname",
]);

/** The value `%(processName)s` shows. */
export const PROCESS_NAME = "flagstaff";

/** Python's default `asctime` layout, before `,` and the milliseconds. */
const DEFAULT_ASCTIME_FORMAT = "%Y-%m-%d %H:%M:%S";

/** One `%(key)…` conversion of a format string. */
export interface Conversion {
  /** The field between the parentheses. */
  field: string;
  /** The flags, any of `-`, `0`, ` `, `+`, `#`. */
  flags: string;
  /** Minimum width in characters; none when absent. */
  width?: number;
  /** Precision: digits after the point, significant digits, or maximum characters. */
  precision?: number;
  /** The conversion type, one of `s r a d i u o x X e E f F g G c`. */
  type: string;
}

/** A piece of a parsed format: literal text or a conversion. */
export type FormatPart = string | Conversion;

/** A parsed format: its parts, or what is wrong with it. */
export interface ParsedFormat {
  /** Literal text and conversions, in order; `%%` is already a literal `%`. */
  parts: FormatPart[];
  /** Every problem found, each a sentence-case message; empty when the format is valid. */
  problems: string[];
}

const CONVERSION_TYPES = "sradiuoxXeEfFgGc";
const INTEGER_ONLY_TYPES = "oxXc";
const NUMBER_TYPES = "diueEfFgG";

/**
 * Parses a Python %-style logging format.
 *
 * @example
 * ```ts
 * import { parsePythonFormat } from "./_python_format.ts";
 * const parsed = parsePythonFormat("%(levelname) -10s %(message)s");
 * console.assert(parsed.problems.length === 0);
 * console.assert(parsed.parts.length === 3);
 * ```
 */
export function parsePythonFormat(format: string): ParsedFormat {
  const parts: FormatPart[] = [];
  const problems: string[] = [];
  let literal = "";
  let index = 0;
  while (index < format.length) {
    const char = format[index];
    if (char !== "%") {
      literal += char;
      index++;
      continue;
    }
    if (format[index + 1] === "%") {
      literal += "%";
      index += 2;
      continue;
    }
    if (format[index + 1] !== "(") {
      const found = index + 1 < format.length
        ? `"${format.slice(index, index + 2)}"`
        : `"%" at the end`;
      problems.push(`expected "%(field)s" or "%%" at offset ${index}, got ${found}`);
      index++;
      continue;
    }
    const close = format.indexOf(")", index + 2);
    if (close < 0) {
      problems.push(`expected ")" after "${format.slice(index)}"`);
      break;
    }
    const field = format.slice(index + 2, close);
    const spec = /^([-0 +#]*)(\d+|\*)?(?:\.(\d*|\*))?[hlL]?(.)?/su.exec(format.slice(close + 1))!;
    const [matched, flags, width, precision, type] = spec;
    const text = format.slice(index, close + 1 + matched.length);
    index = close + 1 + matched.length;
    if (type === undefined || !CONVERSION_TYPES.includes(type)) {
      const found = type === undefined ? "the end of the format" : `"${type}"`;
      problems.push(
        `expected a conversion type (one of ${[...CONVERSION_TYPES].join(", ")}) after "${
          type === undefined ? text : text.slice(0, -type.length)
        }", got ${found}`,
      );
      continue;
    }
    const kind = LOG_RECORD_FIELDS[field];
    if (!Object.hasOwn(LOG_RECORD_FIELDS, field)) {
      problems.push(
        `unknown field "${field}" in "${text}" (supported: ${
          Object.keys(LOG_RECORD_FIELDS).join(", ")
        })`,
      );
      continue;
    }
    if (width === "*" || precision === "*") {
      problems.push(`"*" width or precision is not supported, in "${text}"`);
      continue;
    }
    if (INTEGER_ONLY_TYPES.includes(type) && kind !== "integer") {
      problems.push(`"${text}" needs an integer, but field "${field}" is ${describeKind(kind)}`);
      continue;
    }
    if (NUMBER_TYPES.includes(type) && kind === "text") {
      problems.push(`"${text}" needs a number, but field "${field}" is text`);
      continue;
    }
    if (literal) parts.push(literal);
    literal = "";
    const conversion: Conversion = { field, flags, type };
    if (width !== undefined) conversion.width = Number(width);
    if (precision !== undefined) conversion.precision = Number(precision || "0");
    parts.push(conversion);
  }
  if (literal) parts.push(literal);
  return { parts, problems };
}

function describeKind(kind: FieldKind): string {
  return kind === "float" ? "a float" : kind === "integer" ? "an integer" : "text";
}

/**
 * Formats one value as Python's `%` operator would for a conversion.
 *
 * @example
 * ```ts
 * import { formatConversion } from "./_python_format.ts";
 * console.assert(formatConversion({ field: "levelname", flags: " -", width: 10, type: "s" }, "INFO") === "INFO      ");
 * console.assert(formatConversion({ field: "msecs", flags: "0", width: 3, type: "d" }, 7) === "007");
 * ```
 */
export function formatConversion(conversion: Conversion, value: string | number): string {
  const { flags, type, precision } = conversion;
  let body: string;
  let sign = "";
  let zeroPaddable = false;
  if (type === "s" || type === "r" || type === "a") {
    const kind = LOG_RECORD_FIELDS[conversion.field] ?? "text";
    body = type === "s" ? pyStr(value, kind) : pyRepr(value, kind, type === "a");
    if (precision !== undefined) body = Array.from(body).slice(0, precision).join("");
  } else if (type === "c") {
    body = String.fromCodePoint(Number(value));
  } else {
    const number = Number(value);
    const negative = number < 0 || Object.is(number, -0);
    sign = negative ? "-" : flags.includes("+") ? "+" : flags.includes(" ") ? " " : "";
    const magnitude = Math.abs(number);
    if (!Number.isFinite(magnitude)) {
      body = Number.isNaN(magnitude) ? "nan" : "inf";
      if ("EFG".includes(type)) body = body.toUpperCase();
    } else {
      zeroPaddable = true;
      body = formatMagnitude(magnitude, type, flags.includes("#"), precision);
    }
  }
  const width = conversion.width ?? 0;
  const length = Array.from(body).length + sign.length;
  if (length >= width) return sign + body;
  const padding = width - length;
  if (flags.includes("-")) return sign + body + " ".repeat(padding);
  if (zeroPaddable && flags.includes("0")) {
    const prefix = /^0[xXo]/.test(body) && flags.includes("#") ? body.slice(0, 2) : "";
    return sign + prefix + "0".repeat(padding) + body.slice(prefix.length);
  }
  return " ".repeat(padding) + sign + body;
}

function formatMagnitude(
  magnitude: number,
  type: string,
  alternate: boolean,
  precision: number | undefined,
): string {
  switch (type) {
    case "d":
    case "i":
    case "u": {
      const digits = BigInt(Math.trunc(magnitude)).toString();
      return precision === undefined ? digits : digits.padStart(precision, "0");
    }
    case "o":
    case "x":
    case "X": {
      const radix = type === "o" ? 8 : 16;
      let digits = BigInt(Math.trunc(magnitude)).toString(radix);
      if (precision !== undefined) digits = digits.padStart(precision, "0");
      if (type === "X") digits = digits.toUpperCase();
      return alternate ? `0${type === "o" ? "o" : type}${digits}` : digits;
    }
    case "f":
    case "F":
      return toFixed(magnitude, precision ?? 6, alternate);
    case "e":
    case "E": {
      const text = toExponential(magnitude, precision ?? 6, alternate);
      return type === "E" ? text.toUpperCase() : text;
    }
    default: {
      const text = toGeneral(magnitude, precision ?? 6, alternate);
      return type === "G" ? text.toUpperCase() : text;
    }
  }
}

/** Splits a finite double into an exact `mantissa * 2 ** exponent`. */
function decompose(value: number): [bigint, number] {
  if (value === 0) return [0n, 0];
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  return biased === 0 ? [fraction, -1074] : [fraction | (1n << 52n), biased - 1075];
}

/** `round(magnitude * 10 ** scale)` with ties to even, exactly, as Python does. */
function roundScaled(magnitude: number, scale: number): bigint {
  const [mantissa, exponent] = decompose(magnitude);
  let numerator = mantissa;
  let denominator = 1n;
  if (exponent >= 0) numerator <<= BigInt(exponent);
  else denominator <<= BigInt(-exponent);
  if (scale >= 0) numerator *= 10n ** BigInt(scale);
  else denominator *= 10n ** BigInt(-scale);
  const quotient = numerator / denominator;
  const twiceRemainder = (numerator % denominator) * 2n;
  if (twiceRemainder > denominator || (twiceRemainder === denominator && quotient % 2n === 1n)) {
    return quotient + 1n;
  }
  return quotient;
}

function toFixed(magnitude: number, precision: number, alternate: boolean): string {
  const digits = roundScaled(magnitude, precision).toString().padStart(precision + 1, "0");
  const whole = digits.slice(0, digits.length - precision);
  const fraction = digits.slice(digits.length - precision);
  return precision > 0 ? `${whole}.${fraction}` : alternate ? `${whole}.` : whole;
}

/** The digits (precision + 1 of them) and decimal exponent of a magnitude. */
function scientific(magnitude: number, precision: number): [string, number] {
  if (magnitude === 0) return ["0".repeat(precision + 1), 0];
  let exponent = Math.floor(Math.log10(magnitude));
  for (;;) {
    const digits = roundScaled(magnitude, precision - exponent).toString();
    if (digits.length > precision + 1) exponent++;
    else if (digits.length < precision + 1) exponent--;
    else return [digits, exponent];
  }
}

function toExponential(magnitude: number, precision: number, alternate: boolean): string {
  const [digits, exponent] = scientific(magnitude, precision);
  const mantissa = precision > 0
    ? `${digits[0]}.${digits.slice(1)}`
    : alternate
    ? `${digits}.`
    : digits;
  return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

function toGeneral(magnitude: number, precision: number, alternate: boolean): string {
  const significant = precision === 0 ? 1 : precision;
  const [, exponent] = scientific(magnitude, significant - 1);
  let text = exponent >= -4 && exponent < significant
    ? toFixed(magnitude, significant - 1 - exponent, alternate)
    : toExponential(magnitude, significant - 1, alternate);
  if (!alternate) {
    text = text.replace(
      /^(\d+)\.(\d*?)0*(e|$)/,
      (_, whole, fraction, rest) => `${whole}${fraction ? `.${fraction}` : ""}${rest}`,
    );
  }
  return text;
}

/** Python's `str()` of a field value: floats keep their `.0`. */
function pyStr(value: string | number, kind: FieldKind): string {
  if (typeof value === "string") return value;
  return kind === "float" ? pyFloatRepr(value) : String(Math.trunc(value));
}

/** Python's `repr()` (or `ascii()`) of a field value. */
function pyRepr(value: string | number, kind: FieldKind, ascii: boolean): string {
  if (typeof value !== "string") return pyStr(value, kind);
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let text = "";
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === "\\" || char === quote) text += `\\${char}`;
    else if (char === "\n") text += "\\n";
    else if (char === "\r") text += "\\r";
    else if (char === "\t") text += "\\t";
    else if (code < 0x20 || code === 0x7f || (ascii && code > 0x7f && code <= 0xff)) {
      text += `\\x${code.toString(16).padStart(2, "0")}`;
    } else if (ascii && code > 0xff) {
      text += code > 0xffff
        ? `\\U${code.toString(16).padStart(8, "0")}`
        : `\\u${code.toString(16).padStart(4, "0")}`;
    } else text += char;
  }
  return `${quote}${text}${quote}`;
}

/**
 * Python's `repr()` of a float: the shortest digits that read back the same
 * value, laid out as Python does (`896.0`, `1e+16`, `1.5e-05`).
 *
 * @example
 * ```ts
 * import { pyFloatRepr } from "./_python_format.ts";
 * console.assert(pyFloatRepr(896) === "896.0");
 * console.assert(pyFloatRepr(0.00001) === "1e-05");
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
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction || "0"}`;
}

const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTH_NAMES = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** The `strftime` directives a `datefmt` may use, each rendering local time. */
const STRFTIME_DIRECTIVES: Readonly<Record<string, (date: Date) => string>> = {
  a: (date) => DAY_NAMES[date.getDay()].slice(0, 3),
  A: (date) => DAY_NAMES[date.getDay()],
  b: (date) => MONTH_NAMES[date.getMonth()].slice(0, 3),
  B: (date) => MONTH_NAMES[date.getMonth()],
  c: (date) => strftime(date, "%a %b %e %H:%M:%S %Y"),
  d: (date) => pad(date.getDate(), 2),
  e: (date) => String(date.getDate()).padStart(2, " "),
  f: (date) => pad(date.getMilliseconds() * 1000, 6),
  H: (date) => pad(date.getHours(), 2),
  I: (date) => pad((date.getHours() + 11) % 12 + 1, 2),
  j: (date) => pad(dayOfYear(date), 3),
  m: (date) => pad(date.getMonth() + 1, 2),
  M: (date) => pad(date.getMinutes(), 2),
  p: (date) => date.getHours() < 12 ? "AM" : "PM",
  S: (date) => pad(date.getSeconds(), 2),
  w: (date) => String(date.getDay()),
  x: (date) => strftime(date, "%m/%d/%y"),
  X: (date) => strftime(date, "%H:%M:%S"),
  y: (date) => pad(date.getFullYear() % 100, 2),
  Y: (date) => String(date.getFullYear()),
  z: (date) => {
    const offsetMinutes = -date.getTimezoneOffset();
    const sign = offsetMinutes < 0 ? "-" : "+";
    const absolute = Math.abs(offsetMinutes);
    return `${sign}${pad(Math.floor(absolute / 60), 2)}${pad(absolute % 60, 2)}`;
  },
  Z: (date) => timeZoneName(date),
  "%": () => "%",
};

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

function dayOfYear(date: Date): number {
  const start = new Date(date.getFullYear(), 0, 1);
  const startOfDay = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  return Math.round((startOfDay.getTime() - start.getTime()) / 86_400_000) + 1;
}

/** English locales whose short zone names cover the common abbreviations (EST, CET, IST, AEST). */
const ZONE_NAME_LOCALES = ["en-US", "en-GB", "en-IN", "en-AU"];
let zoneNameFormats: Intl.DateTimeFormat[] | undefined;

/** The local zone's abbreviation, or `GMT+9` when no locale knows one. */
function timeZoneName(date: Date): string {
  zoneNameFormats ??= ZONE_NAME_LOCALES.map((locale) =>
    new Intl.DateTimeFormat(locale, { timeZoneName: "short" })
  );
  let fallback = "";
  for (const format of zoneNameFormats) {
    const name = format.formatToParts(date).find((part) => part.type === "timeZoneName")?.value ??
      "";
    if (name && !/^GMT[+-]/.test(name)) return name;
    fallback ||= name;
  }
  return fallback;
}

/**
 * Lists what is wrong with a `strftime` pattern (an unknown directive, a lone
 * `%` at the end); empty when it is valid.
 *
 * @example
 * ```ts
 * import { checkStrftime } from "./_python_format.ts";
 * console.assert(checkStrftime("%Y-%m-%d %H:%M:%S").length === 0);
 * console.assert(checkStrftime("%Q").length === 1);
 * ```
 */
export function checkStrftime(pattern: string): string[] {
  const problems: string[] = [];
  for (let index = 0; index < pattern.length; index++) {
    if (pattern[index] !== "%") continue;
    const directive = pattern[index + 1];
    if (directive === undefined) {
      problems.push(`expected a directive after the "%" at the end`);
    } else if (!Object.hasOwn(STRFTIME_DIRECTIVES, directive)) {
      problems.push(
        `unknown directive "%${directive}" (supported: ${
          Object.keys(STRFTIME_DIRECTIVES).map((name) => `%${name}`).join(", ")
        })`,
      );
    }
    index++;
  }
  return problems;
}

/**
 * Formats a date in local time like Python's `time.strftime`, for the
 * directives {@link checkStrftime} accepts; others are copied as they are.
 *
 * @example
 * ```ts
 * import { strftime } from "./_python_format.ts";
 * const date = new Date(2003, 6, 8, 16, 49, 45, 896);
 * console.assert(strftime(date, "%Y-%m-%d %H:%M:%S") === "2003-07-08 16:49:45");
 * console.assert(strftime(date, "%a %d %b %I%p .%f") === "Tue 08 Jul 04PM .896000");
 * ```
 */
export function strftime(date: Date, pattern: string): string {
  let text = "";
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    const directive = pattern[index + 1];
    if (char === "%" && directive !== undefined && Object.hasOwn(STRFTIME_DIRECTIVES, directive)) {
      text += STRFTIME_DIRECTIVES[directive](date);
      index++;
    } else {
      text += char;
    }
  }
  return text;
}

/**
 * Renders a record's message: its text parts as they are, its values with
 * `Deno.inspect` unless they are strings (so an `Error` shows its stack).
 *
 * @example
 * ```ts
 * import { renderMessage } from "./_python_format.ts";
 * import type { LogRecord } from "../deps.ts";
 * const record: LogRecord = {
 *   category: ["app"], level: "info", message: ["Took ", 12, " ms for ", "x"],
 *   rawMessage: "Took {ms} ms for {name}", timestamp: 0, properties: {},
 * };
 * console.assert(renderMessage(record) === "Took 12 ms for x");
 * ```
 */
export function renderMessage(record: LogRecord): string {
  let text = "";
  const message = record.message;
  for (let index = 0; index < message.length; index++) {
    const part = message[index];
    text += index % 2 === 0 || typeof part === "string" ? String(part) : inspect(part);
  }
  return text;
}

function inspect(value: unknown): string {
  return Deno.inspect(value, { colors: false, breakLength: Infinity });
}

/** Python's `levelname` for each LogTape level. */
const LEVEL_NAMES: Readonly<Record<LogLevel, string>> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

/** Python's `levelno` for each LogTape level. */
const LEVEL_NUMBERS: Readonly<Record<LogLevel, number>> = {
  trace: 5,
  debug: 10,
  info: 20,
  warning: 30,
  error: 40,
  fatal: 50,
};

/** Where the logging call was made, as Python's `LogRecord` reports it. */
interface Caller {
  funcName: string;
  lineno: number;
  pathname: string;
  filename: string;
  module: string;
}

/** Python's values when `findCaller()` finds nothing. */
const UNKNOWN_CALLER: Caller = {
  funcName: "(unknown function)",
  lineno: 0,
  pathname: "(unknown file)",
  filename: "(unknown file)",
  module: "(unknown file)",
};

/** A frame of LogTape's core, which sits between the caller and every sink. */
const LOGTAPE_FRAME = /[/\\]@logtape[/\\]logtape[/\\]/;

/**
 * Finds the code that called the logger: the frame just outside the
 * outermost LogTape frame on the current stack. It works because sinks run
 * synchronously inside the logging call, as every flagstaff sink does.
 */
function findCaller(): Caller {
  const savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = savedLimit;
  const frames = stack.split("\n").slice(1);
  let outermost = -1;
  frames.forEach((frame, index) => {
    if (LOGTAPE_FRAME.test(frame)) outermost = index;
  });
  const frame = outermost >= 0 ? frames[outermost + 1] : undefined;
  return frame === undefined ? UNKNOWN_CALLER : parseFrame(frame) ?? UNKNOWN_CALLER;
}

/** Parses a V8 frame, `    at name (file:///x.ts:1:2)` or `    at file:///x.ts:1:2`. */
function parseFrame(frame: string): Caller | undefined {
  const match = /^\s*at (?:(.*?) \((.*)\)|(.*))$/.exec(frame);
  if (!match) return undefined;
  const location = /^(.*):(\d+):\d+$/.exec(match[2] ?? match[3]);
  if (!location) return undefined;
  let name = (match[1] ?? "").replace(/^(?:async |new )/, "").replace(/ \[as [^\]]*\]$/, "");
  if (name.includes(".") && !name.endsWith(".<anonymous>")) {
    name = name.slice(name.lastIndexOf(".") + 1);
  }
  let pathname = location[1];
  if (pathname.startsWith("file://")) {
    try {
      pathname = decodeURIComponent(new URL(pathname).pathname);
    } catch {
      // Keep the URL as it is.
    }
  }
  const filename = pathname.slice(
    Math.max(pathname.lastIndexOf("/"), pathname.lastIndexOf("\\")) + 1,
  );
  const dot = filename.lastIndexOf(".");
  return {
    funcName: name || "<anonymous>",
    lineno: Number(location[2]),
    pathname,
    filename,
    module: dot > 0 ? filename.slice(0, dot) : filename,
  };
}

/** Options for {@link compilePythonFormat}. */
export interface PythonFormatterOptions {
  /** A `strftime` pattern for `%(asctime)s`. Default: Python's `%Y-%m-%d %H:%M:%S,mmm`. */
  datefmt?: string;
}

/**
 * Compiles a Python logging format into a LogTape text formatter, which
 * returns the line with its trailing newline. Throws a `TypeError` naming the
 * first problem if the format or `datefmt` is invalid; check them first with
 * {@link parsePythonFormat} and {@link checkStrftime} to get every problem.
 *
 * @example
 * ```ts
 * import { compilePythonFormat } from "./_python_format.ts";
 * const format = compilePythonFormat("%(levelname)-8s %(name)s: %(message)s");
 * const line = format({
 *   category: ["app", "db"], level: "warning", message: ["Slow query"],
 *   rawMessage: "Slow query", timestamp: Date.now(), properties: {},
 * });
 * console.assert(line === "WARNING  app.db: Slow query\n");
 * ```
 */
export function compilePythonFormat(
  format: string,
  options: PythonFormatterOptions = {},
): TextFormatter {
  const { parts, problems } = parsePythonFormat(format);
  const datefmt = options.datefmt;
  if (datefmt !== undefined) problems.push(...checkStrftime(datefmt));
  if (problems.length > 0) {
    throw new TypeError(`Invalid log format "${format}": ${problems[0]}`);
  }
  const needsCaller = parts.some((part) =>
    typeof part !== "string" && CALLER_FIELDS.has(part.field)
  );
  return (record: LogRecord): string => {
    const caller = needsCaller ? findCaller() : UNKNOWN_CALLER;
    let message: string | undefined;
    let line = "";
    for (const part of parts) {
      if (typeof part === "string") {
        line += part;
        continue;
      }
      let value: string | number;
      switch (part.field) {
        case "asctime": {
          const date = new Date(record.timestamp);
          value = datefmt === undefined
            ? `${strftime(date, DEFAULT_ASCTIME_FORMAT)},${pad(date.getMilliseconds(), 3)}`
            : strftime(date, datefmt);
          break;
        }
        case "created":
          value = record.timestamp / 1000;
          break;
        case "levelname":
          value = LEVEL_NAMES[record.level];
          break;
        case "levelno":
          value = LEVEL_NUMBERS[record.level];
          break;
        case "message":
          value = message ??= renderMessage(record);
          break;
        case "msecs":
          value = Math.floor(record.timestamp % 1000);
          break;
        case "name":
          value = record.category.length === 0 ? "root" : record.category.join(".");
          break;
        case "process":
        case "thread":
          value = Deno.pid;
          break;
        case "processName":
          value = PROCESS_NAME;
          break;
        case "relativeCreated":
          value = record.timestamp - performance.timeOrigin;
          break;
        case "threadName":
          value = "MainThread";
          break;
        default:
          value = caller[part.field as keyof Caller];
      }
      line += formatConversion(part, value);
    }
    const error = record.properties.error;
    if (error instanceof Error && !record.message.includes(error)) line += `\n${inspect(error)}`;
    return `${line}\n`;
  };
}
