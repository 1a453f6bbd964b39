/**
 * Reloads: read and validate the config file again, build the new actions,
 * apply logging, and swap all of it in only when everything worked (else the
 * old config keeps running and the error is logged); helper's `restart`; and
 * systemd's notify-reload handshake, once per HUP.
 *
 * @module
 */

import { type Config, loadConfig } from "../config/config.ts";
import { ConfigError, messageOf } from "../core/errors.ts";
import type { ActionSet } from "./action_set.ts";
import { log, type RuntimeCore } from "./_core.ts";
import { beginGeneration, firstTick } from "./generation.ts";
import { collectGarbage } from "./heap.ts";
import { stopIfNoActionsLeft } from "./stop.ts";
import { intervalMsFromSeconds } from "../core/schedule.ts";

/** Reload events go to systemd once per HUP: inside a HUP unit, the unit tells. */
function reloadEvent(
  core: RuntimeCore,
  event: { type: "reloading" } | { type: "reloaded"; error?: string },
): void {
  if (!core.hup) return core.emit(event);
  if (event.type === "reloaded" && event.error) core.hup.error ??= event.error;
}

/**
 * SIGHUP, whatever it is bound to, is a reload for systemd
 * (`Type=notify-reload`, sd_notify(3)): `RELOADING=1` with `MONOTONIC_USEC=`
 * when it starts, `READY=1` when it is done, once per HUP, also when HUP runs
 * actions, has no config to reload, or the reload failed.
 */
export async function asSystemdReload(
  core: RuntimeCore,
  unit: () => Promise<void>,
): Promise<void> {
  const hup: { error?: string } = {};
  core.hup = hup;
  core.emit({ type: "reloading" });
  try {
    await unit();
  } finally {
    core.hup = undefined;
    core.emit({ type: "reloaded", error: hup.error });
  }
}

/**
 * Reads and validates the config, builds the new actions, applies logging;
 * swaps the actions in only when everything worked. Returns the new config,
 * or undefined when the old one stays.
 */
async function loadNext(
  core: RuntimeCore,
  reason: string,
): Promise<{ config: Config; actions: ActionSet } | undefined> {
  const file = core.config.file;
  if (!file) {
    log.warn("{reason}: no config file was given, nothing to reload", { reason });
    return undefined;
  }
  log.info("{reason}: reloading {file}", { reason, file });
  reloadEvent(core, { type: "reloading" });
  let config: Config;
  let actions: ActionSet | undefined;
  try {
    // An editor may have truncated the file while saving it: an empty file keeps the running config.
    config = await loadConfig(file, { allowEmpty: false });
    await core.options.validate?.(config);
    actions = await core.buildActions(config, true);
    await core.options.configureLogging?.(config);
  } catch (error) {
    await actions?.tearDownAll();
    // Every problem on a line of its own; one alone is the message already.
    const details = error instanceof ConfigError && error.issues.length > 1
      ? error.issues.map((issue) => `\n  ${new ConfigError([issue]).message}`).join("")
      : "";
    const message = messageOf(error);
    log.error("Reload failed, keeping the running config: {message}{details}", {
      message,
      details,
    });
    reloadEvent(core, { type: "reloaded", error: message });
    return undefined;
  }
  const old = core.actions;
  core.actions = actions;
  // Inside a signal's run (the `reload` action), the old set finishes that
  // run first: it is torn down when the unit ends.
  if (old && core.runningActions) core.retired.push(old);
  else await old?.tearDownAll();
  return { config, actions };
}

/**
 * A reload (HUP or USR1 by default, the `reload` action, or a schedule with
 * `signal: hup`): the new config's schedules replace the old ones (an
 * unchanged schedule keeps its plan); a config that fails keeps them all.
 */
export async function reload(core: RuntimeCore, reason: string): Promise<void> {
  const before = core.config;
  const next = await loadNext(
    core,
    reason === "reload action"
      ? "Reload action"
      : reason.startsWith("schedule ")
      ? `Schedule ${reason.slice("schedule ".length)}`
      : `Received ${reason}`,
  );
  if (!next) return;
  core.config = next.config;
  core.schedules?.replace(core.schedulesOf(next.config));
  if (core.ticker.changeInterval(intervalMsFromSeconds(next.config.application.wake_interval))) {
    log.info("wake_interval changed from {before} s to {after} s", {
      before: before.application.wake_interval,
      after: next.config.application.wake_interval,
    });
  }
  log.info("Config reloaded from {file}", { file: next.config.file });
  reloadEvent(core, { type: "reloaded" });
  await core.hook("configurationReloaded");
  // The old config and actions are garbage now: collect it rather than let the heap grow.
  await collectGarbage();
  stopIfNoActionsLeft(core);
}

/** helper's documented HUP: stop the controller, clean up, re-read the config, set up and run again. */
export async function restart(core: RuntimeCore): Promise<void> {
  const next = await loadNext(core, "Restart");
  if (!next) return;
  core.config = next.config;
  core.schedules?.replace(core.schedulesOf(next.config));
  const generation = core.generation;
  if (generation) {
    log.info("Restarting {name}: cleaning up the running controller", { name: core.name });
    core.ticker.reset();
    generation.abort.abort(
      new DOMException("flagstaff is restarting the controller", "AbortError"),
    );
    await generation.loop;
    try {
      await generation.controller.cleanup?.(core.context);
    } catch (error) {
      core.reportError("cleanup() failed", error);
    }
    if (core.stop.signal.aborted) return;
    if (core.state !== "sleeping") core.transition("sleeping");
    if (await beginGeneration(core)) firstTick(core);
  }
  reloadEvent(core, { type: "reloaded" });
  stopIfNoActionsLeft(core);
}
