/**
 * Schedules as a user configures and inspects them: every bad `Schedules`
 * entry is exit 2 naming file, line and key (and a bad `--every`/`--cron`
 * names the argument); `check` prints each schedule with its next three run
 * times; `status` shows each schedule's next run from the running
 * instance's state file, and only the running instance's; a planted link or
 * an unwritable state folder never sends a write elsewhere and never stops
 * the schedules.
 */
import assert from "node:assert/strict";
import { runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const IS_ROOT = Deno.uid() === 0;

/** A `Schedules` section of one entry, given its lines (each indented under `- `). */
function oneSchedule(...lines: string[]): string {
  return `Schedules:\n  - ${lines.join("\n    ")}\n`;
}

Deno.test("every bad Schedules entry is exit 2 naming file, line and key", async () => {
  await using dir = await tempDir();
  const cases: [name: string, config: string, line: number, key: string, message: RegExp][] = [
    [
      "bad cron",
      oneSchedule('cron: "61 * * * *"', "run: [print]"),
      2,
      "Schedules.0.cron",
      /expected a cron expression .*, got "61 \* \* \* \*": invalid value for minute: 61/,
    ],
    [
      "a 4-field cron",
      oneSchedule('cron: "* * * *"', "run: [print]"),
      2,
      "Schedules.0.cron",
      /got "\* \* \* \*": it has 4 fields/,
    ],
    [
      "unknown timezone",
      oneSchedule('cron: "@daily"', "timezone: Mars/Olympus_Mons", "run: [print]"),
      3,
      "Schedules.0.timezone",
      /expected an IANA time zone name .*, got "Mars\/Olympus_Mons": unknown time zone/,
    ],
    [
      "every: 0",
      oneSchedule("run: [print]", "every: 0"),
      3,
      "Schedules.0.every",
      /expected a duration .*, got 0: a duration must be positive/,
    ],
    [
      "every: -5s",
      oneSchedule("every: -5s", "run: [print]"),
      2,
      "Schedules.0.every",
      /got "-5s": a duration must be positive/,
    ],
    [
      "both every and cron",
      oneSchedule("every: 5m", 'cron: "@daily"', "run: [print]"),
      3,
      "Schedules.0.cron",
      /give either "every" or "cron", not both/,
    ],
    [
      "neither every nor cron",
      oneSchedule("run: [print]"),
      2,
      "Schedules.0",
      /expected "every" or "cron" \(when it runs\)/,
    ],
    [
      "both run and signal",
      oneSchedule("every: 5m", "run: [print]", "signal: usr1"),
      4,
      "Schedules.0.signal",
      /give either "run" or "signal", not both/,
    ],
    [
      "neither run nor signal",
      oneSchedule("every: 5m", "jitter: 1m"),
      2,
      "Schedules.0",
      /expected "run" or "signal" \(what it runs\)/,
    ],
    [
      "an unknown signal",
      oneSchedule("every: 5m", "signal: term"),
      3,
      "Schedules.0.signal",
      /expected one of hup, usr1, usr2, got "term"/,
    ],
    [
      "a name used twice",
      "Schedules:\n  - {every: 5m, run: [{print: a}]}\n  - {every: 300, run: [{print: b}]}\n",
      3,
      "Schedules.1",
      /schedule name "every 5m" is used twice: also by the schedule at .*app\.yml line 2/,
    ],
  ];
  for (const [name, config, line, key, message] of cases) {
    await writeFiles(dir.path, { "app.yml": config });
    for (const command of ["check", "run"]) {
      const result = await runCli([command, "-c", "app.yml"], { cwd: dir.path });
      assert.equal(result.code, 2, `${name} (${command}): ${result.stderr}`);
      assert.equal(result.stdout, "", name);
      const [first, ...rest] = result.stderr.split("\n");
      assert.match(
        first,
        new RegExp(
          `^error: Cannot load config ".*app\\.yml": line ${line}, column \\d+, key "${
            key.replaceAll(".", "\\.")
          }": `,
        ),
        `${name} (${command})`,
      );
      assert.match(first, message, `${name} (${command})`);
      assert.deepEqual(rest, [""], `${name}: one problem, one line`);
    }
  }
});

Deno.test("a bad --every or --cron is a usage error naming the argument (exit 2)", async () => {
  const cases: [args: string[], message: string][] = [
    [
      ["--every", "0", "print", "x"],
      'error: Invalid --every "0": expected a duration such as 90 (seconds), 1.5, 30s, 5m, 1h, ' +
      '1d or 1h30m (units d, h, m, s, ms), got "0": a duration must be positive ' +
      '(see "flagstaff --help")',
    ],
    [
      ["--every", "5ms", "print", "x"],
      'error: Invalid --every "5ms": expected a duration such as 90 (seconds), 1.5, 30s, 5m, ' +
      '1h, 1d or 1h30m (units d, h, m, s, ms), got "5ms": it is shorter than 10ms, the shortest ' +
      'period (see "flagstaff --help")',
    ],
    [
      ["check", "--every", "5x", "print", "x"],
      'error: Invalid --every "5x": expected a duration such as 90 (seconds), 1.5, 30s, 5m, ' +
      '1h, 1d or 1h30m (units d, h, m, s, ms), got "5x": unknown unit "x" ' +
      '(see "flagstaff --help")',
    ],
    [
      ["--cron", "* * *", "print", "x"],
      'error: Invalid --cron "* * *": expected a cron expression of 5 fields (minute hour ' +
      "day-of-month month day-of-week), 6 with seconds first, or @hourly, @daily, @weekly, " +
      '@monthly, got "* * *": it has 3 fields (see "flagstaff --help")',
    ],
    [
      ["--every", "5m"],
      'error: --every "5m" needs an action name: --every 5m ACTION [WORDS...] ' +
      '(see "flagstaff run --help")',
    ],
    [
      ["--cron", "--usr1", "print", "x"],
      "error: --cron needs a cron expression and an action: --cron 'EXPRESSION' ACTION " +
      '[WORDS...], got "--usr1" (see "flagstaff run --help")',
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 2, args.join(" "));
    assert.equal(result.stderr, `${message}\n`, args.join(" "));
  }
});

Deno.test("check prints each schedule: timetable, zone, jitter, what it runs, next three runs", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": [
      "Schedules:",
      '  - cron: "0 3 * * *"',
      "    timezone: Europe/Berlin",
      "    jitter: 5m",
      "    catch_up: true",
      "    name: backup",
      "    run: [{exec: [echo, backup]}]",
      "  - every: 1h",
      "    signal: usr2",
      "",
    ].join("\n"),
  });
  const before = Date.now();
  const result = await runCli(["check", "-c", "app.yml", "--every", "1s", "print", "a"], {
    cwd: dir.path,
    env: { TZ: "UTC" },
  });
  const after = Date.now();
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split("\n");
  const at = (prefix: string) => lines.indexOf(lines.find((line) => line.startsWith(prefix))!);

  const backup = at('schedule "backup"');
  assert.equal(
    lines[backup],
    'schedule "backup": cron "0 3 * * *" (Europe/Berlin), jitter 5m, catch_up; ' +
      'runs exec "echo" "backup"',
  );
  const nights = /^ {2}next runs \(before jitter\): (\S+), (\S+), (\S+)$/.exec(lines[backup + 1]);
  assert.ok(nights, lines[backup + 1]);
  for (const shown of nights.slice(1)) {
    assert.match(shown, /^\d{4}-\d\d-\d\dT03:00:00\+0[12]:00$/);
    const ms = Date.parse(shown);
    assert.ok(ms > before && ms <= after + 3 * 86_400_000, shown);
  }
  assert.deepEqual(
    [1, 2].map((i) => Date.parse(nights[i + 1]) - Date.parse(nights[i])).map((ms) =>
      Math.round(ms / 3_600_000)
    ).every((hours) => hours >= 23 && hours <= 25),
    true,
    "one a day",
  );

  const hourly = at('schedule "every 1h"');
  assert.equal(
    lines[hourly],
    'schedule "every 1h": every 1h (times in UTC); runs usr2\'s unit, as if SIGUSR2 had arrived',
  );
  const hours = /^ {2}next runs: (\S+), (\S+), (\S+)$/.exec(lines[hourly + 1])!;
  const expected = (from: number) =>
    [1, 2, 3].map((k) => (Math.floor(from / 3_600_000) + k) * 3_600_000)
      .map((ms) => new Date(ms).toISOString().replace(".000Z", "+00:00"));
  assert.ok(
    [expected(before), expected(after)].some((e) => e.join() === hours.slice(1).join()),
    lines[hourly + 1],
  );

  assert.equal(
    lines[at('schedule "every 1s"')],
    'schedule "every 1s": every 1s (times in UTC); runs print "a"',
  );
  assert.equal(lines.at(-2), "config OK");
});

Deno.test("check reports a schedule's unknown action with the others' problems", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": "Schedules:\n  - every: 5m\n    run: [nosuch]\n",
  });
  const result = await runCli(["check", "-c", "app.yml"], { cwd: dir.path });
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /^error: Unknown action "nosuch" given by .*app\.yml line 3 \(Schedules\.0\.run\[0\]\); run "flagstaff list"/,
  );
});

Deno.test("status shows each schedule's next run, only from the running instance's state", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": [
      "Daemon:",
      "  pidfile: app.pid",
      "  state_dir: state",
      "Schedules:",
      '  - cron: "30 4 * * *"',
      "    timezone: America/New_York",
      "    name: report",
      "    run: [{print: report}]",
      "  - every: 1h",
      "    run: [{print: hourly}]",
      "",
    ].join("\n"),
  });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("Running 2 schedule(s)");
  const file = `${dir.path}/state/schedules.json`;
  await app.waitFor(/./, { stream: "stdout" }); // print's init lines: the actions are set up
  let status = "";
  for (let tries = 0; !/schedule "every 1h"/.test(status); tries++) {
    assert.ok(tries < 100, status);
    const result = await runCli(["status", "-c", "app.yml"], { cwd: dir.path });
    assert.equal(result.code, 0, result.stderr);
    status = result.stdout; // the state file is written just after start-up
  }
  const lines = status.split("\n");
  assert.match(lines[0], new RegExp(`^running as pid ${app.pid} \\(pidfile .*app\\.pid\\)`));
  assert.match(
    lines[1],
    /^schedule "report": next run \d{4}-\d\d-\d\dT04:30:00-0[45]:00 \(cron "30 4 \* \* \*" \(America\/New_York\)\)$/,
  );
  assert.match(
    lines[2],
    /^schedule "every 1h": next run \d{4}-\d\d-\d\dT\d\d:00:00[+-]\d\d:\d\d \(every 1h\)$/,
  );

  // A state file another process wrote (another pid) is not this instance's: nothing shown.
  const state = JSON.parse(await Deno.readTextFile(file));
  await Deno.writeTextFile(file, JSON.stringify({ ...state, pid: app.pid + 1 }));
  const other = await runCli(["status", "-c", "app.yml"], { cwd: dir.path });
  assert.equal(other.code, 0);
  assert.match(other.stdout, /^running as pid \d+ \(pidfile .*\)(, up \d+s)?\n$/);

  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
  const stopped = await runCli(["status", "-c", "app.yml"], { cwd: dir.path });
  assert.equal(stopped.code, 3);
  assert.doesNotMatch(stopped.stdout, /schedule/);
});

Deno.test("a link planted at the state file is replaced, never written through", {
  ignore: !IS_ROOT,
}, async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/state`, { mode: 0o700 });
  await Deno.chmod(`${dir.path}/state`, 0o700);
  const victim = `${dir.path}/victim`;
  await Deno.writeTextFile(victim, "precious\n");
  await Deno.symlink(victim, `${dir.path}/state/schedules.json`);
  await writeFiles(dir.path, {
    "app.yml": "Daemon:\n  state_dir: state\nSchedules:\n" +
      "  - {every: 1s, catch_up: true, run: [{print: ran}]}\n",
  });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor(/Schedule state ".*schedules\.json" is not a regular file.*taken as never ran/);
  await app.waitFor("ran\nran\n", { stream: "stdout" });
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
  assert.equal(await Deno.readTextFile(victim), "precious\n");
  const written = await Deno.lstat(`${dir.path}/state/schedules.json`);
  assert.ok(written.isFile && !written.isSymlink);
  assert.equal(written.mode! & 0o777, 0o600);
});

Deno.test("a state folder that cannot be written is a warning, once; the schedule runs on time", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "blocker": "a file, not a folder\n",
    "app.yml": "Daemon:\n  state_dir: blocker/state\nSchedules:\n" +
      "  - {every: 1s, catch_up: true, run: [{print: ran}]}\n",
  });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("ran\nran\nran\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  const warnings = result.stderr.split("\n").filter((line) => / WARN(ING)? /.test(line));
  assert.equal(warnings.length, 1, result.stderr);
  assert.match(
    warnings[0],
    /Cannot keep the schedules' state in ".*blocker\/state": cannot create it: .*catch_up cannot tell when a schedule last ran/,
  );
});

Deno.test("as root with Daemon.user, the state folder is made by that user", {
  ignore: !IS_ROOT,
}, async () => {
  await using dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  await Deno.mkdir(`${dir.path}/var`, { mode: 0o755 });
  await Deno.chown(`${dir.path}/var`, 65534, 65534);
  await writeFiles(dir.path, {
    "app.yml": `Daemon:\n  user: nobody\n  state_dir: ${dir.path}/var/state\nSchedules:\n` +
      "  - {every: 1s, catch_up: true, run: [{print: ran}]}\n",
  });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("ran\nran\n", { stream: "stdout" });
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
  const folder = await Deno.stat(`${dir.path}/var/state`);
  assert.deepEqual([folder.uid, folder.mode! & 0o777], [65534, 0o700]);
  const file = await Deno.stat(`${dir.path}/var/state/schedules.json`);
  assert.deepEqual([file.uid, file.mode! & 0o777], [65534, 0o600]);
});

Deno.test("the state file is written only when something reads it: catch_up or a pidfile (status)", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "plain.yml": "Daemon:\n  state_dir: plain\nSchedules:\n  - {every: 1s, run: [{print: ran}]}\n",
    "pid.yml": "Daemon:\n  state_dir: pid\n  pidfile: app.pid\n" +
      "Schedules:\n  - {every: 1s, run: [{print: ran}]}\n",
  });
  for (const [config, kept] of [["plain.yml", false], ["pid.yml", true]] as const) {
    await using app = spawnCli(["run", "-c", config], { cwd: dir.path });
    await app.waitFor("ran\nran\n", { stream: "stdout" });
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
    const stem = config.slice(0, -".yml".length);
    const written = await Deno.lstat(`${dir.path}/${stem}/schedules.json`).then(
      () => true,
      () => false,
    );
    assert.equal(written, kept, `${config}: state file written`);
  }
});
