/**
 * `cron:` schedules: calendar times in a time zone. All calendar arithmetic
 * is croner's (`npm:croner`, loaded on first use through `loadCroner()`);
 * this module validates the config values, fixes the dialect and makes the
 * results safe to chain.
 *
 * The dialect:
 *
 * - 5 fields, `minute hour day-of-month month day-of-week`, or 6 with
 *   seconds first. Ranges, lists and steps (`1-5`, `1,15`, `*\/10`), names
 *   (`jan`, `mon-fri`), Sunday as 0 or 7. When both day fields are
 *   restricted a day matches either (`0 0 1 * 1`: the 1st and every Monday),
 *   as in Vixie cron. croner's extensions work too: `L` (last day of the
 *   month), `W` (nearest weekday), `#` (`fri#2`, the second Friday), `?`.
 * - Nicknames: `@hourly`, `@daily`, `@weekly` (Sunday 00:00), `@monthly`,
 *   and croner's other aliases `@yearly`, `@annually` (1 January 00:00) and
 *   `@midnight` (= `@daily`), any case. `@reboot` is refused: it is an
 *   event, not a time. An unknown nickname is refused with the list.
 * - 7 fields (croner's year field) are refused: a run that stops after a
 *   given year belongs in the config's history, not in a schedule.
 * - An expression that matches no date (`0 0 31 2 *`) is refused.
 *
 * Times are wall-clock times in `timezone` (an IANA name), by default the
 * process's local zone, resolved once to its name. Across daylight-saving
 * changes:
 *
 * - a time in the hour that is skipped (spring forward) runs once, shifted
 *   forward by the gap: `30 2 * * *` runs at 03:30 on that day in
 *   Europe/Berlin; when that lands on another run time they are one run;
 * - a time in the hour that happens twice (fall back) runs once, at its
 *   first occurrence: `30 1 * * *` in America/New_York runs at 01:30 EDT,
 *   not again at 01:30 EST; so an every-30-minutes cron pauses for the
 *   repeated hour. Use `every:` for periods that must not bend to the
 *   calendar.
 *
 * croner's own `nextRuns()` repeats and reorders times across a spring
 * forward, and its `nextRun()` from inside a repeated hour answers a time in
 * the past; {@link CronCalendar.nextAfter} steps over both, so its answers
 * are always strictly increasing.
 *
 * Errors are {@link FlagstaffError}s with code `config_invalid` whose message
 * is an issue text (`expected …, got …`) for the config loader to place.
 *
 * @module
 */

import { type CronerModule, loadCroner } from "../deps.ts";
import { describeValue, FlagstaffError } from "../core/errors.ts";
import { countBySteps, type Timetable } from "./timetable.ts";

/** The nicknames accepted, lower case, with what croner expands them to. */
export const CRON_NICKNAMES: Readonly<Record<string, string>> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@midnight": "0 0 * * *",
};

/** What every cron error message says is expected. */
export const CRON_EXPECTED: string =
  "a cron expression of 5 fields (minute hour day-of-month month day-of-week), " +
  "6 with seconds first, or @hourly, @daily, @weekly, @monthly";

/** What every time zone error message says is expected. */
export const TIMEZONE_EXPECTED: string =
  'an IANA time zone name such as "Europe/Berlin", "America/New_York" or "UTC"';

/** Steps {@link CronCalendar.nextAfter} takes at most to leave a repeated hour. */
const MAX_STEPS = 100_000;

/** A validated `cron:` schedule. */
export interface CronCalendar extends Timetable {
  /** The expression as written (trimmed). */
  readonly expression: string;
  /** The IANA time zone its times are in: the one given or the local one. */
  readonly timezone: string;
  /**
   * The first `count` run times strictly after `from`, in increasing order;
   * fewer when the expression stops matching (never for 5 or 6 fields).
   *
   * @param from Where to start, excluded.
   * @param count How many, a whole number; 0 or less gives none.
   */
  nextRuns(from: Date, count: number): Date[];
}

/** Options for {@link parseCron}. */
export interface CronCalendarOptions {
  /**
   * The config's `timezone:` value, checked by {@link checkTimezone}.
   * Default: the process's local time zone ({@link localTimezone}).
   */
  timezone?: unknown;
}

/**
 * Validates a `cron:` value and its `timezone:`, and returns its calendar.
 * Loads croner on the first call (about 2 ms; see `lib/deps.ts`).
 *
 * @param expression The config value: a string (see the module doc for the
 *   dialect).
 * @returns The calendar, whose methods are synchronous and pure.
 * @throws {FlagstaffError} `config_invalid` with an issue text: not a string,
 *   empty, a wrong number of fields, an unknown nickname or `@reboot`, a
 *   field croner rejects (its reason quoted), no matching date, or an
 *   invalid `timezone` ({@link checkTimezone}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCron } from "./calendar.ts";
 * const calendar = await parseCron("30 2 * * *", { timezone: "Europe/Berlin" });
 * // 2025-03-30 is the spring-forward day: 02:30 does not exist and runs at 03:30 CEST.
 * const runs = calendar.nextRuns(new Date("2025-03-29T12:00:00Z"), 2);
 * assert.deepEqual(runs.map((d) => d.toISOString()), [
 *   "2025-03-30T01:30:00.000Z", // 03:30 CEST
 *   "2025-03-31T00:30:00.000Z", // 02:30 CEST
 * ]);
 * await assert.rejects(parseCron("* * * *"), /has 4 fields/);
 * ```
 */
export async function parseCron(
  expression: unknown,
  options: CronCalendarOptions = {},
): Promise<CronCalendar> {
  await loadCronCalendars();
  return parseCronLoaded(expression, options);
}

/** croner, once {@link loadCronCalendars} has loaded it. */
let croner: CronerModule | undefined;

/**
 * Loads croner (about 2 ms; see `lib/deps.ts`), so that
 * {@link parseCronLoaded} can check cron expressions synchronously (the
 * config's checks are synchronous). Call it before the privilege drop: the
 * package cache may be unreadable after it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCronCalendars, parseCronLoaded } from "./calendar.ts";
 * await loadCronCalendars();
 * assert.equal(parseCronLoaded("@hourly", { timezone: "UTC" }).description, 'cron "@hourly" (UTC)');
 * ```
 */
export async function loadCronCalendars(): Promise<void> {
  croner ??= await loadCroner();
}

/** Whether {@link loadCronCalendars} has loaded croner. */
export function isCronLoaded(): boolean {
  return croner !== undefined;
}

/**
 * {@link parseCron}, synchronously, once {@link loadCronCalendars} has
 * loaded croner.
 *
 * @throws {FlagstaffError} `config_invalid`, as {@link parseCron}.
 * @throws {Error} When croner is not loaded yet (a bug).
 */
export function parseCronLoaded(
  expression: unknown,
  options: CronCalendarOptions = {},
): CronCalendar {
  const text = checkCronSyntax(expression);
  const timezone = options.timezone === undefined
    ? localTimezone()
    : checkTimezone(options.timezone);
  if (!croner) throw new Error("Bug: parseCronLoaded() before loadCronCalendars()");
  const { Cron } = croner;
  let cron: InstanceType<CronerModule["Cron"]>;
  try {
    cron = new Cron(text, { timezone, mode: "5-or-6-parts", domAndDow: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    fail(
      expression,
      reason.replace(/^CronPattern: /, "").replace(/^[A-Z][a-z]/, lower).replace(/\.$/, ""),
    );
  }
  if (cron.nextRun(new Date(0)) === null) fail(expression, "no date matches it");
  return new CronerCalendar(cron, text, timezone);
}

/** Options for {@link nextRuns}. */
export interface NextRunsOptions extends CronCalendarOptions {
  /** How many run times, a whole number. Default 5. */
  count?: number;
}

/**
 * The next run times of a cron expression: {@link parseCron} then
 * {@link CronCalendar.nextRuns}, for a one-off answer (a `--next` listing).
 *
 * @param expression The config value (see the module doc for the dialect).
 * @param from Where to start, excluded.
 * @returns `options.count` times, strictly increasing, as `Date`s.
 * @throws {FlagstaffError} `config_invalid`, as {@link parseCron}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextRuns } from "./calendar.ts";
 * const runs = await nextRuns("30 1 * * *", new Date("2025-11-01T12:00:00Z"), {
 *   timezone: "America/New_York",
 *   count: 2,
 * });
 * // 2025-11-02 falls back: 01:30 happens twice and runs once, at 01:30 EDT.
 * assert.deepEqual(runs.map((d) => d.toISOString()), [
 *   "2025-11-02T05:30:00.000Z",
 *   "2025-11-03T06:30:00.000Z",
 * ]);
 * ```
 */
export async function nextRuns(
  expression: unknown,
  from: Date,
  options: NextRunsOptions = {},
): Promise<Date[]> {
  const calendar = await parseCron(expression, options);
  return calendar.nextRuns(from, options.count ?? 5);
}

/**
 * Checks a cron expression's shape without croner: a non-empty string with
 * 5 or 6 fields or an accepted nickname. {@link parseCron} does this and
 * then lets croner check each field.
 *
 * @param expression The config value.
 * @returns The expression, trimmed.
 * @throws {FlagstaffError} `config_invalid` with an issue text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCronSyntax } from "./calendar.ts";
 * assert.equal(checkCronSyntax(" @Daily "), "@Daily");
 * assert.throws(() => checkCronSyntax("@reboot"), /@reboot is an event at start, not a time/);
 * assert.throws(() => checkCronSyntax("* * * *"), /it has 4 fields/);
 * ```
 */
export function checkCronSyntax(expression: unknown): string {
  if (typeof expression !== "string") fail(expression);
  const text = expression.trim();
  if (text === "") fail(expression, "it is empty");
  if (text.startsWith("@")) {
    const nickname = text.toLowerCase();
    if (nickname === "@reboot") {
      fail(expression, "@reboot is an event at start, not a time");
    }
    if (!Object.hasOwn(CRON_NICKNAMES, nickname)) {
      fail(
        expression,
        `unknown nickname "${text}" (expected ${Object.keys(CRON_NICKNAMES).join(", ")})`,
      );
    }
    return text;
  }
  const fields = text.split(/\s+/).length;
  if (fields === 7) {
    fail(expression, "it has 7 fields; a year field is not supported");
  }
  if (fields !== 5 && fields !== 6) fail(expression, `it has ${fields} fields`);
  return text;
}

/**
 * Checks a `timezone:` value: an IANA time zone name this runtime knows
 * (`Europe/Berlin`, `UTC`, `Etc/GMT+1`; case-insensitive, as ICU reads it).
 * UTC offsets such as `+01:00` are refused: an offset has no daylight-saving
 * rules, so it would be right half of the year.
 *
 * @param value The config value.
 * @returns The name as written, trimmed.
 * @throws {FlagstaffError} `config_invalid` with an issue text: not a
 *   string, empty, an offset, or unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkTimezone } from "./calendar.ts";
 * assert.equal(checkTimezone("America/New_York"), "America/New_York");
 * assert.throws(() => checkTimezone("Mars/Olympus_Mons"), /unknown time zone/);
 * ```
 */
export function checkTimezone(value: unknown): string {
  if (typeof value !== "string") failTimezone(value);
  const name = value.trim();
  if (name === "") failTimezone(value, "it is empty");
  if (/^[+\-\d]/.test(name)) failTimezone(value, "a UTC offset is not a time zone name");
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
  } catch {
    failTimezone(value, "unknown time zone");
  }
  return name;
}

/**
 * The process's local time zone, as an IANA name (from `TZ` or
 * `/etc/localtime`, as the runtime read them at start); `UTC` when the
 * runtime has none.
 *
 * @returns A name {@link checkTimezone} accepts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkTimezone, localTimezone } from "./calendar.ts";
 * assert.equal(checkTimezone(localTimezone()), localTimezone());
 * ```
 */
export function localTimezone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** A {@link CronCalendar} over a croner `Cron` (never scheduled: no timers). */
class CronerCalendar implements CronCalendar {
  readonly #cron: InstanceType<CronerModule["Cron"]>;
  readonly expression: string;
  readonly timezone: string;
  readonly description: string;

  constructor(cron: InstanceType<CronerModule["Cron"]>, expression: string, timezone: string) {
    this.#cron = cron;
    this.expression = expression;
    this.timezone = timezone;
    this.description = `cron "${expression}" (${timezone})`;
  }

  nextAfter(afterMs: number): number | null {
    let from = new Date(afterMs);
    for (let step = 0; step < MAX_STEPS; step++) {
      const next = this.#cron.nextRun(from);
      if (next === null) return null;
      if (next.getTime() > afterMs) return next.getTime();
      // `afterMs` is in the second pass of a repeated hour: croner answered a
      // wall time's first occurrence, already past. Step on in wall time.
      from = next;
    }
    throw new Error(
      `Bug: ${this.description} found no time after ${afterMs} in ${MAX_STEPS} steps`,
    );
  }

  countBetween(afterMs: number, untilMs: number, limit: number): number {
    return countBySteps(this, afterMs, untilMs, limit);
  }

  nextRuns(from: Date, count: number): Date[] {
    const runs: Date[] = [];
    let at: number | null = from.getTime();
    while (runs.length < count) {
      at = this.nextAfter(at);
      if (at === null) break;
      runs.push(new Date(at));
    }
    return runs;
  }
}

function lower(text: string): string {
  return text.toLowerCase();
}

function fail(value: unknown, why?: string): never {
  const found = typeof value === "string" ? JSON.stringify(value) : describeValue(value);
  throw new FlagstaffError(
    "config_invalid",
    `expected ${CRON_EXPECTED}, got ${found}${why ? `: ${why}` : ""}`,
  );
}

function failTimezone(value: unknown, why?: string): never {
  const found = typeof value === "string" ? JSON.stringify(value) : describeValue(value);
  throw new FlagstaffError(
    "config_invalid",
    `expected ${TIMEZONE_EXPECTED}, got ${found}${why ? `: ${why}` : ""}`,
  );
}
