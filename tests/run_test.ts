/**
 * End-to-end tests of `flagstaff run`: the real CLI as a process, real
 * signals sent with `kill`, synchronised on output.
 */
import assert from "node:assert/strict";
import { delay } from "../lib/core/delay.ts";
import { spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const PROBE = new URL("./fixtures/probe_controller.ts", import.meta.url).pathname;

function probeConfig(application: Record<string, unknown>, extra = ""): string {
  const lines = Object.entries({ controller: PROBE, ...application }).map(([k, v]) =>
    `  ${k}: ${JSON.stringify(v)}`
  );
  return `Application:\n${lines.join("\n")}\n${extra}`;
}

Deno.test("run ticks in order, then TERM runs cleanup() once and exits 0", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": probeConfig({ wake_interval: 0.05, greeting: "hi" }) });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("setup state=initializing");
  for (let n = 1; n <= 5; n++) await app.waitFor(`process end ${n} greeting=hi aborted=false`);
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  const ticks = [...result.stdout.matchAll(/process start (\d+)/g)].map((m) => Number(m[1]));
  assert.deepEqual(ticks, ticks.map((_, i) => i + 1), "ticks keep their count and order");
  assert.equal(app.count(/^cleanup/m), 1);
  assert.match(result.stdout, /cleanup state=stopping ticks=\d+\n$/);
  assert.match(result.stderr, /Received SIGTERM: stopping/);
  assert.match(result.stderr, /Stopped app/);
});

Deno.test("run: TERM during a long process() waits for it, cleans up once, exits 0", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": probeConfig({ wake_interval: 0.05, process_ms: 1500 }) });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("process start 1");
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  // The tick in flight finished (it saw the stop signal) and no new tick started.
  assert.match(
    result.stdout,
    /process start 1 state=active\nprocess end 1 greeting=undefined aborted=true\ncleanup state=stopping ticks=1\n$/,
  );
  assert.equal(app.count(/process start/), 1);
});

Deno.test("run: a second TERM 0.5 s or more after the first forces the exit with code 1", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": probeConfig({ hang: true }) });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("process start 1");
  await app.signal("TERM");
  await app.waitFor("Received SIGTERM: stopping");
  // The input: a deliberate second signal a moment later (sooner, it is the same request).
  await delay(600);
  await app.signal("INT");
  const result = await app.finished();
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Received SIGINT again while stopping: forcing exit/);
  assert.doesNotMatch(result.stdout, /cleanup/);
});

Deno.test("run: Daemon.stop_timeout running out forces the exit with code 1", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": probeConfig({ hang: true }, "Daemon:\n  stop_timeout: 0.3\n"),
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("process start 1");
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Stop timed out after 0.3 s \(Daemon.stop_timeout\): forcing exit/);
});

Deno.test("run: HUP reloads a valid config and keeps the old one when the new is broken", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.yml`;
  await writeFiles(dir.path, { "app.yml": probeConfig({ wake_interval: 0.05, greeting: "one" }) });
  await using app = spawnCli(["run", "-c", file]);
  await app.waitFor("greeting=one");

  await Deno.writeTextFile(file, probeConfig({ wake_interval: 0.1, greeting: "two" }));
  await app.signal("HUP");
  await app.waitFor("reloaded greeting=two wake_interval=0.1");
  await app.waitFor("process end", { stream: "stdout" });
  await app.waitFor(/process end \d+ greeting=two/);

  await Deno.writeTextFile(file, probeConfig({ wake_interval: "soon", greeting: "three" }));
  await app.signal("HUP");
  const error = await app.waitFor("Reload failed, keeping the running config");
  assert.match(
    error,
    new RegExp(
      `Cannot load config "${file}": line 3, column \\d+, key "Application.wake_interval": expected a positive number of seconds, got "soon"`,
    ),
  );
  // Still running with the old config.
  await app.waitFor(/process end \d+ greeting=two/);
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.doesNotMatch(result.stdout, /greeting=three/);
});

Deno.test("run: USR2 calls onSigusr2()", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": probeConfig({ wake_interval: 60 }) });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("process end 1");
  await app.signal("USR2");
  await app.waitFor("sigusr2 hook");
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("run: a throw in process() is logged with its stack and the next tick runs", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": probeConfig({ wake_interval: 0.05, throw_on_tick: 2 }) });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("process end 3");
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.match(
    result.stderr,
    /process\(\) failed: Error: tick 2 exploded\n\s+at .*probe_controller\.ts/,
  );
});

Deno.test("run: a throw in setup() is logged with its stack and exits 1", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": probeConfig({ setup_throws: true }) });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  const result = await app.finished();
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /setup\(\) failed: Error: setup exploded\n\s+at .*probe_controller\.ts/,
  );
  assert.doesNotMatch(result.stdout, /process start/);
});

Deno.test("run: a process() that overruns skips the missed ticks with a warning", async () => {
  await using dir = await tempDir();
  // Tick 1 takes 0.35 s of a 0.1 s interval: the deadlines at 0.1, 0.2 and 0.3 s are missed.
  await writeFiles(dir.path, { "app.yml": probeConfig({ wake_interval: 0.1, process_ms: 350 }) });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  const warning = await app.waitFor(/overran its interval/, { stream: "stderr" });
  // At least the three deadlines inside the 0.35 s; a loaded machine may make it more.
  const skipped = Number(
    /WARNING flagstaff.runtime: Tick 0 overran its interval: skipped (\d+) tick\(s\)/.exec(
      warning,
    )?.[1],
  );
  assert.ok(skipped >= 3, warning);
  await app.waitFor("process start 2");
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});
