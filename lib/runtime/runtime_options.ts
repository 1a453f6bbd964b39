/**
 * What a `Runtime` (`runtime.ts`) is made with, and what it tells an observer.
 *
 * @module
 */

import type { ActionSignal, ActionUse, Config, ScheduleConfig } from "../config/config.ts";
import type { Clock } from "../core/clock.ts";
import type { SignalName } from "../core/signal_table.ts";
import type { SignalSource } from "../os/signals.ts";
import type { ActionOutput } from "./action.ts";
import type { ActionRegistry } from "./action_registry.ts";
import type { AppArgs } from "./controller.ts";

/** What the runtime tells an observer (systemd notify, tests). */
export type RuntimeEvent =
  | { type: "ready"; status: string }
  | { type: "reloading" }
  | { type: "reloaded"; error?: string }
  | { type: "tick"; index: number }
  /** The schedules' next run changed: `next run: backup at 2025-06-02T03:00:00+02:00`. */
  | { type: "schedule"; nextRun: string | undefined }
  | { type: "watchdog" }
  | { type: "stopping" }
  | { type: "failed"; message: string };

/** Options for {@link Runtime}. */
export interface RuntimeOptions {
  /** App name: the controller's logger category and the errors file's name. */
  name: string;
  /** The config to start with (its `file` is re-read on reload). */
  config: Config;
  /** Actions given on the command line; they replace the config's for their signal. Default none. */
  cliActions?: Readonly<Partial<Record<ActionSignal, readonly ActionUse[]>>>;
  /**
   * Schedules given on the command line (`--every`, `--cron`), checked; each
   * replaces the config's schedule of the same name, the others are added.
   * Default none.
   */
  cliSchedules?: readonly ScheduleConfig[];
  /**
   * The schedules' state folder when the config names none
   * (`defaultStateDir()`, resolved at start, before any privilege drop);
   * `Daemon.state_dir` overrides it. Default: none (no state is kept
   * unless the config names a folder).
   */
  stateDir?: string;
  /** Why no state folder could be chosen (no `stateDir`), for the catch_up warning. */
  stateDirProblem?: string;
  /** Builds the action registry for a config (its `Actions` section may change on reload). */
  loadRegistry?: (config: Config) => Promise<ActionRegistry>;
  /** When no controller runs and every action has closed: exit 0 instead of 1. Default false. */
  successfulEmpty?: boolean;
  /** Where actions print. Default: stdout. */
  out?: ActionOutput;
  /** Running in the foreground (default true). When false, unhandled errors also go to the errors file. */
  foreground?: boolean;
  /**
   * Checks a reloaded config beyond its schema, as `check` and `run` do (the
   * controller module it names must load); throws to refuse it. Default: none.
   */
  validate?: (config: Config) => Promise<void>;
  /** Applies a config's `Logging` section; must leave logging as it was when it throws. Default: none. */
  configureLogging?: (config: Config) => Promise<void>;
  /** Told of readiness, reloads and stops. Default: nobody. */
  observe?: (event: RuntimeEvent) => void;
  /**
   * Every this many milliseconds a `watchdog` event is emitted from the
   * dispatcher, so none comes while a unit is stuck. Default: none.
   */
  watchdogIntervalMs?: number;
  /**
   * The signal source. Default: a `SignalInbox` installed when
   * `Runtime.run()` starts and closed when it ends (the CLI installs one
   * at the very start and hands it in: it stays until the process exits).
   */
  signals?: SignalSource & { listening?(signal: SignalName): boolean };
  /** The clock. Default: `performance.now()`. */
  clock?: Clock;
  /**
   * Told of each process group an action started (`exec`), to kill it if the
   * exit must be forced; returns the unregistering function. Default: none.
   */
  onProcessGroup?: (pgid: number) => () => void;
  /** The program's name, for messages (`run "myapp list"`). Default `flagstaff`. */
  program?: string;
  /** The app's own command-line options, parsed (library mode). Default: none. */
  args?: AppArgs;
  /** Folders tried for `<name>.errors`. Default: `/var/log`, `/var/tmp`, `/tmp`. */
  errorsFileDirs?: readonly string[];
}
