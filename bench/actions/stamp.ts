/**
 * `stamp [DELAY_MS]`: the bench action. Each run writes `S <ms>` when it
 * starts, waits `DELAY_MS` (default 0) on a timer, and writes `E <ms>` when it
 * ends, `<ms>` being wall-clock milliseconds (`performance.timeOrigin +
 * performance.now()`, the harness's clock). It writes to the output it is
 * handed, synchronously, as every action prints.
 *
 * @module
 */

import type { ActionArgument, ActionContext } from "../../lib/runtime/action.ts";

/** Stamps the start and end of each run. */
export default class StampAction {
  /** One line for `flagstaff list`. */
  static readonly description = "Bench: writes the wall-clock time at the start and end of a run";
  /** The arguments it takes. */
  static readonly arguments: readonly ActionArgument[] = [
    { name: "delay", type: "number", doc: "milliseconds each run takes", optional: true },
  ];

  #delayMs = 0;

  /** Keeps the delay. */
  setUp(delay = "0"): void {
    this.#delayMs = Number(delay);
  }

  /** Stamps, waits, stamps. */
  async run(context: ActionContext): Promise<void> {
    context.out.write(`S ${performance.timeOrigin + performance.now()}\n`);
    if (this.#delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
    context.out.write(`E ${performance.timeOrigin + performance.now()}\n`);
  }
}
