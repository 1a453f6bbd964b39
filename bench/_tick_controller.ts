/**
 * The bench controller (tool mode, loaded by `Application.controller`): each
 * `process()` writes `T <ms>` (wall-clock milliseconds, the harness's clock)
 * to stdout, then keeps the CPU busy for `Application.busy_ms` milliseconds
 * (default 0), as real work would: a busy `process()` also holds off timers
 * and signals. With `Application.append_file`, its USR2 hook appends a line
 * to that file (opened and closed each time, as a simple hook would) and
 * writes `U <ms>` to stdout.
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
  /** Appends a line to `append_file`, then stamps. */
  onSigusr2({ config }: ControllerContext): void {
    const file = config.application.append_file;
    if (typeof file !== "string") return;
    const now = performance.timeOrigin + performance.now();
    Deno.writeTextFileSync(file, `USR2 at ${now}\n`, { append: true });
    Deno.stdout.writeSync(encoder.encode(`U ${now}\n`));
  },
};
