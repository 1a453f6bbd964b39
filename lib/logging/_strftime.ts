/**
 * Python's `time.strftime` for a formatter's `datefmt`, in local time.
 *
 * Directives: `%a %A %b %B %c %d %e %f %H %I %j %m %M %p %S %w %x %X %y %Y
 * %z %Z %%`. `%Z` is the zone's English abbreviation where ICU has one
 * (`CET`, `EST`), else `GMT+9` style.
 *
 * @module
 */

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  ...["January", "February", "March", "April", "May", "June", "July", "August"],
  ...["September", "October", "November", "December"],
];

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** The `strftime` directives a `datefmt` may use, each rendering local time. */
const DIRECTIVES: Readonly<Record<string, (date: Date) => string>> = {
  a: (date) => DAYS[date.getDay()].slice(0, 3),
  A: (date) => DAYS[date.getDay()],
  b: (date) => MONTHS[date.getMonth()].slice(0, 3),
  B: (date) => MONTHS[date.getMonth()],
  c: (date) => strftime(date, "%a %b %e %H:%M:%S %Y"),
  d: (date) => pad(date.getDate(), 2),
  e: (date) => String(date.getDate()).padStart(2, " "),
  f: (date) => pad(date.getMilliseconds() * 1000, 6),
  H: (date) => pad(date.getHours(), 2),
  I: (date) => pad((date.getHours() + 11) % 12 + 1, 2),
  j: (date) => {
    const startOfYear = new Date(date.getFullYear(), 0, 1).getTime();
    const startOfDay = new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
    return pad(Math.round((startOfDay - startOfYear) / 86_400_000) + 1, 3);
  },
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
    const absolute = Math.abs(offsetMinutes);
    return `${offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(absolute / 60), 2)}${
      pad(absolute % 60, 2)
    }`;
  },
  Z: zoneName,
  "%": () => "%",
};

/** English locales whose short zone names cover the common abbreviations (EST, CET, IST, AEST). */
const ZONE_LOCALES = ["en-US", "en-GB", "en-IN", "en-AU"];
let zoneFormats: Intl.DateTimeFormat[] | undefined;

/** The local zone's abbreviation, or `GMT+9` when no locale knows one. */
function zoneName(date: Date): string {
  zoneFormats ??= ZONE_LOCALES.map((locale) =>
    new Intl.DateTimeFormat(locale, { timeZoneName: "short" })
  );
  const names = zoneFormats.map((format) =>
    format.formatToParts(date).find((part) => part.type === "timeZoneName")?.value ?? ""
  );
  return names.find((name) => name && !/^GMT[+-]/.test(name)) ?? names.find(Boolean) ?? "";
}

/**
 * Lists what is wrong with a `strftime` pattern (an unknown directive, a lone
 * `%` at the end), each a sentence-case message; empty when it is valid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkStrftime } from "./_strftime.ts";
 * assert.deepEqual(checkStrftime("%Y-%m-%d %H:%M:%S"), []);
 * assert.match(checkStrftime("%Q")[0], /^unknown directive "%Q" \(supported: %a, /);
 * ```
 */
export function checkStrftime(pattern: string): string[] {
  const problems: string[] = [];
  for (let index = pattern.indexOf("%"); index >= 0; index = pattern.indexOf("%", index + 2)) {
    const directive = pattern[index + 1];
    if (directive === undefined) {
      problems.push(`expected a directive after the "%" at the end`);
    } else if (!Object.hasOwn(DIRECTIVES, directive)) {
      const supported = Object.keys(DIRECTIVES).map((name) => `%${name}`).join(", ");
      problems.push(`unknown directive "%${directive}" (supported: ${supported})`);
    }
  }
  return problems;
}

/**
 * Formats a date in local time like Python's `time.strftime`, for the
 * directives {@link checkStrftime} accepts; others are copied as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { strftime } from "./_strftime.ts";
 * const date = new Date(2003, 6, 8, 16, 49, 45, 896);
 * assert.equal(strftime(date, "%Y-%m-%d %H:%M:%S"), "2003-07-08 16:49:45");
 * assert.equal(strftime(date, "%a %d %b %I%p .%f"), "Tue 08 Jul 04PM .896000");
 * ```
 */
export function strftime(date: Date, pattern: string): string {
  return pattern.replace(
    /%(.)/gs,
    (text, directive) => Object.hasOwn(DIRECTIVES, directive) ? DIRECTIVES[directive](date) : text,
  );
}
