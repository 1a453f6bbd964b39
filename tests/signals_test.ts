/**
 * Stops and signals on the paths users really take: a Ctrl-C that reaches
 * the process twice (terminal + `deno task`), signals during start-up and
 * during the exit, TERM during `setup()`, a stop deadline that holds while
 * JavaScript is blocked, systemd's notify-reload handshake on every HUP, and
 * overrun warnings that do not flood. Real processes, real signals (`kill`),
 * synchronised on output.
 */
import assert from "node:assert/strict";
import { delay } from "../lib/core/delay.ts";
import { monotonicUsec } from "../lib/os/notify.ts";
import { listenNotifySocket } from "../lib/os/notify_listener.ts";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";
import { DEADLINE_MS, MAIN, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const PROBE = new URL("./fixtures/probe_controller.ts", import.meta.url).pathname;
// Open libc now: the test sanitizer counts a library first opened inside a test as a leak.
monotonicUsec();

function probeConfig(application: Record<string, unknown>, extra = ""): string {
  const lines = Object.entries({ controller: PROBE, ...application }).map(([k, v]) =>
    `  ${k}: ${JSON.stringify(v)}`
  );
  return `Application:\n${lines.join("\n")}\n${extra}`;
}

/**
 * Sends `signals` to `target` from one shell, back to back (well under a
 * millisecond apart, unless the machine is busy). The first must reach it;
 * the second may find it gone already (a stop that finished first).
 */
async function killTwice(target: string, signals: [string, string]): Promise<void> {
  const { code, stderr } = await new Deno.Command("sh", {
    args: [
      "-c",
      `kill -${signals[0]} ${target} || exit 2; kill -${signals[1]} ${target} 2>/dev/null; :`,
    ],
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

/** Kills what is left of a process group (a failed try must not leave flagstaff running). */
function killGroup(pgid: number): void {
  try {
    Deno.kill(-pgid, "SIGKILL");
  } catch {
    // The group is gone.
  }
}

async function waitForFile(path: string, nonEmpty: boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (!nonEmpty || (await Deno.readTextFile(path)).trim() !== "") return;
    } catch {
      // Not there yet.
    }
    await delay(2);
  }
  throw new Error(`${path} did not appear`);
}

Deno.test("one Ctrl-C in a terminal under `deno task` is one stop: exit 0, 20 of 20 tries", async () => {
  await using dir = await tempDir();
  const task = ["deno", "run", ...PERMISSION_FLAGS, MAIN, "run", "--usr1", "print", "x"].join(" ");
  await writeFiles(dir.path, { "deno.json": JSON.stringify({ tasks: { app: task } }) });
  for (let i = 0; i < 20; i++) {
    // setsid: the task is a process group of its own, like a terminal's foreground job.
    await using job = spawnCli([], {
      cwd: dir.path,
      command: ["setsid", Deno.execPath(), "task", "app"],
    });
    try {
      await job.waitFor("Running 1 action(s)");
      // One Ctrl-C: the terminal sends INT to the whole group, and `deno task` forwards it to
      // flagstaff once more. (A second group INT would be a second Ctrl-C: one that reaches
      // `deno task` after flagstaff has exited ends `deno task` itself by SIGINT, exit 130.)
      const { code } = await new Deno.Command("kill", { args: ["-INT", "--", `-${job.pid}`] })
        .output();
      assert.equal(code, 0);
    } catch (error) {
      killGroup(job.pid);
      throw error;
    }
    const result = await job.finished();
    killGroup(job.pid);
    assert.doesNotMatch(result.stderr, /forcing exit/, `try ${i + 1}`);
    assert.match(result.stderr, /Stopped flagstaff/, `try ${i + 1}`);
    assert.equal(result.code, 0, `try ${i + 1}\n${result.stderr}`);
  }
});

Deno.test("TERM to the process group (systemd, timeout) under `deno task` is one stop", async () => {
  await using dir = await tempDir();
  const task = ["deno", "run", ...PERMISSION_FLAGS, MAIN, "run", "--usr1", "print", "x"].join(" ");
  await writeFiles(dir.path, { "deno.json": JSON.stringify({ tasks: { app: task } }) });
  for (let i = 0; i < 10; i++) {
    await using job = spawnCli([], {
      cwd: dir.path,
      command: ["setsid", Deno.execPath(), "task", "app"],
    });
    try {
      await job.waitFor("Running 1 action(s)");
      const { code } = await new Deno.Command("kill", { args: ["-TERM", "--", `-${job.pid}`] })
        .output();
      assert.equal(code, 0);
    } catch (error) {
      killGroup(job.pid);
      throw error;
    }
    const result = await job.finished();
    killGroup(job.pid);
    assert.doesNotMatch(result.stderr, /forcing exit/, `try ${i + 1}`);
    assert.equal(result.code, 0, `try ${i + 1}\n${result.stderr}`);
  }
});

Deno.test("a deliberate second Ctrl-C 0.5 s or more after the first forces the exit with 1", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": probeConfig({ hang: true }) });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("process start 1");
  await app.signal("INT");
  await app.waitFor("Received SIGINT: stopping");
  // The input is a second Ctrl-C a moment later, as a user would press it.
  await delay(600);
  await app.signal("INT");
  const result = await app.finished();
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Received SIGINT again while stopping: forcing exit/);
  assert.doesNotMatch(result.stdout, /cleanup/);
});

Deno.test("two INTs 0-3 ms apart are one clean stop: exit 0, pidfile removed, 20 of 20 tries", async () => {
  await using dir = await tempDir();
  const pidfile = `${dir.path}/app.pid`;
  await writeFiles(dir.path, {
    "app.yml": probeConfig({ wake_interval: 60 }, `Daemon:\n  pidfile: ${pidfile}\n`),
  });
  for (let i = 0; i < 20; i++) {
    await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
    await app.waitFor("process end 1");
    await killTwice(String(app.pid), ["INT", "INT"]);
    const result = await app.finished();
    assert.equal(result.code, 0, `try ${i + 1}: ${result.signal ?? ""}\n${result.stderr}`);
    assert.doesNotMatch(result.stderr, /forcing exit/);
    await assert.rejects(Deno.stat(pidfile), Deno.errors.NotFound, `try ${i + 1}: pidfile left`);
  }
});

Deno.test("HUP sent as soon as the pidfile is written is handled, never fatal (10 of 10)", async () => {
  await using dir = await tempDir();
  const pidfile = `${dir.path}/app.pid`;
  await writeFiles(dir.path, {
    "app.yml": probeConfig(
      { wake_interval: 60, greeting: "one" },
      `Daemon:\n  pidfile: ${pidfile}\n`,
    ),
  });
  for (let i = 0; i < 10; i++) {
    await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
    await waitForFile(pidfile, true);
    await app.signal("HUP");
    await app.waitFor("reloaded greeting=one", { stream: "stdout" });
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0, `try ${i + 1}: ${result.signal ?? ""}\n${result.stderr}`);
  }
});

Deno.test("HUP, USR1 and USR2 during setup() are queued and run in order once ready", async () => {
  await using dir = await tempDir();
  const gate = `${dir.path}/gate`;
  await writeFiles(dir.path, {
    "app.yml": probeConfig({ wake_interval: 60, greeting: "one", setup_wait_file: gate }),
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("setup start", { stream: "stdout" });
  for (const signal of ["HUP", "USR1", "USR2"] as const) await app.signal(signal);
  await Deno.writeTextFile(gate, "");
  await app.waitFor("setup end aborted=false", { stream: "stdout" });
  await app.waitFor("sigusr2 hook", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  // Once ready, the queued signals run in the order they came, then the first tick.
  const order = result.stdout.split("\n").filter((line) =>
    /^(setup end|process start 1|reloaded|sigusr2)/.test(line)
  );
  assert.deepEqual(order, [
    "setup end aborted=false",
    "reloaded greeting=one wake_interval=60",
    "reloaded greeting=one wake_interval=60",
    "sigusr2 hook",
    "process start 1 state=active",
  ]);
});

Deno.test("USR1 and USR2 right after an action's setUp() output are queued, never fatal", async () => {
  await using dir = await tempDir();
  const gate = `${dir.path}/gate`;
  // An action whose setUp() prints, then takes its time: the process is not ready yet.
  await writeFiles(dir.path, {
    "actions/slow_setup.ts": `export default class SlowSetup {
  async setUp() {
    console.log("slow setup start");
    const deadline = Date.now() + ${DEADLINE_MS};
    while (!(await Deno.stat(${JSON.stringify(gate)}).then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error("no gate file within the deadline");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  run() {}
}
`,
    "app.yml": "Signals:\n  usr1: [{print: one}]\n  usr2: [{print: two}]\n  hup: [slow_setup]\n",
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("slow setup start", { stream: "stdout" });
  await app.signal("USR1");
  await app.signal("USR2");
  await Deno.writeTextFile(gate, "");
  await app.waitFor(/^two$/m, { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, `${result.signal ?? ""}\n${result.stderr}`);
  assert.match(result.stdout, /^one\ntwo$/m);
});

Deno.test("TERM during setup() waits for it, then runs cleanup() once, exit 0", async () => {
  await using dir = await tempDir();
  const gate = `${dir.path}/gate`;
  await writeFiles(dir.path, {
    "app.yml": probeConfig({ wake_interval: 60, setup_wait_file: gate }),
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("setup start", { stream: "stdout" });
  await app.signal("TERM");
  await app.waitFor("Received SIGTERM: stopping");
  // setup() is still running: nothing may clean up beside it.
  assert.doesNotMatch(app.stdout, /cleanup/);
  await Deno.writeTextFile(gate, "");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /setup start\nsetup end aborted=true\ncleanup state=stopping ticks=0\n$/,
  );
  assert.equal(app.count(/^cleanup/m, "stdout"), 1);
  assert.doesNotMatch(result.stdout, /process start/);
});

for (const where of ["cleanup", "process"] as const) {
  Deno.test(`stop_timeout holds while ${where}() blocks the event loop: exit 1 in time`, async () => {
    await using dir = await tempDir();
    const busy = where === "cleanup" ? { busy_cleanup_ms: 8000 } : { busy_process_ms: 8000 };
    await writeFiles(dir.path, {
      "app.yml": probeConfig({ wake_interval: 60, ...busy }, "Daemon:\n  stop_timeout: 1\n"),
    });
    await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
    await app.waitFor(where === "cleanup" ? "process end 1" : "process start 1");
    const sent = performance.now();
    await app.signal("TERM");
    const result = await app.finished();
    const tookMs = performance.now() - sent;
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /Stop timed out after 1 s \(Daemon\.stop_timeout\)/);
    // The blocking work would take 8 s; the deadline ends the process long before.
    assert.ok(tookMs < 6000, `took ${Math.round(tookMs)} ms`);
  });
}

Deno.test("stop_timeout past the timer limit (3000000 s) is no instant forced exit", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": probeConfig(
      { wake_interval: 60, process_ms: 300 },
      "Daemon:\n  stop_timeout: 3000000\n",
    ),
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  // The stop waits for the tick in flight: a deadline that fired at once would cut it.
  await app.waitFor("process start 1");
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /timed out/);
  assert.match(result.stdout, /process end 1 .*\ncleanup state=stopping/);
});

for (const mode of ["no config", "HUP actions"] as const) {
  Deno.test(`notify-reload: HUP with ${mode} sends RELOADING=1 + MONOTONIC_USEC, then READY=1`, async () => {
    await using dir = await tempDir();
    await using listener = listenNotifySocket(`${dir.path}/notify.sock`);
    const args = mode === "no config"
      ? ["run", "--usr2", "print", "x"]
      : ["run", "--hup", "print", "hup action"];
    await using app = spawnCli(args, { env: { NOTIFY_SOCKET: listener.address } });
    assert.match(await listener.receive({ timeoutMs: 30_000 }), /^READY=1/);
    const before = monotonicUsec();
    await app.signal("HUP");
    const reloading = await listener.receive({ timeoutMs: 30_000 });
    assert.match(reloading, /^RELOADING=1\nMONOTONIC_USEC=\d+/);
    const usec = BigInt(/MONOTONIC_USEC=(\d+)/.exec(reloading)![1]);
    assert.ok(usec >= before, "MONOTONIC_USEC is taken after the HUP");
    assert.match(await listener.receive({ timeoutMs: 30_000 }), /^READY=1/);
    // The action's output goes through a pipe of its own: wait for it (it ran before READY=1).
    if (mode === "HUP actions") await app.waitFor("hup action\n", { stream: "stdout" });
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
  });
}

Deno.test("a process() that always overruns logs one overrun warning, not one per tick", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": probeConfig({ wake_interval: 0.02, process_ms: 60 }) });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("process end 15");
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.equal(app.count(/overran its interval/, "stderr"), 1, result.stderr);
});

Deno.test("the stop deadline holds while stderr is blocked (a pipe nobody reads)", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": probeConfig(
      { wake_interval: 60, log_lines: 5000, busy_process_ms: 8000 },
      "Daemon:\n  stop_timeout: 1\n",
    ),
  });
  // stderr is piped and never read: its writes block once the pipe is full.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSION_FLAGS, MAIN, "run", "-c", `${dir.path}/app.yml`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A hard deadline for the test itself: a process that never starts or never ends fails it
  // (killed, its stdout ends).
  let timer = setTimeout(() => child.kill("SIGKILL"), DEADLINE_MS);
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("process start 1")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`exited early: ${out}`);
      out += value;
    }
    clearTimeout(timer);
    const sent = performance.now();
    Deno.kill(child.pid, "SIGTERM");
    timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const status = await child.status;
    const tookMs = performance.now() - sent;
    assert.equal(status.code, 1);
    // The busy tick would take 8 s, and stderr never drains.
    assert.ok(tookMs < 6000, `took ${Math.round(tookMs)} ms`);
    reader.releaseLock();
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch {
      // Gone.
    }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
  }
});

Deno.test("a TERM that arrives before the hard stop is up still counts its deadline from then", async () => {
  await using dir = await tempDir();
  // A controller module whose top-level code blocks JavaScript for 8 s while it loads.
  await writeFiles(dir.path, {
    "busy.ts": `const end = performance.now() + 8000;
while (performance.now() < end) {
  // Busy at import time.
}
export default class Busy {
  process() {}
}
`,
    "app.yml": "Application:\n  controller: ./busy.ts\nDaemon:\n  stop_timeout: 1\n",
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  // As soon as the TERM listener is installed (SigCgt), before anything else is up: polled
  // every millisecond (eventually() polls every 10), failing at the deadline.
  const deadline = Date.now() + DEADLINE_MS;
  while (true) {
    const status = await Deno.readTextFile(`/proc/${app.pid}/status`).catch(() => "");
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    if (caught && (BigInt(`0x${caught}`) & (1n << 14n)) !== 0n) break;
    assert.ok(Date.now() < deadline, `pid ${app.pid} never caught SIGTERM`);
    await delay(1);
  }
  const sent = performance.now();
  await app.signal("TERM");
  const result = await app.finished();
  const tookMs = performance.now() - sent;
  assert.equal(result.code, 1, result.stderr);
  assert.ok(tookMs < 6000, `took ${Math.round(tookMs)} ms`);
});
