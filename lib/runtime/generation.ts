/**
 * The controller's life: construct it, `setup()`, then either its own
 * `run()` loop or `process()` on the wake schedule; one tick as a unit.
 *
 * @module
 */

import { EXIT_CODES } from "../core/errors.ts";
import { type Generation, log, type RuntimeCore } from "./_core.ts";
import { ATTACH, type ControllerContext, type ControllerLike } from "./controller.ts";
import { requestStop } from "./stop.ts";
import { intervalMsFromSeconds } from "../core/schedule.ts";

/** Whether `error` is what an aborted `signal` throws: its reason, or an `AbortError`. */
function isAbortReason(error: unknown, signal: AbortSignal): boolean {
  return error === signal.reason ||
    (error instanceof DOMException && error.name === "AbortError") ||
    (error instanceof Error && error.name === "AbortError");
}

/**
 * Constructs and sets up a controller, then starts its loop or schedule.
 * False when setup failed or a stop came during it (then `cleanup()` still
 * runs, once, after `setup()` settled: the stop does that).
 */
export async function beginGeneration(core: RuntimeCore): Promise<boolean> {
  const abort = new AbortController();
  let controller: ControllerLike;
  try {
    controller = new core.controllerClass!(core.context);
  } catch (error) {
    core.fail("setup_failed", error, "The controller could not be constructed");
    return false;
  }
  const generation: Generation = {
    controller,
    abort,
    signal: AbortSignal.any([core.stop.signal, abort.signal]),
  };
  core.generation = generation;
  try {
    (controller as { [ATTACH]?: (context: ControllerContext) => void })[ATTACH]?.(core.context);
    await controller.setup?.(core.context);
  } catch (error) {
    if (core.stop.signal.aborted) {
      if (isAbortReason(error, generation.signal)) {
        log.info("setup() ended for the stop");
      } else {
        core.exitCode = EXIT_CODES.failure;
        core.reportError("setup() failed while stopping", error);
      }
      return false;
    }
    core.generation = undefined;
    core.fail("setup_failed", error, "setup() failed");
    return false;
  }
  if (core.stop.signal.aborted) return false;
  if (typeof controller.run === "function") {
    core.transition("active");
    log.info("Running {name}: run() is its own loop", { name: core.name });
    generation.loop = runLoop(core, generation);
    return true;
  }
  core.ticker.start(intervalMsFromSeconds(core.config.application.wake_interval));
  log.info("Running {name}: process() every {seconds} s", {
    name: core.name,
    seconds: core.config.application.wake_interval,
  });
  return true;
}

/** The first tick runs right after setup() (helper), once readiness was told. */
export function firstTick(core: RuntimeCore): void {
  if (core.ticker.running && !core.stop.signal.aborted) core.dispatcher.request("tick");
}

async function runLoop(core: RuntimeCore, generation: Generation): Promise<void> {
  let ended = "run() returned";
  try {
    await generation.controller.run!(generation.signal, core.context);
  } catch (error) {
    if (!generation.signal.aborted) core.exitCode = EXIT_CODES.failure;
    core.reportError("run() failed", error);
    ended = "run() failed";
  }
  // run() ending on its own (not for a stop or a restart) ends the app.
  if (!generation.signal.aborted) requestStop(core, ended);
}

/** One tick: `process()` (unless idle), then the next deadline. */
export async function tick(core: RuntimeCore): Promise<void> {
  const generation = core.generation;
  if (!generation || !core.ticker.running) return;
  if (core.state === "idle") {
    log.debug("Idle: tick {index} skipped", { index: core.ticker.index });
  } else {
    core.transition("active");
    core.emit({ type: "tick", index: core.ticker.index });
    try {
      await generation.controller.process?.(core.context);
    } catch (error) {
      core.reportError("process() failed", error, { handled: true });
    }
    if (core.state === "active") core.transition("sleeping");
  }
  if (core.stop.signal.aborted || generation !== core.generation) return;
  core.ticker.advance();
}
