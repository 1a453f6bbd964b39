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
 * import assert from "node:assert/strict";
 * import { isState } from "./states.ts";
 * assert.equal(isState("idle"), true);
 * assert.equal(isState("paused"), false);
 * assert.equal(isState("Idle"), false); // a display name is not a state
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
 * import assert from "node:assert/strict";
 * import { canTransition } from "./states.ts";
 * assert.equal(canTransition("sleeping", "active"), true);
 * assert.equal(canTransition("stopping", "active"), false);
 * assert.equal(canTransition("stopped", "stopped"), true); // the same state again
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
 * import assert from "node:assert/strict";
 * import { isRunningState } from "./states.ts";
 * assert.equal(isRunningState("idle"), true);
 * assert.equal(isRunningState("sleeping"), false);
 * ```
 */
export function isRunningState(state: State): boolean {
  return RUNNING.includes(state);
}
