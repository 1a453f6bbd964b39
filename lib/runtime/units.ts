/**
 * What each unit of the one queue does (DESIGN.md): a `process()` tick, the
 * actions of a signal or a schedule (or the signal's default: a reload, the
 * controller's `onSigusr2()`), a reload, a restart, a sweep of retired
 * actions, a watchdog ping. `runtime.ts` queues the units; the dispatcher
 * runs them here, one at a time.
 *
 * @module
 */

import type { ActionSignal } from "../config/config.ts";
import { signalRow } from "../core/signal_table.ts";
import { log, type RuntimeCore, type UnitKey } from "./_core.ts";
import { tick } from "./generation.ts";
import { asSystemdReload, reload, restart } from "./reload.ts";
import { stopIfNoActionsLeft } from "./stop.ts";

/** Runs one unit of the queue. */
export async function runUnit(core: RuntimeCore, key: UnitKey): Promise<void> {
  switch (key) {
    case "tick":
      return await tick(core);
    case "sweep":
      await core.actions?.sweep();
      return stopIfNoActionsLeft(core);
    case "restart":
      return await restart(core);
    case "watchdog":
      return core.emit({ type: "watchdog" });
  }
  if (key.startsWith("schedule:")) return await scheduleUnit(core, key as `schedule:${string}`);
  if (key === "SIGHUP") return await asSystemdReload(core, () => signalUnit(core, "SIGHUP"));
  await signalUnit(core, key as ActionSignal);
}

/**
 * A schedule's unit: its `run:` actions, or (`signal:`) that signal's unit
 * as if it had arrived (without the notify-reload wrapper of a real HUP).
 * Its start is recorded as the schedule's last run.
 */
async function scheduleUnit(core: RuntimeCore, key: `schedule:${string}`): Promise<void> {
  const schedule = core.schedules?.byKey(key);
  if (!schedule) return; // Removed by a reload while it was queued.
  core.schedules!.ran(schedule);
  if (schedule.signal) {
    return await signalUnit(core, schedule.signal, `schedule "${schedule.name}"`);
  }
  await runActions(core, key);
  log.debug("Ran the actions of schedule {name}", { name: schedule.name });
  return stopIfNoActionsLeft(core);
}

/**
 * A signal's unit: its actions, or its default (reload, or the
 * controller's hook). `reason` names what asked for it: the signal, or a
 * schedule.
 */
async function signalUnit(
  core: RuntimeCore,
  key: ActionSignal,
  reason: string = key,
): Promise<void> {
  if (core.actions?.configured(key)) {
    // Nothing runs between the signal and its first action (signal-to-action
    // latency, bench/): the debug line comes after the run.
    await runActions(core, key);
    log.debug("Ran the actions of {signal}", { signal: key });
    return stopIfNoActionsLeft(core);
  }
  if (signalRow(key).default === "onSigusr2") {
    const asked = reason === key ? `Received ${key}` : `Schedule ${reason.slice(9)}`;
    if (!core.generation) {
      log.info("{asked}: nothing to do (no controller, no actions for it)", { asked });
      return;
    }
    log.info("{asked}: calling onSigusr2()", { asked });
    return await core.hook("onSigusr2");
  }
  await reload(core, reason);
}

/** Runs the actions of a signal or schedule; actions retired meanwhile are torn down after. */
async function runActions(
  core: RuntimeCore,
  key: ActionSignal | `schedule:${string}`,
): Promise<void> {
  core.runningActions = true;
  try {
    await core.actions?.run(key);
  } finally {
    core.runningActions = false;
    await core.tearDownRetired();
  }
}
