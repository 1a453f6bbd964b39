/**
 * helper's runtime states and its transition rules, as one table.
 *
 * @module
 */

/** The runtime states, with helper's display names as values. */
export const STATES = {
  initializing: "Initializing",
  sleeping: "Sleeping",
  idle: "Idle",
  active: "Active",
  stopRequested: "Stop Requested",
  stopping: "Stopping",
  stopped: "Stopped",
} as const;

/** A runtime state. */
export type State = keyof typeof STATES;

/** helper's display name of a state, e.g. `"Stop Requested"`. */
export type StateName = (typeof STATES)[State];

const RUNNING: readonly State[] = ["active", "idle", "initializing"];

/**
 * Where each state may go (helper's `set_state` rules). Setting the current
 * state again is always allowed and changes nothing.
 */
export const TRANSITIONS: Readonly<Record<State, readonly State[]>> = {
  initializing: ["active", "idle", "sleeping", "stopRequested", "stopping"],
  active: ["idle", "sleeping", "stopRequested", "stopping"],
  idle: ["active", "sleeping", "stopRequested", "stopping"],
  sleeping: ["active", "idle", "stopRequested", "stopping"],
  stopRequested: ["stopping", "stopped"],
  stopping: ["stopped"],
  stopped: [],
};

/**
 * Whether `value` names a state.
 *
 * @example
 * ```ts
 * import { isState } from "./states.ts";
 * console.assert(isState("idle") && !isState("paused"));
 * ```
 */
export function isState(value: unknown): value is State {
  return typeof value === "string" && Object.hasOwn(STATES, value);
}

/**
 * Whether the runtime may go from `from` to `to`.
 *
 * @example
 * ```ts
 * import { canTransition } from "./states.ts";
 * console.assert(canTransition("sleeping", "active"));
 * console.assert(!canTransition("stopping", "active"));
 * ```
 */
export function canTransition(from: State, to: State): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/**
 * helper's `is_running`: active, idle or initializing (not sleeping).
 *
 * @example
 * ```ts
 * import { isRunningState } from "./states.ts";
 * console.assert(isRunningState("idle") && !isRunningState("sleeping"));
 * ```
 */
export function isRunningState(state: State): boolean {
  return RUNNING.includes(state);
}
