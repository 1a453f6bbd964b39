/**
 * systemd notify, end to end: the test listens on a real unix datagram socket
 * (a path, and an abstract name) and checks every message flagstaff sends,
 * its order and its content, across start, reload (good and bad), stop and
 * the watchdog. And the example unit passes `systemd-analyze verify`.
 */
import assert from "node:assert/strict";
import { monotonicUsec } from "../lib/os/notify.ts";
import { listenNotifySocket, type NotifyListener } from "../lib/os/notify_listener.ts";
import { DEADLINE_MS, ROOT, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const PROBE = new URL("./fixtures/probe_controller.ts", import.meta.url).pathname;
// Open libc now: the test sanitizer counts a library first opened inside a test as a leak.
monotonicUsec();

/** The next message that is not a per-tick STATUS line. */
async function next(listener: NotifyListener, timeoutMs = 10_000): Promise<string> {
  while (true) {
    const message = await listener.receive({ timeoutMs });
    if (!message.startsWith("STATUS=Tick ")) return message;
  }
}

/** Reads messages until STOPPING=1 (watchdog pings may come before it); fails at the deadline. */
async function untilStopping(listener: NotifyListener): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await next(listener)).startsWith("STOPPING=1")) {
    assert.ok(Date.now() < deadline, `no STOPPING=1 within ${DEADLINE_MS} ms`);
  }
}

function fields(message: string): Record<string, string> {
  return Object.fromEntries(message.split("\n").map((line) => line.split(/=(.*)/s, 2)));
}

for (const kind of ["path", "abstract"] as const) {
  Deno.test(`sd_notify on a ${kind} socket: READY, RELOADING/READY (good and bad), STOPPING`, async () => {
    await using dir = await tempDir();
    const file = `${dir.path}/app.yml`;
    const good = (greeting: string) =>
      `Application:\n  wake_interval: 60\n  controller: ${PROBE}\n  greeting: ${greeting}\n`;
    await writeFiles(dir.path, { "app.yml": good("one") });
    await using listener = listenNotifySocket(
      kind === "path" ? `${dir.path}/notify.sock` : `@flagstaff-test-${crypto.randomUUID()}`,
    );
    await using app = spawnCli(["run", "-c", file], { env: { NOTIFY_SOCKET: listener.address } });

    const ready = fields(await next(listener));
    assert.deepEqual(ready, { READY: "1", STATUS: "Running: process() every 60 s" });
    // READY=1 comes after setup() (which printed before READY was sent; the pipe may lag).
    await app.waitFor(/^setup state=initializing\n/, { stream: "stdout" });

    await Deno.writeTextFile(file, good("two"));
    const before = monotonicUsec();
    await app.signal("HUP");
    const reloading = fields(await next(listener));
    const after = monotonicUsec();
    assert.equal(reloading.RELOADING, "1");
    const usec = BigInt(reloading.MONOTONIC_USEC);
    assert.ok(
      usec >= before && usec <= after,
      `MONOTONIC_USEC ${usec} is CLOCK_MONOTONIC (${before}..${after})`,
    );
    const reloaded = fields(await next(listener));
    assert.equal(reloaded.READY, "1");
    assert.match(reloaded.STATUS, /^Config reloaded at \d{4}-/);
    await app.waitFor("reloaded greeting=two");

    await Deno.writeTextFile(file, "Application: [broken\n");
    await app.signal("HUP");
    assert.equal(fields(await next(listener)).RELOADING, "1");
    const failed = fields(await next(listener));
    assert.equal(failed.READY, "1", "READY=1 also after a failed reload: the old config runs");
    assert.match(
      failed.STATUS,
      /^Reload failed, running the previous config: Cannot load config ".*app.yml": line \d+/,
    );

    await app.signal("TERM");
    assert.deepEqual(fields(await next(listener)), { STOPPING: "1", STATUS: "Stopping" });
    assert.equal((await app.finished()).code, 0);
  });
}

Deno.test("sd_notify: STATUS tells the last tick", async () => {
  await using dir = await tempDir();
  await using listener = listenNotifySocket(`${dir.path}/notify.sock`);
  await using app = spawnCli(["run", "--controller", PROBE], {
    env: { NOTIFY_SOCKET: listener.address },
  });
  assert.equal(fields(await listener.receive()).READY, "1");
  assert.match(await listener.receive(), /^STATUS=Tick 0 at \d{4}-\d\d-\d\dT/);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("sd_notify: WATCHDOG=1 every half WATCHDOG_USEC, and none while the loop is stuck", async () => {
  await using dir = await tempDir();
  await using listener = listenNotifySocket(`${dir.path}/notify.sock`);
  const env = { NOTIFY_SOCKET: listener.address, WATCHDOG_USEC: "200000" };
  {
    await using app = spawnCli(["run", "--usr2", "print", "x"], { env });
    assert.equal(fields(await next(listener)).READY, "1");
    const started = performance.now();
    for (let i = 0; i < 3; i++) assert.equal(await next(listener), "WATCHDOG=1");
    assert.ok(performance.now() - started >= 150, "pings come every 100 ms, not faster");
    await app.signal("TERM");
    // Drain what this instance sent until its stop.
    await untilStopping(listener);
    assert.equal((await app.finished()).code, 0);
  }
  // A process() that hangs keeps the dispatcher busy: the pings stop.
  await writeFiles(dir.path, { "app.yml": `Application:\n  controller: ${PROBE}\n  hang: true\n` });
  {
    await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`], { env });
    assert.equal(fields(await next(listener)).READY, "1");
    await app.waitFor("process start 1");
    const messages: string[] = [];
    // Three watchdog periods with no ping (pings that go on end the loop, and fail the test).
    await assert.rejects(async () => {
      while (messages.length < 20) messages.push(await next(listener, 300));
    }, Deno.errors.TimedOut);
    assert.deepEqual(
      messages.filter((m) => m === "WATCHDOG=1").length <= 1,
      true,
      messages.join("|"),
    );
    app.kill("SIGKILL");
  }
  // WATCHDOG_PID naming another process: no pings at all.
  {
    await using app = spawnCli(["run", "--usr2", "print", "x"], {
      env: { ...env, WATCHDOG_PID: "1" },
    });
    assert.equal(fields(await next(listener)).READY, "1");
    await assert.rejects(() => next(listener, 400), Deno.errors.TimedOut);
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
  }
});

Deno.test("--no-systemd sends nothing; a failing socket is logged once and harms nothing", async () => {
  await using dir = await tempDir();
  await using listener = listenNotifySocket(`${dir.path}/notify.sock`);
  {
    await using app = spawnCli(["run", "--no-systemd", "--usr2", "print", "x"], {
      env: { NOTIFY_SOCKET: listener.address },
    });
    await app.waitFor("Running 1 action(s)");
    await app.signal("USR2");
    await app.waitFor("x\n", { stream: "stdout" });
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
    await assert.rejects(() => listener.receive({ timeoutMs: 100 }), Deno.errors.TimedOut);
  }
  {
    await using app = spawnCli(["run", "--usr2", "print", "x"], {
      env: { NOTIFY_SOCKET: `${dir.path}/nobody-listens.sock` },
    });
    await app.waitFor("Running 1 action(s)");
    for (let i = 0; i < 3; i++) {
      await app.signal("USR2");
      await app.waitFor("x\n", { stream: "stdout" });
    }
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0);
    assert.equal(app.count(/Cannot notify systemd/, "stderr"), 1, result.stderr);
  }
});

Deno.test("examples/flagstaff.service passes systemd-analyze verify", {
  ignore: !(await Deno.stat("/usr/bin/systemd-analyze").then(() => true, () => false)),
}, async () => {
  const unit = await Deno.readTextFile(`${ROOT}examples/flagstaff.service`);
  assert.match(unit, /^Type=notify-reload$/m);
  assert.match(unit, /^WatchdogSec=\d+$/m);
  await using dir = await tempDir();
  // verify checks that ExecStart's program exists and is executable.
  await writeFiles(dir.path, {
    "flagstaff.service": unit.replace("/usr/local/bin/flagstaff", "/bin/true"),
  });
  const version = new TextDecoder().decode(
    (await new Deno.Command("systemd-analyze", { args: ["--version"] }).output()).stdout,
  );
  const major = Number(version.match(/^systemd (\d+)/)?.[1]);
  const out = await new Deno.Command("systemd-analyze", {
    args: ["verify", `${dir.path}/flagstaff.service`],
  })
    .output();
  const complaints = new TextDecoder().decode(out.stderr).split("\n").filter(Boolean)
    // systemd before 253 does not know Type=notify-reload yet (it was added in 253).
    .filter((line) =>
      !(major < 253 && /Failed to parse service type, ignoring: notify-reload/.test(line))
    );
  assert.deepEqual(complaints, []);
  assert.equal(out.code, 0);
});

Deno.test("sd_notify with --daemon: READY=1 carries MAINPID of the detached process", async () => {
  await using dir = await tempDir();
  await using listener = listenNotifySocket(`${dir.path}/notify.sock`);
  await writeFiles(dir.path, {
    "app.yml": `Application:\n  controller: ${PROBE}\nDaemon:\n  pidfile: ${dir.path}/app.pid\n`,
  });
  await using parent = spawnCli(["run", "-c", `${dir.path}/app.yml`, "--daemon"], {
    env: { NOTIFY_SOCKET: listener.address },
  });
  const ready = fields(await next(listener));
  assert.equal(ready.READY, "1");
  const result = await parent.finished();
  assert.equal(result.code, 0, result.stderr);
  const pid = Number(await Deno.readTextFile(`${dir.path}/app.pid`));
  assert.equal(Number(ready.MAINPID), pid);
  assert.notEqual(pid, parent.pid);
  Deno.kill(pid, "SIGTERM");
  await untilStopping(listener);
});
