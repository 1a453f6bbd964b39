import assert from "node:assert/strict";
import { Dispatcher } from "./dispatcher.ts";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  return { promise, resolve };
}

Deno.test("Dispatcher runs one unit at a time in order of first request", async () => {
  const log: string[] = [];
  let running = 0;
  const dispatcher = new Dispatcher<string>(async (key) => {
    running++;
    assert.equal(running, 1);
    log.push(`start ${key}`);
    await new Promise((r) => setTimeout(r, 1));
    log.push(`end ${key}`);
    running--;
  });
  for (const key of ["usr1", "hup", "usr1", "usr2", "hup"]) dispatcher.request(key);
  await dispatcher.drain();
  assert.deepEqual(log, [
    "start usr1",
    "end usr1",
    "start hup",
    "end hup",
    "start usr2",
    "end usr2",
  ]);
});

Deno.test("Dispatcher queues one more run for a key requested while it runs", async () => {
  const gate = deferred();
  const starts: number[] = [];
  let requests = 0;
  const dispatcher = new Dispatcher<"usr1">(async () => {
    starts.push(requests);
    if (starts.length === 1) await gate.promise;
  });
  dispatcher.request("usr1");
  requests++;
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(dispatcher.current, "usr1");
  // A burst while the first run is in flight collapses into one more run.
  for (let i = 0; i < 1000; i++) dispatcher.request("usr1"), requests++;
  gate.resolve();
  await dispatcher.drain();
  assert.deepEqual(starts, [1, 1001]);
});

Deno.test("Dispatcher reports a throwing unit and keeps going", async () => {
  const errors: string[] = [];
  const ran: string[] = [];
  const dispatcher = new Dispatcher<string>((key) => {
    if (key === "bad") throw new Error("boom");
    ran.push(key);
  }, { onError: (key, error) => errors.push(`${key}: ${(error as Error).message}`) });
  dispatcher.request("bad");
  dispatcher.request("good");
  await dispatcher.drain();
  assert.deepEqual(errors, ["bad: boom"]);
  assert.deepEqual(ran, ["good"]);
});

Deno.test("Dispatcher.close() aborts the unit in flight, drops the queue and waits", async () => {
  const log: string[] = [];
  const dispatcher = new Dispatcher<string>(async (key, signal) => {
    log.push(`start ${key}`);
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
    log.push(`aborted ${key}`);
  });
  dispatcher.request("tick");
  dispatcher.request("hup");
  await new Promise((r) => setTimeout(r, 0));
  await dispatcher.close();
  assert.deepEqual(log, ["start tick", "aborted tick"]);
  assert.equal(dispatcher.request("hup"), false);
  assert.deepEqual(dispatcher.pending, []);
});
