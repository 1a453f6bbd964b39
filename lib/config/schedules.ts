/**
 * The `Schedules` section: a list of schedules, each checked by one table
 * ({@link SCHEDULE_ENTRY}): exactly one of `every:` (a duration) or `cron:`
 * (with an optional `timezone:`), exactly one of `run:` (an action list, as
 * in `Signals`) or `signal:` (`hup`, `usr1`, `usr2`), and the options
 * `jitter:`, `catch_up:` and `name:` (unique; by default `every 5m` or the
 * cron text). The README's rows are `Schedules[].<key>`.
 *
 * Cron fields are checked by croner, which the loader loads first
 * (`loadCronCalendars()`, `lib/schedules/calendar.ts`): the checks here are
 * synchronous.
 *
 * @module
 */

import { describeValue, FlagstaffError } from "../core/errors.ts";
import { ACTION_SIGNALS, type ActionSignal } from "../core/signal_table.ts";
import {
  checkCronSyntax,
  checkTimezone,
  isCronLoaded,
  parseCronLoaded,
} from "../schedules/calendar.ts";
import { formatDuration, parseDurationMs, parseEveryMs } from "../schedules/duration.ts";
import {
  type CheckContext,
  checkSection,
  isPlainObject,
  type KeyKind,
  type KeyPath,
  type KeyRow,
  type SectionSchema,
} from "./schema.ts";
import { flag } from "./key_kinds.ts";
import { actionList, type ActionUse } from "./signals.ts";

/** One schedule, from the config or the command line. */
export interface ScheduleConfig {
  /** Its name: for logs, `status`, the state file; unique. */
  readonly name: string;
  /** `every:`, in milliseconds (a positive safe integer); exactly one of this and `cron`. */
  readonly everyMs?: number;
  /** `cron:`, as written (trimmed); exactly one of this and `everyMs`. */
  readonly cron?: string;
  /** `timezone:` of a cron schedule, as written; undefined: local time. */
  readonly timezone?: string;
  /** `jitter:`, in milliseconds; 0 for none. */
  readonly jitterMs: number;
  /** `catch_up:`. */
  readonly catchUp: boolean;
  /** `run:`, the actions it runs, in order; exactly one of this and `signal`. */
  readonly run?: readonly ActionUse[];
  /** `signal:`, the signal whose unit it runs as if it had arrived. */
  readonly signal?: ActionSignal;
  /** Where it was given, for messages: `--every 5m`, `app.yml line 12 (Schedules.0)`. */
  readonly origin: string;
}

/** The `Schedules` section as validated: its schedules, in order. */
export type SchedulesConfig = readonly ScheduleConfig[];

/**
 * A schedule's name when it gives none: `every 5m` (the duration as
 * `formatDuration` writes it) or the cron text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultScheduleName } from "./schedules.ts";
 * assert.equal(defaultScheduleName({ everyMs: 90_000 }), "every 1m30s");
 * assert.equal(defaultScheduleName({ cron: "@hourly" }), "@hourly");
 * ```
 */
export function defaultScheduleName(
  schedule: Pick<ScheduleConfig, "everyMs" | "cron">,
): string {
  return schedule.everyMs !== undefined
    ? `every ${formatDuration(schedule.everyMs)}`
    : schedule.cron ?? "";
}

/** Reports a `FlagstaffError`'s issue text at the key; other errors are bugs. */
function reportingIssue<T>(
  value: unknown,
  { path, report }: CheckContext,
  parse: (value: unknown) => T,
): T | undefined {
  try {
    return parse(value);
  } catch (error) {
    if (!(error instanceof FlagstaffError)) throw error;
    report(path, error.message);
    return undefined;
  }
}

/** A duration (`90`, `1.5`, `30s`, `5m`, `1h30m`), in milliseconds. */
const duration: KeyKind<number> = {
  type: "duration",
  unit: "seconds, or with a unit",
  check: (value, context) => reportingIssue(value, context, parseDurationMs),
};

/** `jitter:` also takes 0, for none. */
const jitter: KeyKind<number> = {
  ...duration,
  check: (value, context) =>
    value === 0 || value === "0" ? 0 : reportingIssue(value, context, parseDurationMs),
};

/** A cron expression, each field checked by croner. */
const cronExpression: KeyKind<string> = {
  type: "string",
  check: (value, context) =>
    reportingIssue(value, context, (given) => {
      // The zone does not change which dates match: it is checked on its own key.
      if (isCronLoaded()) return parseCronLoaded(given, { timezone: "UTC" }).expression;
      return checkCronSyntax(given);
    }),
};

const timezone: KeyKind<string> = {
  type: "string",
  check: (value, context) => reportingIssue(value, context, checkTimezone),
};

const SIGNAL_KEYS = Object.keys(ACTION_SIGNALS);

const signal: KeyKind<ActionSignal> = {
  type: "string",
  check(value, { path, report }) {
    if (typeof value === "string" && Object.hasOwn(ACTION_SIGNALS, value.toLowerCase())) {
      return ACTION_SIGNALS[value.toLowerCase()];
    }
    report(
      path,
      `expected one of ${SIGNAL_KEYS.join(", ")}, got ${
        typeof value === "string" ? JSON.stringify(value) : describeValue(value)
      }`,
    );
    return undefined;
  },
};

const name: KeyKind<string> = {
  type: "string",
  check(value, { path, report }) {
    // deno-lint-ignore no-control-regex
    if (typeof value === "string" && value.trim() !== "" && !/[\u0000-\u001f\u007f]/.test(value)) {
      return value.trim();
    }
    report(path, `expected a name (a string on one line), got ${describeValue(value)}`);
    return undefined;
  },
};

/** The rows of one entry, in the order messages list them. */
const ENTRY_KEYS: Readonly<Record<string, KeyRow<unknown>>> = {
  every: {
    ...duration,
    check: (value, context) => reportingIssue(value, context, parseEveryMs),
    absent: "none",
    example: "every: 5m",
    doc: "run every this long, at whole multiples of it since the Unix epoch (`every: 1h` on " +
      "the hour, `15m` at :00, :15, :30, :45; `1d` at 00:00 UTC); `90` and `1.5` are seconds, " +
      "units `d`, `h`, `m`, `s`, `ms`; at least `10ms`; exactly one of `every` and `cron`",
  },
  cron: {
    ...cronExpression,
    absent: "none",
    example: 'cron: "0 3 * * *"',
    doc: "run at these calendar times: 5 fields (minute hour day-of-month month day-of-week), " +
      "6 with seconds first, or `@hourly`, `@daily`, `@weekly`, `@monthly`; when both day " +
      "fields are restricted, either matches",
  },
  timezone: {
    ...timezone,
    absent: "local time",
    example: "timezone: Europe/Berlin",
    doc: "the IANA time zone of a `cron` schedule's times",
  },
  run: {
    ...actionList,
    absent: "none",
    example: "run: [{exec: [backup.sh]}]",
    doc: "the actions to run, in the forms of `Signals`; exactly one of `run` and `signal`",
  },
  signal: {
    ...signal,
    absent: "none",
    example: "signal: usr1",
    doc: "run that signal's actions (or its default) as if it had arrived: `hup`, `usr1`, `usr2`",
  },
  jitter: {
    ...jitter,
    absent: "none",
    example: "jitter: 5m",
    doc: "delay each run by a random time up to this long (systemd's `RandomizedDelaySec=`), " +
      "kept short of the next run",
  },
  catch_up: {
    ...flag,
    absent: "`false`",
    example: "catch_up: true",
    doc: "at start, run once at once when a run time passed since the last run recorded in " +
      "`Daemon.state_dir` (systemd's `Persistent=true`)",
  },
  name: {
    ...name,
    absent: "`every 5m`, or the cron text",
    example: "name: backup",
    doc: "the schedule's name in logs, `check` and `status`; unique",
  },
};

/** The table of one `Schedules` entry (the README's `Schedules[].<key>` rows). */
export const SCHEDULE_ENTRY: SectionSchema = {
  name: "Schedules[]",
  keys: ENTRY_KEYS,
  others: {
    kind: "refused",
    message: (key, known) => `unknown key "${key}" (expected one of ${known.join(", ")})`,
  },
};

/**
 * Checks the `Schedules` section (missing or null: none), reporting every
 * problem: not a list, an entry that is not a map, each key's checks, both
 * or neither of `every`/`cron` and of `run`/`signal`, a `timezone` without
 * `cron`, a name used twice (naming the other's line). A wrong entry is left
 * out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSchedules } from "./schedules.ts";
 * const problems: string[] = [];
 * const schedules = checkSchedules([
 *   { every: "5m", run: ["reload"] },
 *   { every: 0, run: [] },
 *   { cron: "@daily", every: "1h", signal: "usr1" },
 * ], {
 *   report: (path, message) => problems.push(`${path.join(".")}: ${message}`),
 *   origin: (path) => `<default> ${path.join(".")}`,
 * });
 * assert.deepEqual(schedules.map((s) => [s.name, s.everyMs]), [["every 5m", 300_000]]);
 * assert.deepEqual(problems, [
 *   "Schedules.1.every: expected a duration such as 90 (seconds), 1.5, 30s, 5m, 1h, 1d or " +
 *   "1h30m (units d, h, m, s, ms), got 0: a duration must be positive",
 *   'Schedules.2.cron: give either "every" or "cron", not both',
 * ]);
 * ```
 */
export function checkSchedules(
  value: unknown,
  context: Omit<CheckContext, "path" | "section">,
): SchedulesConfig {
  const { report } = context;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    report(["Schedules"], `expected a list of schedules, got ${describeValue(value)}`);
    return [];
  }
  const schedules: ScheduleConfig[] = [];
  const named = new Map<string, KeyPath>();
  value.forEach((entry, i) => {
    const at: KeyPath = ["Schedules", i];
    if (!isPlainObject(entry)) {
      report(
        at,
        `expected a schedule such as {every: 5m, run: [reload]}, got ${describeValue(entry)}`,
      );
      return;
    }
    let problems = 0;
    const counting = {
      ...context,
      report: (path: KeyPath, message: string, where?: "key" | "value") => {
        problems++;
        report(path, message, where);
      },
    };
    const checked = checkSection(SCHEDULE_ENTRY, entry, { ...counting, at });
    problems += pairProblems(entry, at, counting.report);
    if (entry.timezone !== undefined && entry.cron === undefined && entry.every !== undefined) {
      counting.report([...at, "timezone"], 'a time zone applies to "cron" schedules only');
    }
    if (problems > 0) return;
    const schedule: ScheduleConfig = {
      name: (checked.name as string | undefined) ??
        defaultScheduleName({ everyMs: checked.every as number, cron: checked.cron as string }),
      everyMs: checked.every as number | undefined,
      cron: checked.cron as string | undefined,
      timezone: checked.timezone as string | undefined,
      jitterMs: (checked.jitter as number | undefined) ?? 0,
      catchUp: checked.catch_up === true,
      run: checked.run as readonly ActionUse[] | undefined,
      signal: checked.signal as ActionSignal | undefined,
      origin: `${context.origin(at)} (Schedules.${i})`,
    };
    const first = named.get(schedule.name);
    if (first) {
      report(
        Object.hasOwn(entry, "name") ? [...at, "name"] : at,
        `schedule name ${JSON.stringify(schedule.name)} is used twice: also by the schedule at ` +
          `${context.origin(first)} (Schedules.${first[1]}); give each a unique "name"`,
      );
      return;
    }
    named.set(schedule.name, at);
    schedules.push(schedule);
  });
  return schedules;
}

/** Exactly one of `every`/`cron` and of `run`/`signal`: reports and counts what is wrong. */
function pairProblems(
  entry: Record<string, unknown>,
  at: KeyPath,
  report: (path: KeyPath, message: string) => void,
): number {
  let problems = 0;
  for (
    const [first, second, what] of [
      ["every", "cron", "when it runs"],
      ["run", "signal", "what it runs"],
    ] as const
  ) {
    const has = (key: string) => Object.hasOwn(entry, key);
    if (has(first) && has(second)) {
      report([...at, second], `give either "${first}" or "${second}", not both`);
      problems++;
    } else if (!has(first) && !has(second)) {
      report(at, `expected "${first}" or "${second}" (${what})`);
      problems++;
    }
  }
  return problems;
}

/**
 * The schedules a run has: the config's, each replaced in place by a
 * command-line schedule of the same name, then the other command-line ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeSchedules, type ScheduleConfig } from "./schedules.ts";
 * const of = (name: string, origin: string): ScheduleConfig =>
 *   ({ name, everyMs: 1000, jitterMs: 0, catchUp: false, run: [], origin });
 * const merged = mergeSchedules([of("a", "file"), of("b", "file")], [of("b", "cli"), of("c", "cli")]);
 * assert.deepEqual(merged.map((s) => `${s.name} ${s.origin}`), ["a file", "b cli", "c cli"]);
 * ```
 */
export function mergeSchedules(
  config: SchedulesConfig,
  cli: SchedulesConfig,
): ScheduleConfig[] {
  const byName = new Map(cli.map((schedule) => [schedule.name, schedule]));
  const merged = config.map((schedule) => byName.get(schedule.name) ?? schedule);
  const taken = new Set(config.map((schedule) => schedule.name));
  return [...merged, ...cli.filter((schedule) => !taken.has(schedule.name))];
}
