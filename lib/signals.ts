/**
 * The signal source: a small interface over `Deno.addSignalListener`, so the
 * runtime can be driven by a fake in unit tests. Listeners only record work
 * (DESIGN.md); the dispatcher acts.
 *
 * @module
 */

import { FlagstaffError } from "./errors.ts";

/** The signals flagstaff listens to. */
export type SignalName = "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGUSR1" | "SIGUSR2";

/** Subscribes listeners to process signals. */
export interface SignalSource {
  /**
   * Calls `listener` on each delivery of `signal` (Deno merges repeats that
   * arrive before JS runs). Returns the unsubscribe function.
   *
   * @throws {FlagstaffError} `usage` when this platform cannot deliver `signal`.
   */
  subscribe(signal: SignalName, listener: () => void): () => void;
}

/**
 * The process's real signals.
 *
 * @example
 * ```ts
 * import { denoSignals } from "./signals.ts";
 * const unsubscribe = denoSignals.subscribe("SIGUSR2", () => {});
 * unsubscribe();
 * ```
 */
export const denoSignals: SignalSource = {
  subscribe(signal, listener) {
    try {
      Deno.addSignalListener(signal, listener);
    } catch (error) {
      throw new FlagstaffError(
        "usage",
        `Cannot listen to ${signal} on ${Deno.build.os}: ${
          error instanceof Error ? error.message : error
        }`,
        { cause: error },
      );
    }
    return () => Deno.removeSignalListener(signal, listener);
  },
};

/** `HUP` / `hup` / `SIGHUP` → `SIGHUP`; undefined for anything else. */
export function signalName(value: string): SignalName | undefined {
  const upper = value.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  return (["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2"] as const).find((s) => s === name);
}
