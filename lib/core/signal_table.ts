/**
 * The one signal table: every signal flagstaff handles, with its
 * command-line flag, its key in the config's `Signals` section and what it
 * does by default. The argv grammar, the config schema, the action set, the
 * runtime's routing, `check` and the signal listeners all read it: a new
 * signal behaviour is one row here plus its unit in the runtime.
 *
 * @module
 */

/** A signal flagstaff handles. */
export type SignalName = "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGUSR1" | "SIGUSR2";

/** A signal that actions can be given for. */
export type ActionSignal = "SIGHUP" | "SIGUSR1" | "SIGUSR2";

/** What a signal does when no actions are given for it. */
export type SignalDefault = "stop" | "reload" | "onSigusr2";

/** One row of the table. */
export interface SignalRow {
  /** The signal. */
  readonly signal: SignalName;
  /** Linux's number (exit codes are 128 + n). */
  readonly number: number;
  /** Its default behaviour. */
  readonly default: SignalDefault;
  /** What the default does, for help and `check`. */
  readonly doc: string;
  /** For signals that take actions: the flag (`--usr1`) and the `Signals` key (`usr1`). */
  readonly actions?: { readonly flag: string; readonly key: string };
}

/** The table, in the order the listeners are installed and the docs list them. */
export const SIGNAL_TABLE: readonly SignalRow[] = [
  { signal: "SIGTERM", number: 15, default: "stop", doc: "stops gracefully" },
  { signal: "SIGINT", number: 2, default: "stop", doc: "stops gracefully" },
  {
    signal: "SIGHUP",
    number: 1,
    default: "reload",
    doc: "reloads the config",
    actions: { flag: "--hup", key: "hup" },
  },
  {
    signal: "SIGUSR1",
    number: 10,
    default: "reload",
    doc: "reloads the config",
    actions: { flag: "--usr1", key: "usr1" },
  },
  {
    signal: "SIGUSR2",
    number: 12,
    default: "onSigusr2",
    doc: "calls onSigusr2()",
    actions: { flag: "--usr2", key: "usr2" },
  },
];

/** Every signal flagstaff handles, in table order. */
export const HANDLED_SIGNALS: readonly SignalName[] = SIGNAL_TABLE.map((row) => row.signal);

/** The rows of the signals that take actions. */
export const ACTION_ROWS: readonly (SignalRow & {
  readonly signal: ActionSignal;
  readonly actions: { readonly flag: string; readonly key: string };
})[] = SIGNAL_TABLE.filter((row) => row.actions !== undefined) as never;

/** The signals that take actions, in table order. */
export const ACTION_SIGNAL_NAMES: readonly ActionSignal[] = ACTION_ROWS.map((row) => row.signal);

/** `Signals` key → signal: `{ hup: "SIGHUP", usr1: "SIGUSR1", usr2: "SIGUSR2" }`. */
export const ACTION_SIGNALS: Readonly<Record<string, ActionSignal>> = Object.fromEntries(
  ACTION_ROWS.map((row) => [row.actions.key, row.signal]),
);

/** Command-line flag → signal: `{ "--hup": "SIGHUP", … }`. */
export const ACTION_FLAGS: Readonly<Record<string, ActionSignal>> = Object.fromEntries(
  ACTION_ROWS.map((row) => [row.actions.flag, row.signal]),
);

/** Linux's signal numbers by name. */
export const SIGNAL_NUMBERS: Readonly<Record<SignalName, number>> = Object.fromEntries(
  SIGNAL_TABLE.map((row) => [row.signal, row.number]),
) as Record<SignalName, number>;

/**
 * The row of `signal`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signalRow } from "./signal_table.ts";
 * assert.equal(signalRow("SIGUSR2").default, "onSigusr2");
 * ```
 */
export function signalRow(signal: SignalName): SignalRow {
  return SIGNAL_TABLE.find((row) => row.signal === signal)!;
}

/**
 * `HUP` / `hup` / `SIGHUP` → `SIGHUP`; undefined for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signalName } from "./signal_table.ts";
 * assert.equal(signalName("usr1"), "SIGUSR1");
 * assert.equal(signalName("KILL"), undefined);
 * ```
 */
export function signalName(value: string): SignalName | undefined {
  const upper = value.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  return HANDLED_SIGNALS.find((s) => s === name);
}

/**
 * The short key of an action signal, for labels: `SIGUSR1` → `usr1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { actionKey } from "./signal_table.ts";
 * assert.equal(actionKey("SIGHUP"), "hup");
 * ```
 */
export function actionKey(signal: ActionSignal): string {
  return signalRow(signal).actions!.key;
}
