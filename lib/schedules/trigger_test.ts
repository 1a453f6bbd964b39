import assert from "node:assert/strict";
import type { SignalName, SignalSource } from "../os/signals.ts";
import { SignalTriggerSource, type Trigger } from "./trigger.ts";

Deno.test("SignalTriggerSource fires one trigger per delivery of its signals, keyed by the signal", () => {
  const handlers = new Set<(signal: SignalName) => void>();
  const fake: SignalSource = {
    listen(handler) {
      handlers.add((signal) => handler(signal, 7));
      return () => handlers.clear();
    },
  };
  let nowMs = 1000;
  const source = new SignalTriggerSource(["SIGHUP", "SIGUSR2"], fake, {
    wallNowMs: () => nowMs++,
  });
  const fired: Trigger[] = [];
  const stop = source.start((trigger) => fired.push(trigger));
  for (const signal of ["SIGUSR2", "SIGTERM", "SIGHUP"] as const) {
    for (const handler of handlers) handler(signal);
  }
  assert.deepEqual(fired, [
    { kind: "signal", key: "SIGUSR2", signal: "SIGUSR2", firedAtMs: 1000, receivedAtMs: 7 },
    { kind: "signal", key: "SIGHUP", signal: "SIGHUP", firedAtMs: 1001, receivedAtMs: 7 },
  ]);
  stop[Symbol.dispose]();
  assert.equal(handlers.size, 0);
});
