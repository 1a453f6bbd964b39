/**
 * The stop: one request however many TERM/INT deliveries make it, a forced
 * exit for a deliberate second one, a graceful sequence bounded by
 * `Daemon.stop_timeout` (and, outside the event loop, by the hard stop,
 * `os/hard_stop.ts`), and the end of a run whose actions have all closed.
 *
 * @module
 */

import { setLongTimeout } from "../core/delay.ts";
import { EXIT_CODES } from "../core/errors.ts";
import { log, type RuntimeCore } from "./_core.ts";

/**
 * A TERM or INT that comes this long or longer after the stop began forces
 * the exit (exit code 1); one that comes sooner is the same request arriving
 * twice (a terminal's Ctrl-C reaches the whole process group, and `deno task`
 * forwards it once more), in milliseconds.
 */
export const REPEAT_WINDOW_MS = 500;

/**
 * Asks for a graceful stop. A TERM or INT while stopping is the same request
 * when it arrived within {@link REPEAT_WINDOW_MS} of the one that began the
 * stop, and forces the exit with code 1 when it arrived later. Times are
 * receipt times (`receivedAtMs`): JavaScript may see a signal late.
 */
export function requestStop(
  core: RuntimeCore,
  reason: string,
  signal?: "SIGTERM" | "SIGINT",
  receivedAtMs?: number,
): void {
  const now = receivedAtMs ?? core.clock.nowMs();
  if (core.stopStartedMs !== undefined) {
    if (!signal) return;
    const afterMs = now - core.stopStartedMs;
    if (afterMs >= REPEAT_WINDOW_MS) {
      core.fail("forced_stop", undefined, `Received ${signal} again while stopping: forcing exit`);
    } else {
      log.debug("Received {signal} {ms} ms after the stop began: the same request", {
        signal,
        ms: Math.round(afterMs),
      });
    }
    return;
  }
  core.stopStartedMs = now;
  log.info("{reason}: stopping", {
    reason: reason.startsWith("SIG") ? `Received ${reason}` : reason,
  });
  core.emit({ type: "stopping" });
  void stopGracefully(core, reason.startsWith("SIG") ? `received ${reason}` : reason);
}

/**
 * The stop: cancel the schedules' pending ticks, fire the controller's
 * `signal`, let start-up settle (a `setup()`
 * in flight finishes first), let the unit in flight finish, run `cleanup()`
 * once, tear the actions down, end with the exit code.
 */
async function stopGracefully(core: RuntimeCore, why: string): Promise<void> {
  // First: no schedule fires any more, so nothing new is queued.
  core.schedules?.dispose();
  core.transition("stopRequested");
  core.ticker.cancel();
  const timeoutS = core.config.daemon.stop_timeout;
  const deadline = setLongTimeout(
    () =>
      core.fail(
        "stop_timeout",
        undefined,
        `Stop timed out after ${timeoutS} s (Daemon.stop_timeout): forcing exit`,
      ),
    timeoutS * 1000,
  );
  try {
    // What user code sees as `signal.reason` (and an aborted action's log line): an AbortError.
    core.stop.abort(new DOMException(`flagstaff is stopping (${why})`, "AbortError"));
    await core.starting;
    await core.dispatcher.close();
    const generation = core.generation;
    await generation?.loop;
    core.transition("stopping");
    if (generation) {
      try {
        await generation.controller.cleanup?.(core.context);
      } catch (error) {
        core.exitCode = EXIT_CODES.failure;
        core.reportError("cleanup() failed", error);
      }
    }
    await core.tearDownRetired();
    await core.actions?.tearDownAll();
    // The last runs recorded (for catch_up) are on disk before the exit.
    await core.schedules?.flush();
    core.transition("stopped");
    log.info("Stopped {name}", { name: core.name });
    core.end(core.exitCode);
  } catch (error) {
    core.fail("run_failed", error);
  } finally {
    deadline.cancel();
  }
}

/** With no controller, the process lives for its actions: when all have closed, it ends. */
export function stopIfNoActionsLeft(core: RuntimeCore): void {
  const actions = core.actions!;
  if (core.controllerClass || actions.configuredCount === 0 || actions.openCount > 0) return;
  if (core.stop.signal.aborted) return;
  const code = core.options.successfulEmpty ? EXIT_CODES.ok : EXIT_CODES.failure;
  core.exitCode = code;
  requestStop(
    core,
    `Every action has closed: exiting with code ${code}${
      code ? " (--successful-empty makes this 0)" : ""
    }`,
  );
}
