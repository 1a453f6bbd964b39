/**
 * Tells systemd what the runtime does, per `sd_notify(3)`, `systemd.service(5)`
 * (`Type=notify-reload`) and `daemon(7)`:
 *
 * - `READY=1` once setup has finished, the actions are set up and every signal
 *   listener is installed (a `notify-reload` unit is refused if HUP is not
 *   handled by then), with `MAINPID=` when the process systemd started is not
 *   the one that runs (`--daemon`);
 * - `RELOADING=1` with `MONOTONIC_USEC=` (CLOCK_MONOTONIC) when a reload
 *   starts, then `READY=1` when it is done, also when it failed and the old
 *   config stayed;
 * - `STOPPING=1` when a stop begins;
 * - `STATUS=` lines saying what the app does: its state, the last tick, the
 *   last reload error, and the schedules' next run (sent again whenever a
 *   schedule fires or the schedules change);
 * - `WATCHDOG=1` on the runtime's watchdog events, which come from the
 *   dispatcher: a stuck unit stops the pings.
 *
 * A failed send is logged once and never stops the app.
 *
 * @module
 */

import { getLogger } from "../deps.ts";
import { monotonicUsec, type Notifier } from "./notify.ts";
import type { RuntimeEvent } from "../runtime/runtime.ts";

const log = getLogger(["flagstaff", "systemd"]);

/** Options for {@link systemdObserver}. */
export interface SystemdObserverOptions {
  /** Send `MAINPID=` with the first `READY=1` (the running process is not the started one). Default false. */
  mainPid?: boolean;
  /** The clock for `MONOTONIC_USEC=`. Default {@link monotonicUsec}. */
  monotonicUsec?: () => bigint;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").slice(0, 400);
}

/**
 * Maps runtime events to notify messages on `notifier`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { systemdObserver } from "./systemd.ts";
 * const sent: string[] = [];
 * const observe = systemdObserver({ send: (m) => sent.push(m) > 0, close() {} });
 * observe({ type: "schedule", nextRun: "next run: backup at 2025-06-02T03:00:00+02:00" });
 * observe({ type: "ready", status: "Waiting for signals (1 action(s))" });
 * observe({ type: "schedule", nextRun: "next run: backup at 2025-06-03T03:00:00+02:00" });
 * observe({ type: "stopping" });
 * assert.deepEqual(sent, [
 *   "READY=1\nSTATUS=Waiting for signals (1 action(s)); next run: backup at 2025-06-02T03:00:00+02:00",
 *   "STATUS=Waiting for signals (1 action(s)); next run: backup at 2025-06-03T03:00:00+02:00",
 *   "STOPPING=1\nSTATUS=Stopping",
 * ]);
 * ```
 */
export function systemdObserver(
  notifier: Notifier,
  options: SystemdObserverOptions = {},
): (event: RuntimeEvent) => void {
  const clock = options.monotonicUsec ?? monotonicUsec;
  let mainPidSent = !options.mainPid;
  let lastError: string | undefined;
  /** The last status without the schedules' part, and that part. */
  let base: string | undefined;
  let nextRun: string | undefined;
  const status = (text: string) => {
    base = text;
    return `STATUS=${oneLine(nextRun ? `${text}; ${nextRun}` : text)}`;
  };
  const send = (lines: string[]) => void notifier.send(lines.join("\n"));
  return (event) => {
    switch (event.type) {
      case "schedule":
        nextRun = event.nextRun;
        // Before READY=1, the ready line carries it.
        if (base !== undefined) send([status(base)]);
        return;
      case "ready": {
        const lines = ["READY=1", status(event.status)];
        if (!mainPidSent) lines.push(`MAINPID=${Deno.pid}`);
        mainPidSent = true;
        return send(lines);
      }
      case "reloading":
        return send(["RELOADING=1", `MONOTONIC_USEC=${clock()}`, "STATUS=Reloading the config"]);
      case "reloaded":
        lastError = event.error;
        return send([
          "READY=1",
          event.error
            ? status(`Reload failed, running the previous config: ${oneLine(event.error)}`)
            : status(`Config reloaded at ${new Date().toISOString()}`),
        ]);
      case "tick":
        return send([
          status(
            `Tick ${event.index} at ${new Date().toISOString()}${
              lastError ? `; last reload failed: ${oneLine(lastError)}` : ""
            }`,
          ),
        ]);
      case "watchdog":
        return send(["WATCHDOG=1"]);
      case "stopping":
        return send(["STOPPING=1", "STATUS=Stopping"]);
      case "failed":
        return send([`STATUS=Failed: ${oneLine(event.message)}`]);
    }
  };
}

/** Logs a failed notify send (the notifier reports a run of failures once). */
export function logNotifyError(error: Error): void {
  log.warn("Cannot notify systemd: {message}", { message: error.message });
}
