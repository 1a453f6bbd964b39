/**
 * The naive Deno loop a user would write instead of flagstaff, run as a child
 * of the harness (`deno run bench/_naive_loop.ts MODE ...`; no permissions).
 *
 * - `signal DELAY_MS`: `Deno.addSignalListener("SIGUSR2", …)` runs the action
 *   straight in the listener: it writes `S <ms>`, awaits `DELAY_MS` on a timer
 *   and writes `E <ms>`. Nothing queues or coalesces: a signal during a run
 *   starts a second, overlapping run. A `setInterval` keeps the process alive.
 * - `tick INTERVAL_MS BUSY_MS`: `setInterval(process, INTERVAL_MS)`, where
 *   `process()` writes `T <ms>` and keeps the CPU busy for `BUSY_MS`. A USR2
 *   listener is installed too (it does nothing), as a daemon would have one.
 *
 * Either mode writes `ready` once its listener is in place. `<ms>` is
 * `performance.timeOrigin + performance.now()`, the harness's clock. A
 * trailing `worker` argument first starts an idle Worker from a `blob:` URL
 * (no imports), to measure what a second isolate costs (flagstaff's
 * hard-stop Worker).
 *
 * @module
 */

const now = () => performance.timeOrigin + performance.now();

const [mode, first = "0", second = "0"] = Deno.args.filter((arg) => arg !== "worker");
if (Deno.args.includes("worker")) {
  const source = "self.onmessage = () => {};";
  new Worker(URL.createObjectURL(new Blob([source], { type: "text/javascript" })), {
    type: "module",
  });
}
if (mode === "signal") {
  const delayMs = Number(first);
  Deno.addSignalListener("SIGUSR2", async () => {
    console.log(`S ${now()}`);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    console.log(`E ${now()}`);
  });
  setInterval(() => {}, 60_000);
} else if (mode === "tick") {
  const intervalMs = Number(first);
  const busyMs = Number(second);
  Deno.addSignalListener("SIGUSR2", () => {});
  setInterval(() => {
    console.log(`T ${now()}`);
    const end = performance.now() + busyMs;
    while (performance.now() < end) {
      // work
    }
  }, intervalMs);
} else {
  console.error("usage: _naive_loop.ts signal DELAY_MS | tick INTERVAL_MS BUSY_MS");
  Deno.exit(2);
}
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
console.log("ready");
