/**
 * Which actions a run uses: the command line's and the config's action
 * lists per signal (the command line's replace the config's for a signal),
 * and the schedules' `run:` lists; and the words for a run with none.
 *
 * @module
 */

import type { Config } from "../config/config.ts";
import { mergeSchedules, type ScheduleConfig } from "../config/schedules.ts";
import { FlagstaffError } from "../core/errors.ts";
import type { CliActions, ProgramSpec } from "./spec.ts";

/** How many actions the schedules run (`run:` lists), the command line's replacing their namesakes. */
export function countScheduleUses(config: Config, cli: readonly ScheduleConfig[]): number {
  return mergeSchedules(config.schedules, cli).reduce((n, s) => n + (s.run?.length ?? 0), 0);
}

/** The actions each signal runs: the command line's replace the config's. */
export function effectiveUses(config: Config, cliActions: CliActions): CliActions {
  return { ...config.signals, ...cliActions } as CliActions;
}

/** How many action uses, over all signals. */
export function countUses(uses: CliActions): number {
  return Object.values(uses).reduce((n, list) => n + (list?.length ?? 0), 0);
}

/** Nothing to run. */
export function noActions(program: ProgramSpec): FlagstaffError {
  return new FlagstaffError(
    "usage",
    `No actions configured and no controller: give --hup/--usr1/--usr2 ACTION, ` +
      `--every DURATION ACTION, a Signals or Schedules section, ` +
      `or a controller (--controller MODULE or Application.controller); see "${program.name} --help"`,
  );
}
