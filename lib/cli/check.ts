/**
 * `check`: load and validate the config, the controller and the actions, as
 * `run` would, and print what would run (exit 0) or every problem found in
 * one pass (exit 2), like `nginx -t`.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { ConfigError, EXIT_CODES, FlagstaffError, messageOf } from "../core/errors.ts";
import { ACTION_ROWS, actionKey } from "../core/signal_table.ts";
import { mergeSchedules, type ScheduleConfig } from "../config/schedules.ts";
import type { ActionUse } from "../config/signals.ts";
import { formatDuration } from "../schedules/duration.ts";
import { nextRunTimes } from "../schedules/timetable.ts";
import { formatZoned } from "../schedules/zoned_time.ts";
import { timetableOf, timezoneOf } from "../runtime/schedules.ts";
import { type ActionClass, checkArguments, declaredArguments } from "../runtime/action.ts";
import type { ActionRegistry } from "../runtime/action_registry.ts";
import {
  appName,
  bareRegistry,
  type CommandContext,
  loadControllerFor,
  type LoadedController,
  noteActionsDir,
  stringOf,
  trustConfig,
} from "./context.ts";
import { countScheduleUses, countUses, effectiveUses, noActions } from "./uses.ts";
import { dropPrivilegesNow } from "./drop.ts";
import { configOptions } from "./options.ts";
import { out, write } from "./output.ts";
import { cliSchedules } from "./schedules.ts";
import type { CliActions, CommandSpec, OptionSpec } from "./spec.ts";

/** The spec of `check`; `appOptions` are an app's own (library mode). */
export function checkSpec(library: boolean, appOptions: readonly OptionSpec[] = []): CommandSpec {
  return {
    name: "check",
    summary:
      "load and validate the config, the controller and the actions; print what would run (exit 0) or every problem (exit 2)",
    options: [...configOptions(library), ...appOptions],
    actionFlags: true,
  };
}

/** Checks each action use against the registry without setting it up. */
async function checkUses(
  uses: CliActions,
  schedules: readonly ScheduleConfig[],
  registry: ActionRegistry,
  program: string,
  refusedEntries: ReadonlySet<string>,
): Promise<{ lines: string[]; scheduleLines: string[]; problems: unknown[] }> {
  const brokenActions = await registry.problems();
  const problems: unknown[] = [...brokenActions.values()];
  const broken = new Set(brokenActions.keys());
  const { loadSource } = await import("../runtime/action_registry.ts");
  // `where` names the trigger as run's messages do: `usr1`, `schedule "backup"`.
  const describe = async (list: readonly ActionUse[], where: string): Promise<string> => {
    const described: string[] = [];
    for (const [i, use] of list.entries()) {
      const source = registry.get(use.name);
      if (!source && refusedEntries.has(use.name)) continue; // Its config error says it.
      if (!source) {
        problems.push(
          new FlagstaffError(
            "usage",
            `Unknown action "${use.name}" given by ${use.origin}; run "${program} list" to see the known actions`,
          ),
        );
        continue;
      }
      if (broken.has(use.name)) continue; // Reported once, above.
      try {
        const cls = await loadSource(source);
        checkArguments(use.name, declaredArguments(cls), use.args, { origin: use.origin });
        // What setUp() would refuse, asked of the action's pure check() (setUp() may do anything).
        const problem = staticCheck(cls, use.args);
        if (problem !== undefined) {
          throw new FlagstaffError(
            "usage",
            `Action "${use.name}" (${where} #${
              i + 1
            }) given by ${use.origin} failed to set up: ${problem}`,
          );
        }
      } catch (error) {
        problems.push(error);
        continue;
      }
      const args = use.args.map((a) => JSON.stringify(a)).join(" ");
      described.push(
        `${use.name}${args ? ` ${args}` : ""}${use.timeout ? ` (timeout ${use.timeout} s)` : ""}`,
      );
    }
    return described.join("; ");
  };
  const lines: string[] = [];
  for (const row of ACTION_ROWS) {
    const list = uses[row.signal];
    if (!list) continue; // The default runs; listed below.
    if (list.length === 0) {
      lines.push(`${row.actions.key}: nothing (an empty list replaces the default)`);
      continue;
    }
    lines.push(`${row.actions.key}: ${await describe(list, actionKey(row.signal))}`);
  }
  const scheduleLines: string[] = [];
  for (const schedule of schedules) {
    const runs = schedule.signal
      ? `runs ${actionKey(schedule.signal)}'s unit, as if ${schedule.signal} had arrived`
      : schedule.run!.length === 0
      ? "runs nothing"
      : `runs ${await describe(schedule.run!, `schedule ${JSON.stringify(schedule.name)}`)}`;
    scheduleLines.push(...describeSchedule(schedule, runs));
  }
  return { lines, scheduleLines, problems };
}

/** What an action's static `check()` finds wrong with `args` (a throw counts), or undefined. */
function staticCheck(cls: ActionClass, args: readonly string[]): string | undefined {
  if (typeof cls.check !== "function") return undefined;
  try {
    const problem = cls.check(...args);
    return typeof problem === "string" && problem !== "" ? problem : undefined;
  } catch (error) {
    return `its check() threw: ${messageOf(error)}`;
  }
}

/**
 * A schedule in `check`'s words: name, timetable, time zone, jitter,
 * catch-up, what it runs; then its next three run times in its time zone.
 */
function describeSchedule(schedule: ScheduleConfig, runs: string): string[] {
  const timetable = timetableOf(schedule);
  const timezone = timezoneOf(schedule);
  const where = schedule.cron !== undefined ? "" : ` (times in ${timezone})`;
  const options = [
    ...(schedule.jitterMs > 0 ? [`jitter ${formatDuration(schedule.jitterMs)}`] : []),
    ...(schedule.catchUp ? ["catch_up"] : []),
  ].map((option) => `, ${option}`).join("");
  const next = nextRunTimes(timetable, Date.now(), 3).map((ms) => formatZoned(ms, timezone));
  return [
    `schedule ${
      JSON.stringify(schedule.name)
    }: ${timetable.description}${where}${options}; ${runs}`,
    `  next runs${schedule.jitterMs > 0 ? " (before jitter)" : ""}: ${
      next.length ? next.join(", ") : "none"
    }`,
  ];
}

/** Throws the problems found: one as itself, several together. */
function report(problems: readonly unknown[]): never | number {
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new AggregateError(problems, "Several problems");
  return EXIT_CODES.ok;
}

/** Runs `check`; resolves with 0, or throws every problem (exit 2). */
export async function check(context: CommandContext): Promise<number> {
  const { program } = context;
  const { defaultConfig, validateConfigFile } = await import("../config/config.ts");
  // Gather every problem: the config's, the controller's, the actions'.
  const problems: unknown[] = [];
  let config: Config | undefined;
  let controllerReported = false;
  // `Actions` entries the config's errors left out: a use of one is not also "unknown".
  const refusedEntries = new Set<string>();
  const file = stringOf(context, "config");
  try {
    if (file) {
      // Every problem of the config, and a best-effort config to check the rest against.
      await trustConfig(file);
      const checked = await validateConfigFile(file, { forStart: true });
      config = checked.config;
      if (checked.issues.length > 0) problems.push(new ConfigError(checked.issues));
      controllerReported = checked.issues.some((issue) =>
        issue.key.startsWith("Application.controller")
      );
      for (const issue of checked.issues) {
        const entry = /^Actions\.([^.]+)/.exec(issue.key)?.[1];
        if (entry !== undefined) refusedEntries.add(entry);
      }
    } else config = defaultConfig();
  } catch (error) {
    problems.push(error);
  }
  const usable = await noteActionsDir(context, config ?? defaultConfig());
  // As `run` does: no user code before the privilege drop (the config's user must be valid).
  const accountReported = problems.length > 0 &&
    (problems[0] as ConfigError).issues?.some((issue) =>
      issue.key.startsWith("Daemon.user") || issue.key.startsWith("Daemon.group")
    );
  if (!accountReported) {
    try {
      await dropPrivilegesNow(usable);
    } catch (error) {
      problems.push(error);
      return report(problems);
    }
  }
  let loaded: LoadedController | undefined;
  try {
    // A controller whose key is already reported is not loaded again (one problem, one line).
    loaded = controllerReported && !stringOf(context, "controller")
      ? { name: appName(context, usable) }
      : await loadControllerFor(context, usable);
  } catch (error) {
    problems.push(error);
  }
  const uses = effectiveUses(usable, context.actions);
  let cli: ScheduleConfig[] = [];
  try {
    cli = await cliSchedules(context.schedules, program);
  } catch (error) {
    problems.push(error);
  }
  let actionLines: string[] = [];
  let scheduleLines: string[] = [];
  try {
    const checked = await checkUses(
      uses,
      mergeSchedules(usable.schedules, cli),
      // A skipped actions folder is said on stderr (check configures no logging).
      await bareRegistry(context, usable, (message) => write(Deno.stderr, `warning: ${message}\n`)),
      program.name,
      refusedEntries,
    );
    actionLines = checked.lines;
    scheduleLines = checked.scheduleLines;
    problems.push(...checked.problems);
  } catch (error) {
    problems.push(error);
  }
  if (
    problems.length === 0 && !loaded?.controller &&
    countUses(uses) + countScheduleUses(usable, cli) === 0
  ) {
    problems.push(noActions(program));
  }
  report(problems);
  const defaults = ACTION_ROWS.filter((row) => !uses[row.signal]).map((row) =>
    // Without a controller there is no hook to call: the signal is received and ignored.
    row.default === "onSigusr2" && !loaded!.controller
      ? `${row.actions.key}: nothing (no controller for the default, ${row.doc})`
      : `${row.actions.key}: ${row.doc} (default)`
  );
  const lines = [
    `config: ${usable.file ?? "(none: built-in defaults)"}`,
    `name: ${loaded!.name}`,
    `controller: ${loaded!.source ?? "(none)"}`,
    ...(loaded!.controller ? [`wake_interval: ${usable.application.wake_interval} s`] : []),
    `stop_timeout: ${usable.daemon.stop_timeout} s`,
    `logging: ${usable.logging ? "from the Logging section" : "console default (stderr, INFO)"}`,
    "term, int: stop",
    ...actionLines,
    ...defaults,
    ...scheduleLines,
    "config OK",
  ];
  out(lines.join("\n") + "\n");
  return EXIT_CODES.ok;
}
