/**
 * The schedules of a run: one `ScheduleSource` per schedule (so a reload
 * keeps the plan of a schedule it did not change), their state file
 * (last runs for `catch_up`, next runs for `status`), and what `STATUS=`
 * says of them. The sources only fire; the runtime's one `fire(trigger)`
 * queues the schedule's unit (`schedule:<name>`) or coalesces it into the run
 * already queued or running (`runtime.ts`).
 *
 * @module
 */

import type { ScheduleConfig } from "../config/schedules.ts";
import { type LongTimer, setLongTimeout } from "../core/delay.ts";
import { localTimezone, parseCronLoaded } from "../schedules/calendar.ts";
import { everyTimetable } from "../schedules/every.ts";
import { ScheduleSource, type ScheduleSourceOptions } from "../schedules/schedule_source.ts";
import { ScheduleStateFile } from "../schedules/state_file.ts";
import { type NextRun } from "../schedules/state_format.ts";
import type { Timetable } from "../schedules/timetable.ts";
import type { ScheduleTrigger } from "../schedules/trigger.ts";
import { formatZoned } from "../schedules/zoned_time.ts";
import { log, type RuntimeCore, type ScheduleUnits } from "./_core.ts";

/**
 * A schedule's timetable. A cron schedule needs croner loaded
 * (`loadCronCalendars()`: the config loader and the command line do it).
 *
 * @throws {FlagstaffError} `config_invalid` for a cron expression or time
 *   zone that is wrong (the loader has checked them).
 */
export function timetableOf(schedule: ScheduleConfig): Timetable {
  if (schedule.everyMs !== undefined) return everyTimetable({ periodMs: schedule.everyMs });
  return parseCronLoaded(schedule.cron, { timezone: schedule.timezone });
}

/** The time zone a schedule's times are shown in: a cron's own, else local time. */
export function timezoneOf(schedule: ScheduleConfig): string {
  return schedule.cron !== undefined && schedule.timezone !== undefined
    ? schedule.timezone
    : localTimezone();
}

/** The dispatcher key of a schedule. */
export function scheduleKey(name: string): `schedule:${string}` {
  return `schedule:${name}`;
}

interface Running {
  schedule: ScheduleConfig;
  readonly timetable: Timetable;
  readonly source: ScheduleSource;
  readonly stop: Disposable;
}

/** Options for {@link ScheduleRunner}. */
export interface ScheduleRunnerOptions {
  /** The state folder; none: no state is kept (catch-up then always runs). */
  stateDir?: string;
  /** Why there is no state folder, for the one warning a `catch_up` schedule gives. */
  stateDirProblem?: string;
  /** For tests: the sources' clock and random source. Default: the system's. */
  source?: ScheduleSourceOptions;
}

/** The schedules of one run; see the module doc. */
export class ScheduleRunner implements ScheduleUnits {
  readonly #core: RuntimeCore;
  readonly #fire: (trigger: ScheduleTrigger) => void;
  readonly #options: ScheduleRunnerOptions;
  readonly #running = new Map<string, Running>();
  #state: ScheduleStateFile | undefined;
  /** A write of the state file waiting for the turn after the unit's start. */
  #writeTimer: LongTimer | undefined;
  #warned = false;
  #disposed = false;

  /** Schedules that call `fire` when due; nothing runs before {@link start}. */
  constructor(
    core: RuntimeCore,
    fire: (trigger: ScheduleTrigger) => void,
    options: ScheduleRunnerOptions = {},
  ) {
    this.#core = core;
    this.#fire = fire;
    this.#options = options;
  }

  /**
   * Reads the state file, starts every schedule (a `catch_up` schedule whose
   * run was missed fires at once), writes the next runs and tells the
   * observer. Call it once start-up is done.
   */
  start(schedules: readonly ScheduleConfig[]): void {
    if (schedules.length === 0 || this.#disposed) return;
    const dir = this.#options.stateDir;
    const refused = dir ? this.#openState(dir, schedules) : undefined;
    for (const schedule of schedules) this.#startOne(schedule, true);
    log.info("Running {count} schedule(s); {next}", {
      count: schedules.length,
      next: this.nextRunText() ?? "none is due any more",
    });
    if (!dir && schedules.some((schedule) => schedule.catchUp)) {
      this.#cannotKeepState(
        this.#options.stateDirProblem ?? "no state folder is known (set Daemon.state_dir)",
      );
    }
    // A refused folder is read as "never ran" and will not be written: said once, as a write failure is.
    if (refused !== undefined) this.#cannotKeepState(refused);
    this.#changed();
  }

  #startOne(schedule: ScheduleConfig, atStart: boolean): void {
    const key = scheduleKey(schedule.name);
    const timetable = timetableOf(schedule);
    const source = new ScheduleSource([{
      key,
      name: schedule.name,
      timetable,
      jitterMs: schedule.jitterMs,
      catchUp: schedule.catchUp && atStart
        ? { lastRunMs: this.#state?.lastRunMs(schedule.name) ?? null }
        : undefined,
    }], this.#options.source);
    const running = { schedule, timetable, source } as Running;
    this.#running.set(schedule.name, running);
    (running as { stop: Disposable }).stop = source.start((trigger) => this.#fire(trigger));
  }

  /** The schedule running as `key`, if it is still configured. */
  byKey(key: `schedule:${string}`): ScheduleConfig | undefined {
    return this.#running.get(key.slice("schedule:".length))?.schedule;
  }

  /**
   * Records that `schedule`'s unit starts now; the file is written just
   * after (the action starts first); a failed write is a warning, once.
   */
  ran(schedule: ScheduleConfig): void {
    this.#state?.remember(schedule.name, Date.now());
    this.#queueWrite();
  }

  /**
   * Writes the state file on a later turn of the event loop: a run's actions
   * start before the file's system calls, and writes that come together are
   * one.
   */
  #queueWrite(): void {
    if (!this.#state || this.#writeTimer) return;
    this.#writeTimer = setLongTimeout(() => this.#writeNow(), 0);
  }

  #writeNow(): void {
    this.#writeTimer?.cancel();
    this.#writeTimer = undefined;
    // Once stopped, the plan is gone: the file keeps the last next runs written.
    const write = this.#disposed ? this.#state?.save() : this.#state?.setNextRuns(this.nextRuns());
    write?.catch((error) => this.#writeFailed(error));
  }

  /**
   * A trigger fired: logs what it coalesced, writes the next runs and tells
   * the observer.
   */
  fired(trigger: ScheduleTrigger): void {
    if (trigger.catchUp && trigger.lastRunMs === null) {
      log.info("Schedule {name}: catching up (no run of it is recorded)", { name: trigger.name });
    } else if (trigger.catchUp) {
      log.info("Schedule {name}: catching up (a run was due at {due}; the last ran at {last})", {
        name: trigger.name,
        due: this.#show(trigger.name, trigger.dueMs),
        last: this.#show(trigger.name, trigger.lastRunMs ?? trigger.dueMs),
      });
    } else if (trigger.missed > 0) {
      log.info(
        "Schedule {name}: {missed} more run time(s) passed while the machine slept or the clock jumped; one run for all",
        { name: trigger.name, missed: trigger.missed },
      );
    }
    this.#changed();
  }

  /**
   * Replaces the schedules (a reload): one whose timetable and jitter did
   * not change keeps its plan; the others start over (no catch-up); removed
   * ones stop.
   */
  replace(schedules: readonly ScheduleConfig[]): void {
    if (this.#disposed) return;
    const next = new Map(schedules.map((schedule) => [schedule.name, schedule]));
    for (const [name, running] of this.#running) {
      const now = next.get(name);
      if (now && samePlan(running.schedule, now)) {
        running.schedule = now;
        continue;
      }
      running.stop[Symbol.dispose]();
      this.#running.delete(name);
      log.info(now ? "Schedule {name} changed: planned again" : "Schedule {name} removed", {
        name,
      });
    }
    for (const schedule of schedules) {
      if (this.#running.has(schedule.name)) continue;
      this.#startOne(schedule, false);
      log.info("Schedule {name} started: {next}", {
        name: schedule.name,
        next: this.#nextOf(schedule.name) ?? "no run is due any more",
      });
    }
    // Keep the running order the config's.
    const order = [...this.#running.values()].sort((a, b) =>
      schedules.indexOf(a.schedule) - schedules.indexOf(b.schedule)
    );
    this.#running.clear();
    for (const running of order) this.#running.set(running.schedule.name, running);
    if (this.#running.size > 0 && !this.#state && this.#options.stateDir) {
      const refused = this.#openState(this.#options.stateDir, schedules);
      if (refused !== undefined) this.#cannotKeepState(refused);
    }
    this.#changed();
  }

  /**
   * Reads the state file in `dir` (as the user flagstaff now runs as: only a
   * folder and file of its own that no other user can change are read);
   * returns why the folder is refused, if it is.
   */
  #openState(dir: string, schedules: readonly ScheduleConfig[]): string | undefined {
    let refused: string | undefined;
    this.#state = ScheduleStateFile.open(dir, {
      names: schedules.map((schedule) => schedule.name),
      onInvalid: (reason) => log.warn("{reason}", { reason }),
      onFolderRefused: (reason) => refused = reason,
    });
    return refused;
  }

  /** Writes what is pending and resolves when the state file's writes have ended (a stop awaits it). */
  async flush(): Promise<void> {
    if (this.#writeTimer) this.#writeNow();
    await this.#state?.settled();
  }

  /** Cancels every pending tick: nothing fires any more. */
  dispose(): void {
    this.#disposed = true;
    for (const running of this.#running.values()) running.stop[Symbol.dispose]();
  }

  /** Each schedule's next run (jitter included), in the configured order. */
  nextRuns(): NextRun[] {
    return [...this.#running.values()].map(({ schedule, timetable, source }) => ({
      name: schedule.name,
      timetable: timetable.description,
      timezone: timezoneOf(schedule),
      atMs: source.status()[0].runAtMs,
    }));
  }

  /** The earliest next run, for `STATUS=` and logs: `next run: backup at 2025-…+02:00`. */
  nextRunText(): string | undefined {
    let first: NextRun | undefined;
    for (const next of this.nextRuns()) {
      if (next.atMs !== null && (!first || next.atMs < first.atMs!)) first = next;
    }
    return first && `next run: ${first.name} at ${formatZoned(first.atMs!, first.timezone)}`;
  }

  #nextOf(name: string): string | undefined {
    const next = this.nextRuns().find((run) => run.name === name);
    return next?.atMs == null ? undefined : `next run at ${formatZoned(next.atMs, next.timezone)}`;
  }

  #show(name: string, ms: number): string {
    const running = this.#running.get(name);
    return formatZoned(ms, running ? timezoneOf(running.schedule) : localTimezone());
  }

  /** The plan changed: write the next runs and tell the observer. */
  #changed(): void {
    if (this.#disposed) return;
    this.#core.emit({ type: "schedule", nextRun: this.nextRunText() });
    this.#queueWrite();
  }

  #writeFailed(error: unknown): void {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    this.#cannotKeepState(cause instanceof Error ? cause.message : String(cause));
  }

  /** Says once that the state cannot be kept: a warning when a schedule catches up. */
  #cannotKeepState(reason: string): void {
    if (this.#warned) return;
    this.#warned = true;
    const catchUp = [...this.#running.values()].some(({ schedule }) => schedule.catchUp);
    const where = this.#options.stateDir ? ` in ${JSON.stringify(this.#options.stateDir)}` : "";
    const fix = /Daemon\.state_dir/.test(reason)
      ? ""
      : ". Give Daemon.state_dir a folder this user can write";
    if (catchUp) {
      log.warn(
        "Cannot keep the schedules' state{where}: {reason}. catch_up cannot tell when a " +
          "schedule last ran, so it runs at every start; schedules still run on time{fix}",
        { where, reason: reason.replace(/\.$/, ""), fix },
      );
    } else {
      log.debug(
        "Cannot keep the schedules' state{where} (status will not show next runs): {reason}",
        { where, reason },
      );
    }
  }
}

/** Whether two versions of a schedule plan the same run times. */
function samePlan(a: ScheduleConfig, b: ScheduleConfig): boolean {
  return a.everyMs === b.everyMs && a.cron === b.cron && a.timezone === b.timezone &&
    a.jitterMs === b.jitterMs;
}
