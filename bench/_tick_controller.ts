/**
 * The bench controller (tool mode, loaded by `Application.controller`): each
 * `process()` writes `T <ms>` (wall-clock milliseconds, the harness's clock)
 * to stdout, then keeps the CPU busy for `Application.busy_ms` milliseconds
 * (default 0), as real work would: a busy `process()` also holds off timers
 * and signals.
 *
 * @module
 */

import type { ControllerContext } from "../lib/runtime/controller.ts";

const encoder = new TextEncoder();

/** Busy-waits for `ms` milliseconds. */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // burn CPU, as work would
  }
}

export default {
  /** Stamps, then works for `busy_ms`. */
  process({ config }: ControllerContext): void {
    Deno.stdout.writeSync(encoder.encode(`T ${performance.timeOrigin + performance.now()}\n`));
    spin(Number(config.application.busy_ms ?? 0));
  },
};
