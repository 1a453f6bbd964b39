import assert from "node:assert/strict";
import { FlagstaffError } from "../core/errors.ts";
import { parseCron } from "./calendar.ts";
import { everyTimetable } from "./every.ts";
import {
  defaultStateDir,
  isCatchUpDue,
  MAX_STATE_BYTES,
  readScheduleState,
  SCHEDULE_STATE_FILE,
  ScheduleStateFile,
  writeScheduleState,
} from "./state_file.ts";

const at = (iso: string) => Date.parse(iso);

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-state-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Reads and collects the reasons given for ignoring the file. */
async function read(file: string) {
  const reasons: string[] = [];
  const lastRuns = await readScheduleState(file, { onInvalid: (reason) => reasons.push(reason) });
  return { lastRuns: Object.fromEntries(lastRuns), reasons };
}

Deno.test("defaultStateDir() follows systemd, then root, then XDG", () => {
  const cases: [env: Record<string, string>, euid: number, dir: string][] = [
    [{ STATE_DIRECTORY: "/var/lib/unit" }, 0, "/var/lib/unit"],
    [{ STATE_DIRECTORY: "/var/lib/unit", HOME: "/home/ann" }, 1000, "/var/lib/unit"],
    [{ STATE_DIRECTORY: "/var/lib/a:/var/lib/b" }, 0, "/var/lib/a"],
    [{ STATE_DIRECTORY: "relative" }, 0, "/var/lib/demo"], // not systemd's: ignored
    [{ STATE_DIRECTORY: "" }, 0, "/var/lib/demo"],
    [{}, 0, "/var/lib/demo"],
    [{ HOME: "/root", XDG_STATE_HOME: "/root/.state" }, 0, "/var/lib/demo"], // root: system dir
    [{ HOME: "/home/ann", XDG_STATE_HOME: "/srv/state" }, 1000, "/srv/state/demo"],
    [{ HOME: "/home/ann", XDG_STATE_HOME: "state" }, 1000, "/home/ann/.local/state/demo"],
    [{ HOME: "/home/ann" }, 1000, "/home/ann/.local/state/demo"],
    [{ HOME: "/home/ann/" }, 65534, "/home/ann/.local/state/demo"],
  ];
  for (const [env, euid, dir] of cases) {
    assert.equal(defaultStateDir("demo", { env, euid }), dir, JSON.stringify(env));
  }
});

Deno.test("defaultStateDir() says to set Daemon.state_dir when it cannot choose", () => {
  const cases: [app: string, env: Record<string, string>, message: string][] = [
    [
      "demo",
      {},
      "Cannot choose a state folder: not root, and neither XDG_STATE_HOME nor HOME is an " +
      "absolute path; set Daemon.state_dir",
    ],
    [
      "demo",
      { HOME: "relative" },
      "Cannot choose a state folder: not root, and neither XDG_STATE_HOME nor HOME is an " +
      "absolute path; set Daemon.state_dir",
    ],
    ["../etc", { HOME: "/h" }, 'the app name "../etc" is not a file name'],
    ["..", { HOME: "/h" }, 'the app name ".." is not a file name'],
    ["", { HOME: "/h" }, 'the app name "" is not a file name'],
  ];
  for (const [app, env, message] of cases) {
    assert.throws(
      () => defaultStateDir(app, { env, euid: 1000 }),
      (error: unknown) => {
        assert.ok(error instanceof FlagstaffError);
        assert.equal(error.code, "config_invalid");
        assert.ok(error.message.includes(message), error.message);
        return true;
      },
    );
  }
});

Deno.test("isCatchUpDue() is true when a run time passed since the last run", async () => {
  const hourly = everyTimetable({ periodMs: 3_600_000 });
  const nightly = await parseCron("0 3 * * *", { timezone: "Europe/Berlin" });
  const cases: [name: string, lastIso: string | null, nowIso: string, due: boolean][] = [
    ["never ran", null, "2025-06-01T10:20:00Z", true],
    ["ran this hour", "2025-06-01T10:00:02Z", "2025-06-01T10:59:59Z", false],
    ["ran last hour, due time just passed", "2025-06-01T10:00:02Z", "2025-06-01T11:00:00Z", true],
    // Less than one period ago, but the 11:00 run was missed: due.
    ["missed 11:00 by restart", "2025-06-01T10:00:30Z", "2025-06-01T11:00:10Z", true],
    ["down for days", "2025-05-01T10:00:00Z", "2025-06-01T10:20:00Z", true],
    ["ran in the future (clock set back)", "2025-06-02T10:00:00Z", "2025-06-01T10:20:00Z", false],
    ["ran exactly now", "2025-06-01T10:20:00Z", "2025-06-01T10:20:00Z", false],
  ];
  for (const [name, lastIso, nowIso, due] of cases) {
    assert.equal(
      isCatchUpDue(lastIso === null ? null : at(lastIso), hourly, at(nowIso)),
      due,
      name,
    );
  }
  const nightlyCases: [name: string, lastIso: string | null, nowIso: string, due: boolean][] = [
    ["ran at 03:00 CEST, now 09:00", "2025-06-01T01:00:01Z", "2025-06-01T07:00:00Z", false],
    ["ran yesterday, 03:00 today missed", "2025-05-31T01:00:01Z", "2025-06-01T07:00:00Z", true],
    [
      "ran yesterday, today's 03:00 still ahead",
      "2025-05-31T01:00:01Z",
      "2025-06-01T00:30:00Z",
      false,
    ],
    ["never ran", null, "2025-06-01T07:00:00Z", true],
  ];
  for (const [name, lastIso, nowIso, due] of nightlyCases) {
    assert.equal(
      isCatchUpDue(lastIso === null ? null : at(lastIso), nightly, at(nowIso)),
      due,
      name,
    );
  }
  const never = { nextAfter: () => null };
  assert.equal(isCatchUpDue(0, never, 1e12), false, "a timetable that has ended");
});

Deno.test("readScheduleState() takes a missing or bad file as never ran", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/${SCHEDULE_STATE_FILE}`;
  assert.deepEqual(await read(file), { lastRuns: {}, reasons: [] });

  const bad: [content: string | Uint8Array, reason: string][] = [
    ["", "is not valid JSON"],
    ["{ oops", "is not valid JSON"],
    ["[]", "is not a version 1 state file"],
    ['{"version": 2, "lastRuns": {}}', "is not a version 1 state file"],
    ['{"version": 1}', "is not a version 1 state file"],
    [new Uint8Array([0x7b, 0xff, 0x7d]), "is not valid UTF-8"],
    ["x".repeat(MAX_STATE_BYTES + 1), `is larger than ${MAX_STATE_BYTES} bytes`],
  ];
  for (const [content, reason] of bad) {
    if (typeof content === "string") await Deno.writeTextFile(file, content);
    else await Deno.writeFile(file, content);
    assert.deepEqual(await read(file), {
      lastRuns: {},
      reasons: [`Schedule state "${file}" ${reason}; taken as never ran`],
    });
  }

  await Deno.writeTextFile(
    file,
    JSON.stringify({
      version: 1,
      lastRuns: { good: "2025-06-01T03:00:00.000Z", bad: "yesterday", number: 5 },
    }),
  );
  assert.deepEqual(await read(file), {
    lastRuns: { good: at("2025-06-01T03:00:00Z") },
    reasons: [
      `Schedule state "${file}" has no valid time for "bad"; taken as never ran`,
      `Schedule state "${file}" has no valid time for "number"; taken as never ran`,
    ],
  });
});

Deno.test("readScheduleState() neither blocks on a FIFO nor follows a symlink", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/${SCHEDULE_STATE_FILE}`;
  const mkfifo = await new Deno.Command("mkfifo", { args: [file] }).output();
  assert.ok(mkfifo.success);
  assert.deepEqual(await read(file), {
    lastRuns: {},
    reasons: [`Schedule state "${file}" is not a regular file; taken as never ran`],
  });
  await Deno.remove(file);

  const elsewhere = `${dir.path}/elsewhere.json`;
  await writeScheduleState(elsewhere, new Map([["a", 0]]));
  await Deno.symlink(elsewhere, file);
  assert.deepEqual(await read(file), {
    lastRuns: {},
    reasons: [`Schedule state "${file}" is not a regular file; taken as never ran`],
  });
  await Deno.remove(file);
  await Deno.mkdir(file);
  assert.equal((await read(file)).reasons.length, 1);
});

Deno.test("writeScheduleState() replaces the file atomically and leaves no temp file", async () => {
  await using dir = await tempDir();
  const folder = `${dir.path}/app`; // created by the write
  const file = `${folder}/${SCHEDULE_STATE_FILE}`;
  await writeScheduleState(file, new Map([["b", 2000], ["a", 1000]]));
  assert.equal((await Deno.stat(folder)).mode! & 0o777, 0o755 & ~Deno.umask());
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o644 & ~Deno.umask());
  assert.equal(
    await Deno.readTextFile(file),
    '{\n  "version": 1,\n  "lastRuns": {\n    "a": "1970-01-01T00:00:01.000Z",\n' +
      '    "b": "1970-01-01T00:00:02.000Z"\n  }\n}\n',
  );

  // A symlink planted at the path is replaced, and its target left alone.
  const target = `${dir.path}/target`;
  await Deno.writeTextFile(target, "precious");
  await Deno.remove(file);
  await Deno.symlink(target, file);
  await writeScheduleState(file, new Map([["a", 3000]]));
  assert.equal(await Deno.readTextFile(target), "precious");
  assert.ok((await Deno.lstat(file)).isFile);
  assert.deepEqual(Object.fromEntries(await readScheduleState(file)), { a: 3000 });

  const names = [];
  for await (const entry of Deno.readDir(folder)) names.push(entry.name);
  assert.deepEqual(names, [SCHEDULE_STATE_FILE]);
});

Deno.test("writeScheduleState() names the file when it fails, and keeps the old one", async () => {
  await using dir = await tempDir();
  const blocker = `${dir.path}/not-a-folder`;
  await Deno.writeTextFile(blocker, "");
  await assert.rejects(
    writeScheduleState(`${blocker}/${SCHEDULE_STATE_FILE}`, new Map([["a", 0]])),
    (error: Error) => {
      assert.match(
        error.message,
        /^Cannot write schedule state ".*not-a-folder\/schedules.json": /,
      );
      return true;
    },
  );

  const file = `${dir.path}/${SCHEDULE_STATE_FILE}`;
  await writeScheduleState(file, new Map([["a", 0]]));
  const huge = new Map(Array.from({ length: 3000 }, (_, i) => [`schedule-${i}`, i] as const));
  await assert.rejects(
    writeScheduleState(file, huge),
    new RegExp(`: it would be larger than ${MAX_STATE_BYTES} bytes$`),
  );
  assert.deepEqual(Object.fromEntries(await readScheduleState(file)), { a: 0 });
  const names = [];
  for await (const entry of Deno.readDir(dir.path)) names.push(entry.name);
  assert.deepEqual(names.sort(), ["not-a-folder", SCHEDULE_STATE_FILE]);

  // The rename fails (a folder holds the path): the temp file is removed.
  const taken = `${dir.path}/taken`;
  await Deno.mkdir(`${taken}/${SCHEDULE_STATE_FILE}/child`, { recursive: true });
  await assert.rejects(
    writeScheduleState(`${taken}/${SCHEDULE_STATE_FILE}`, new Map([["a", 0]])),
    /^Error: Cannot write schedule state ".*taken\/schedules.json": /,
  );
  const left = [];
  for await (const entry of Deno.readDir(taken)) left.push(entry.name);
  assert.deepEqual(left, [SCHEDULE_STATE_FILE]);
});

Deno.test("ScheduleStateFile.record() keeps every entry when schedules fire together", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/${SCHEDULE_STATE_FILE}`;
  await writeScheduleState(file, new Map([["old", 1], ["kept", 2]]));
  const state = await ScheduleStateFile.open(file, { keys: ["kept", "a", "b", "c"] });
  assert.equal(state.lastRunMs("old"), null); // no longer configured
  assert.equal(state.lastRunMs("kept"), 2);
  await Promise.all([state.record("a", 10), state.record("b", 20), state.record("c", 30)]);
  assert.deepEqual(Object.fromEntries(await readScheduleState(file)), {
    kept: 2,
    a: 10,
    b: 20,
    c: 30,
  });
});
