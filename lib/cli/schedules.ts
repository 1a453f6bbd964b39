/**
 * The schedules given on the command line (`--every 5m print hi`, `--cron
 * '0 3 * * *' exec backup.sh`), checked as a config's are: a bad duration or
 * cron expression is a usage error naming the argument (exit 2).
 *
 * @module
 */

import { defaultScheduleName, type ScheduleConfig } from "../config/schedules.ts";
import { FlagstaffError } from "../core/errors.ts";
import { loadCronCalendars, parseCronLoaded } from "../schedules/calendar.ts";
import { parseEveryMs } from "../schedules/duration.ts";
import type { CliSchedule, ProgramSpec } from "./spec.ts";

/**
 * The command line's schedules as {@link ScheduleConfig}s, in the order first
 * given: local time, no jitter, no catch-up. Groups whose text differs but
 * whose name is the same (`--every 1s`, `--every 1000ms`: `every 1s`) are one
 * schedule, their actions in the order given.
 *
 * @throws {FlagstaffError} `usage` naming the argument and why.
 */
export async function cliSchedules(
  groups: readonly CliSchedule[],
  program: ProgramSpec,
): Promise<ScheduleConfig[]> {
  const schedules: ScheduleConfig[] = [];
  for (const group of groups) {
    const origin = `${group.flag} ${JSON.stringify(group.spec)}`;
    let timing: Pick<ScheduleConfig, "everyMs" | "cron">;
    try {
      if (group.flag === "--every") timing = { everyMs: parseEveryMs(group.spec) };
      else {
        await loadCronCalendars();
        timing = { cron: parseCronLoaded(group.spec).expression };
      }
    } catch (error) {
      if (!(error instanceof FlagstaffError)) throw error;
      throw new FlagstaffError(
        "usage",
        `Invalid ${origin}: ${error.message} (see "${program.name} --help")`,
        { cause: error },
      );
    }
    const name = defaultScheduleName(timing);
    const same = schedules.findIndex((schedule) => schedule.name === name);
    if (same >= 0) {
      const before = schedules[same];
      schedules[same] = { ...before, run: [...before.run ?? [], ...group.uses] };
      continue;
    }
    schedules.push({ name, ...timing, jitterMs: 0, catchUp: false, run: group.uses, origin });
  }
  return schedules;
}
