import assert from "node:assert/strict";
import { canTransition, isRunningState, isState, STATES, TRANSITIONS } from "./states.ts";
import type { State } from "./states.ts";

const ALL = Object.keys(STATES) as State[];

Deno.test("canTransition() follows helper's set_state rules for every pair", () => {
  // helper: while waiting to stop only stopping/stopped; while stopping only stopped;
  // running or sleeping may not go back to initializing nor jump to stopped.
  const allowed = new Set([
    "initializing>active",
    "initializing>idle",
    "initializing>sleeping",
    "initializing>stopRequested",
    "initializing>stopping",
    "active>idle",
    "active>sleeping",
    "active>stopRequested",
    "active>stopping",
    "idle>active",
    "idle>sleeping",
    "idle>stopRequested",
    "idle>stopping",
    "sleeping>active",
    "sleeping>idle",
    "sleeping>stopRequested",
    "sleeping>stopping",
    "stopRequested>stopping",
    "stopRequested>stopped",
    "stopping>stopped",
  ]);
  for (const from of ALL) {
    for (const to of ALL) {
      const expected = from === to || allowed.has(`${from}>${to}`);
      assert.equal(canTransition(from, to), expected, `${from} -> ${to}`);
    }
  }
  assert.deepEqual(TRANSITIONS.stopped, []);
});

Deno.test("isState() accepts only the seven states", () => {
  assert.deepEqual(ALL.filter(isState), ALL);
  for (const bad of ["Idle", "paused", "", 3, undefined, "toString"]) {
    assert.equal(isState(bad), false);
  }
});

Deno.test("isRunningState() is helper's is_running", () => {
  assert.deepEqual(ALL.filter(isRunningState), ["initializing", "idle", "active"]);
});
