/**
 * Schedules, end to end: `--every` and `--cron` on the command line and the
 * `Schedules` section run their actions at the right times through the one
 * queue (no overlap: a run that comes due while the last one runs is
 * coalesced, and said), jitter stays within its bound, `catch_up` runs once
 * after a restart past a due time and not otherwise, TERM cancels what is
 * pending, and a reload with a bad `Schedules` keeps the old ones firing.
 * Real processes, real signals, synchronised on output lines; the
 * schedules' state goes to a temp folder (`STATE_DIRECTORY`, `state_dir`).
 */
import assert from "node:assert/strict";
import { monotonicUsec } from "../lib/os/notify.ts";
import { listenNotifySocket } from "../lib/os/notify_listener.ts";
import { type CliProcess, fileMatching, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const ACTIONS = new URL("./fixtures/actions", import.meta.url).pathname;
// Open libc now: the test sanitizer counts a library first opened inside a test as a leak.
monotonicUsec();

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** The start times (epoch ms) the `stamp` fixture printed for `trigger`, in order. */
function starts(app: CliProcess, trigger: string): number[] {
  const pattern = new RegExp(`^start ${escape(trigger)} \\d+ ([\\d.]+)$`, "gm");
  return [...app.stdout.matchAll(pattern)].map((match) => Number(match[1]));
}

/** Waits for run `n` of `trigger`'s stamp. */
function run(app: CliProcess, trigger: string, n: number, timeoutMs?: number): Promise<string> {
  return app.waitFor(new RegExp(`^start ${escape(trigger)} ${n} `, "m"), {
    stream: "stdout",
    timeoutMs,
  });
}

Deno.test("--every 1s runs N times in N seconds, at whole seconds, and TERM exits 0", async () => {
  await using state = await tempDir();
  await using app = spawnCli(["--actions-dir", ACTIONS, "--every", "1s", "stamp", "0"], {
    env: { STATE_DIRECTORY: state.path },
  });
  await run(app, "schedule:every 1s", 7);
  const times = starts(app, "schedule:every 1s");
  // Runs 2 to 7 (the first may be any time after start): 5 periods in 5 s, give or take one.
  const [first, last] = [times[1], times[6]];
  assert.ok(last - first >= 4000 && last - first <= 6000, `5 periods took ${last - first} ms`);
  const within = times.filter((t) => t >= first && t < first + 5000).length;
  assert.ok(within >= 4 && within <= 6, `${within} runs in 5 s`);
  // Deadlines are whole seconds since the epoch: each run is in a second of its own.
  const seconds = times.slice(1, 7).map((t) => Math.floor(t / 1000));
  assert.deepEqual(seconds, seconds.map((_, i) => seconds[0] + i), `runs at ${times}`);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("repeats of --every with the same duration are one schedule, its actions in order", async () => {
  await using state = await tempDir();
  await using app = spawnCli(["--every", "1s", "print", "a", "--every", "1s", "print", "b"], {
    env: { STATE_DIRECTORY: state.path },
  });
  await app.waitFor("a\nb\na\nb\n", { stream: "stdout" });
  assert.match(app.stderr, /Running 1 schedule\(s\); next run: every 1s at /);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("a 6-field cron fires at even seconds, a 5-field one at the minute", async () => {
  await using state = await tempDir();
  const env = { STATE_DIRECTORY: state.path };
  // A 5-field cron fires once a minute: started first, collected last.
  await using minutely = spawnCli(["--actions-dir", ACTIONS, "--cron", "* * * * *", "stamp", "0"], {
    env,
  });
  await using even = spawnCli(
    ["--actions-dir", ACTIONS, "--cron", "*/2 * * * * *", "stamp", "0"],
    { env },
  );
  await run(even, "schedule:*/2 * * * * *", 3);
  const evenTimes = starts(even, "schedule:*/2 * * * * *");
  assert.equal(evenTimes.length >= 3, true);
  for (const t of evenTimes) {
    assert.equal(Math.floor(t / 1000) % 2, 0, `${new Date(t).toISOString()} is an even second`);
  }
  assert.ok(evenTimes[2] - evenTimes[1] >= 1500 && evenTimes[2] - evenTimes[1] <= 2500);
  await even.signal("TERM");
  assert.equal((await even.finished()).code, 0);

  await run(minutely, "schedule:* * * * *", 1, 90_000);
  const [t] = starts(minutely, "schedule:* * * * *");
  assert.equal(
    Math.floor(t / 1000) % 60,
    0,
    `${new Date(t).toISOString()} is the start of a minute`,
  );
  await minutely.signal("TERM");
  assert.equal((await minutely.finished()).code, 0);
});

Deno.test("a slow action is never overlapped: the run that comes due meanwhile is coalesced", async () => {
  await using state = await tempDir();
  await using app = spawnCli(["--actions-dir", ACTIONS, "--every", "1s", "stamp", "2200"], {
    env: { STATE_DIRECTORY: state.path },
  });
  await app.waitFor(/^end schedule:every 1s 2$/m, { stream: "stdout" });
  await app.waitFor(
    "Schedule every 1s came due while its last run was still running: coalesced into it",
    { stream: "stderr" },
  );
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  // Each start is followed by its own end before the next start.
  const events = [...result.stdout.matchAll(/^(start|end) schedule:every 1s (\d+)/gm)].map((m) =>
    `${m[1]} ${m[2]}`
  );
  events.forEach((event, i) => {
    const n = Math.floor(i / 2) + 1;
    assert.equal(event, `${i % 2 === 0 ? "start" : "end"} ${n}`, events.join(", "));
  });
  // About one run per 2.2 s, not one per second.
  const times = starts(app, "schedule:every 1s");
  assert.ok(times.length >= 2 && times[1] - times[0] >= 2200, `runs at ${times}`);
});

Deno.test("jitter delays each run by up to its bound, short of the next run", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": "Daemon:\n  state_dir: state\nSchedules:\n" +
      "  - every: 2s\n    jitter: 1s\n    name: jittered\n    run: [{stamp: 0}]\n",
  });
  await using app = spawnCli(["run", "-c", "app.yml", "--actions-dir", ACTIONS], {
    cwd: dir.path,
  });
  await run(app, "schedule:jittered", 5, 60_000);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
  const offsets = starts(app, "schedule:jittered").map((t) => t % 2000);
  // Each run in [due, due + 1 s] (a timer may be a little late on a busy machine).
  for (const offset of offsets) assert.ok(offset <= 1250, `offsets ${offsets}`);
  // Drawn afresh each time: not all on the due time.
  assert.ok(Math.max(...offsets) > 50, `offsets ${offsets}`);
});

/** A config whose schedules record their runs: `hourly` catches up, `plain` does not. */
function catchUpConfig(): string {
  return [
    "Daemon:",
    "  state_dir: state",
    "Signals:",
    "  usr1: [{print: marker}]",
    "Schedules:",
    "  - every: 1h",
    "    name: hourly",
    "    catch_up: true",
    "    run: [{print: caught up}]",
    "  - every: 1h",
    "    name: plain",
    "    run: [{print: plain ran}]",
    "",
  ].join("\n");
}

/**
 * Starts the catch-up config, lets USR1 mark the end of start-up's queue,
 * stops; returns what the actions' runs printed (without `print`'s
 * `init`/`cleanup` lines).
 */
async function startAndStop(dir: string, log?: RegExp): Promise<string> {
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir });
  await app.waitFor("Running 2 schedule(s)", { stream: "stderr" });
  // A catch-up is queued when the schedules start, before this USR1: its line comes first.
  await app.signal("USR1");
  await app.waitFor("marker\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  if (log) assert.match(result.stderr, log);
  return result.stdout.replace(/^(init|cleanup)\n/gm, "");
}

Deno.test("catch_up runs once after a restart past a due time, and not otherwise", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": catchUpConfig() });
  // First start: no state, so it never ran: it catches up once; `plain` waits for its hour.
  assert.equal(
    await startAndStop(dir.path, /Schedule hourly: catching up \(no run of it is recorded\)\n/),
    "caught up\nmarker\n",
  );
  const file = `${dir.path}/state/schedules.json`;
  const written = JSON.parse(await Deno.readTextFile(file));
  assert.deepEqual(Object.keys(written.lastRuns), ["hourly"]);
  assert.equal((await Deno.stat(`${dir.path}/state`)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);

  // Restarted within the hour: nothing was missed.
  assert.equal(await startAndStop(dir.path), "marker\n");

  // Restarted after a due time passed (its last run two hours ago): once, and `plain` not at all.
  const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString();
  written.lastRuns = { hourly: twoHoursAgo, plain: twoHoursAgo };
  await Deno.writeTextFile(file, JSON.stringify(written));
  assert.equal(
    await startAndStop(
      dir.path,
      /Schedule hourly: catching up \(a run was due at \S+; the last ran at \S+\)\n/,
    ),
    "caught up\nmarker\n",
  );

  // A corrupt state file is "never ran": once more, with a warning naming it.
  await Deno.writeTextFile(file, "{ not json");
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor(/Schedule state ".*schedules\.json" is not valid JSON; taken as never ran/);
  await app.waitFor("caught up\n", { stream: "stdout" });
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("TERM cancels pending ticks: nothing runs after it, exit 0", async () => {
  await using state = await tempDir();
  await using app = spawnCli(["--every", "1s", "log", "info", "tick"], {
    env: { STATE_DIRECTORY: state.path },
  });
  await app.waitFor(/INFO flagstaff.action.log: tick\n[^]*INFO flagstaff.action.log: tick\n/, {
    stream: "stderr",
  });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  const afterStop = result.stderr.slice(result.stderr.indexOf("Received SIGTERM: stopping"));
  assert.match(afterStop, /^Received SIGTERM: stopping\n.*Stopped flagstaff\n$/);
  assert.doesNotMatch(afterStop, /tick/);
});

Deno.test("a reload with a bad Schedules keeps the old schedules firing; a good one replaces them", async () => {
  await using dir = await tempDir();
  const config = (every: string, message: string) =>
    `Daemon:\n  state_dir: state\nSchedules:\n  - every: ${every}\n    name: ticker\n` +
    `    run: [{log: [info, ${message}]}]\n`;
  await writeFiles(dir.path, { "app.yml": config("1s", "old tick") });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("INFO flagstaff.action.log: old tick", { stream: "stderr" });

  await Deno.writeTextFile(`${dir.path}/app.yml`, config("0", "new tick"));
  await app.signal("HUP");
  await app.waitFor(
    /Reload failed, keeping the running config: .*app\.yml": line 4, .*Schedules\.0\.every/,
    {
      stream: "stderr",
    },
  );
  await app.waitFor("INFO flagstaff.action.log: old tick", { stream: "stderr" });
  await app.waitFor("INFO flagstaff.action.log: old tick", { stream: "stderr" });

  await Deno.writeTextFile(`${dir.path}/app.yml`, config("1s", "new tick"));
  await app.signal("HUP");
  await app.waitFor("Config reloaded from", { stream: "stderr" });
  await app.waitFor("INFO flagstaff.action.log: new tick", { stream: "stderr" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.doesNotMatch(result.stderr.slice(result.stderr.indexOf("new tick")), /old tick/);
});

Deno.test("signal: runs that signal's actions as if it had arrived", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": "Daemon:\n  state_dir: state\nSignals:\n  usr1: [{print: usr1 actions}]\n" +
      "Schedules:\n  - every: 1s\n    signal: usr1\n",
  });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("usr1 actions\nusr1 actions\n", { stream: "stdout" });
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("sd_notify STATUS names the next run, and again after each run", async () => {
  await using state = await tempDir();
  await using listener = listenNotifySocket(`${state.path}/notify.sock`);
  await using app = spawnCli(["--every", "1s", "print", "x"], {
    env: { STATE_DIRECTORY: state.path, NOTIFY_SOCKET: listener.address, TZ: "UTC" },
  });
  const ready = await listener.receive({ timeoutMs: 10_000 });
  assert.match(
    ready,
    /^READY=1\nSTATUS=Waiting for signals \(1 action\(s\)\); next run: every 1s at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/,
  );
  const first = /at (\S+)$/.exec(ready)![1];
  const after = await listener.receive({ timeoutMs: 10_000 });
  assert.match(after, /^STATUS=Waiting for signals \(1 action\(s\)\); next run: every 1s at /);
  assert.ok(/at (\S+)$/.exec(after)![1] > first, `${after} is after ${first}`);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("a schedule's actions time out and close as a signal's do", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": [
      "Daemon:",
      "  state_dir: state",
      "Schedules:",
      "  - every: 1s",
      "    name: slow",
      "    run:",
      "      - exec: [sleep, '30']",
      "        timeout: 0.2",
      "      - print_once: first run only",
      "      - print: every run",
      "",
    ].join("\n"),
  });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor('Action "exec" (schedule "slow" #1) timed out after 0.2 s', {
    stream: "stderr",
  });
  await app.waitFor('Action "print_once" (schedule "slow" #2) closed: Only print once', {
    stream: "stderr",
  });
  await app.waitFor("every run\n", { stream: "stdout" });
  await app.waitFor("every run\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.equal(result.stdout.match(/first run only/g)?.length, 1);
});

Deno.test("a reload keeps an unchanged schedule's plan, plans a changed one again, adds and removes", async () => {
  await using dir = await tempDir();
  const config = (changedJitter: string, extra: string) =>
    [
      "Daemon:",
      "  state_dir: state",
      "  pidfile: app.pid # the state file is kept for status",
      "Schedules:",
      "  - {name: kept, every: 1h, jitter: 50m, run: [{print: kept}]}",
      `  - {name: changed, every: 1h, jitter: ${changedJitter}, run: [{print: changed}]}`,
      extra,
      "",
    ].join("\n");
  await writeFiles(dir.path, {
    "app.yml": config("50m", "  - {name: removed, every: 1h, run: [{print: removed}]}"),
  });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("Running 3 schedule(s)");
  const file = `${dir.path}/state/schedules.json`;
  const nextRuns = async (names: string) => {
    const text = await fileMatching(file, new RegExp(`"nextRuns": \\[\\s*${names}`));
    return Object.fromEntries(
      (JSON.parse(text).nextRuns as { name: string; at: string }[]).map((n) => [n.name, n.at]),
    );
  };
  const before = await nextRuns('\\{\\s*"name": "kept"[^]*"removed"');
  await Deno.writeTextFile(
    `${dir.path}/app.yml`,
    config("49m", "  - {name: added, every: 1h, run: [{print: added}]}"),
  );
  await app.signal("HUP");
  await app.waitFor("Config reloaded from");
  assert.match(app.stderr, /Schedule changed changed: planned again/);
  assert.match(app.stderr, /Schedule removed removed/);
  assert.match(app.stderr, /Schedule added started: next run at /);
  const after = await nextRuns('\\{\\s*"name": "kept"[^]*"added"');
  assert.deepEqual(Object.keys(after), ["kept", "changed", "added"]);
  assert.equal(after.kept, before.kept, "the same jittered time: its plan was kept");
  assert.notEqual(after.changed, before.changed, "a fresh jitter: planned again");
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("catch_up with a default state folder that is another program's: the warning says why and what to set", async () => {
  // As root the default is /var/lib/<config stem>: a folder holding another program's files is refused.
  if (Deno.uid() !== 0) return;
  const name = `fsx-foreign-${crypto.randomUUID().slice(0, 8)}`;
  const foreign = `/var/lib/${name}`;
  await Deno.mkdir(foreign);
  try {
    await Deno.writeTextFile(`${foreign}/data`, "not flagstaff's\n");
    await using dir = await tempDir();
    await writeFiles(dir.path, {
      [`${name}.yml`]: [
        "Schedules:",
        "  - every: 1h",
        "    catch_up: true",
        "    signal: usr1",
        "Signals:",
        "  usr1: [{print: caught up}]",
      ].join("\n"),
    });
    await using app = spawnCli(["run", "-c", `${dir.path}/${name}.yml`]);
    const line = await app.waitFor(/WARNING .*Cannot keep the schedules' state.*\n/);
    assert.match(
      line,
      new RegExp(`the default "${escape(foreign)}" holds files that are not flagstaff's`),
    );
    assert.match(line, /such as "data"/);
    assert.match(line, /set Daemon\.state_dir/);
    assert.match(line, /runs at every start/);
    await app.waitFor("caught up\n", { stream: "stdout" });
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
    // Nothing of flagstaff's was written into the other program's folder.
    assert.deepEqual([...Deno.readDirSync(foreign)].map((entry) => entry.name), ["data"]);
  } finally {
    await Deno.remove(foreign, { recursive: true });
  }
});
