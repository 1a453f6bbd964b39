import assert from "node:assert/strict";
import { libc } from "../os/_libc.ts";
import { readScheduleState, SCHEDULE_STATE_FILE, ScheduleStateFile } from "./state_file.ts";
import { formatScheduleState, MAX_STATE_BYTES } from "./state_format.ts";

libc("run the tests"); // opened once for the whole file (see libc())

const at = (iso: string) => Date.parse(iso);

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-state-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Reads and collects the reasons given for ignoring the file. */
function read(file: string) {
  const reasons: string[] = [];
  const state = readScheduleState(file, { onInvalid: (reason) => reasons.push(reason) });
  return { lastRuns: Object.fromEntries(state.lastRuns), reasons };
}

async function write(file: string, lastRuns: Record<string, number>): Promise<void> {
  const bytes = formatScheduleState({
    pid: 1,
    lastRuns: new Map(Object.entries(lastRuns)),
    nextRuns: [],
  });
  await Deno.writeFile(file, bytes);
}

Deno.test("readScheduleState() takes a missing or bad file as never ran", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/${SCHEDULE_STATE_FILE}`;
  assert.deepEqual(read(file), { lastRuns: {}, reasons: [] });

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
    assert.deepEqual(read(file), {
      lastRuns: {},
      reasons: [`Schedule state "${file}" ${reason}; taken as never ran`],
    });
  }

  await Deno.writeTextFile(
    file,
    JSON.stringify({
      version: 1,
      pid: "forged",
      lastRuns: { good: "2025-06-01T03:00:00.000Z", bad: "yesterday", number: 5, __proto__: 1 },
      nextRuns: [{ name: 1 }, "x", { name: "a", timetable: "every 1h", timezone: "UTC", at: null }],
    }),
  );
  const state = readScheduleState(file);
  assert.equal(state.pid, undefined);
  assert.deepEqual(state.nextRuns, [
    { name: "a", timetable: "every 1h", timezone: "UTC", atMs: null },
  ]);
  assert.deepEqual(read(file), {
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
  assert.deepEqual(read(file), {
    lastRuns: {},
    reasons: [
      `Schedule state "${file}" is not a regular file (it is a FIFO, not a regular file); ` +
      "taken as never ran",
    ],
  });
  await Deno.remove(file);

  const elsewhere = `${dir.path}/elsewhere.json`;
  await write(elsewhere, { a: 0 });
  await Deno.symlink(elsewhere, file);
  assert.match(read(file).reasons[0], /is not a regular file \(it is a symbolic link/);
  await Deno.remove(file);
  await Deno.mkdir(file);
  assert.equal(read(file).reasons.length, 1);
});

Deno.test("ScheduleStateFile writes a 0600 file in a 0700 folder, replacing a planted link", async () => {
  await using dir = await tempDir();
  const folder = `${dir.path}/app`; // made by the first write
  const file = `${folder}/${SCHEDULE_STATE_FILE}`;
  const state = ScheduleStateFile.open(folder, { pid: 4242 });
  await state.record("b", 2000);
  await state.setNextRuns([
    { name: "b", timetable: "every 1h", timezone: "UTC", atMs: at("2025-06-01T11:00:00Z") },
  ]);
  assert.equal((await Deno.stat(folder)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), {
    version: 1,
    pid: 4242,
    lastRuns: { b: "1970-01-01T00:00:02.000Z" },
    nextRuns: [
      { name: "b", timetable: "every 1h", timezone: "UTC", at: "2025-06-01T11:00:00.000Z" },
    ],
  });

  // A symlink planted at the path is replaced, and its target left alone.
  const target = `${dir.path}/target`;
  await Deno.writeTextFile(target, "precious");
  await Deno.remove(file);
  await Deno.symlink(target, file);
  await state.record("a", 3000);
  assert.equal(await Deno.readTextFile(target), "precious");
  assert.ok((await Deno.lstat(file)).isFile);
  assert.deepEqual(Object.fromEntries(readScheduleState(file).lastRuns), { a: 3000, b: 2000 });
  assert.deepEqual([...Deno.readDirSync(folder)].map((e) => e.name), [SCHEDULE_STATE_FILE]);
});

Deno.test("ScheduleStateFile names the file when it cannot write, and keeps the time", async () => {
  await using dir = await tempDir();
  const blocker = `${dir.path}/not-a-folder`;
  await Deno.writeTextFile(blocker, "");
  const state = ScheduleStateFile.open(blocker);
  await assert.rejects(
    state.record("a", 0),
    /^Error: Cannot write schedule state ".*not-a-folder\/schedules.json": /,
  );
  assert.equal(state.lastRunMs("a"), 0);

  const folder = `${dir.path}/app`;
  const ok = ScheduleStateFile.open(folder);
  await ok.record("a", 0);
  await assert.rejects(
    Promise.all(Array.from({ length: 3000 }, (_, i) => ok.record(`schedule-${i}`, i))),
    new RegExp(`: it would be larger than ${MAX_STATE_BYTES} bytes$`),
  );
  assert.deepEqual(
    Object.fromEntries(readScheduleState(`${folder}/${SCHEDULE_STATE_FILE}`).lastRuns),
    {
      a: 0,
    },
  );
});

Deno.test("ScheduleStateFile.record() keeps every entry when schedules fire together", async () => {
  await using dir = await tempDir();
  await write(`${dir.path}/${SCHEDULE_STATE_FILE}`, { old: 1, kept: 2 });
  const state = ScheduleStateFile.open(dir.path, { names: ["kept", "a", "b", "c"] });
  assert.equal(state.lastRunMs("old"), null); // no longer configured
  assert.equal(state.lastRunMs("kept"), 2);
  await Promise.all([state.record("a", 10), state.record("b", 20), state.record("c", 30)]);
  assert.deepEqual(
    Object.fromEntries(readScheduleState(`${dir.path}/${SCHEDULE_STATE_FILE}`).lastRuns),
    {
      kept: 2,
      a: 10,
      b: 20,
      c: 30,
    },
  );
});

Deno.test("readScheduleState() reads only a folder and file of the owner's that no other user can write", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/${SCHEDULE_STATE_FILE}`;
  await write(file, { a: 1000 });
  assert.deepEqual(read(file), { lastRuns: { a: 1000 }, reasons: [] });

  await Deno.chmod(file, 0o666);
  const reason = "is refused: other users can write it (mode 0666)";
  assert.deepEqual(read(file), {
    lastRuns: {},
    reasons: [`Schedule state "${file}" ${reason}; taken as never ran`],
  });
  assert.deepEqual(readScheduleState(file).problem, { subject: "file", path: file, reason });
  await Deno.chmod(file, 0o600);

  // Another user's folder: nothing is read, and the reason is the folder's.
  const reasons: string[] = [];
  const other = readScheduleState(file, { owner: 4242, onInvalid: (r) => reasons.push(r) });
  assert.deepEqual(other.lastRuns, new Map());
  assert.deepEqual(other.problem, {
    subject: "folder",
    path: dir.path,
    reason: `it belongs to uid ${Deno.uid()}, not uid 4242`,
  });
  assert.deepEqual(reasons, []);

  // A folder on the path that others can change: the same, from ScheduleStateFile.open.
  await Deno.chmod(dir.path, 0o777);
  const refused: string[] = [];
  const state = ScheduleStateFile.open(dir.path, { onFolderRefused: (r) => refused.push(r) });
  assert.equal(state.lastRunMs("a"), null);
  assert.deepEqual(refused, [`other users can write it (mode 0777)`]);
  await assert.rejects(state.record("a", 2000), /: other users can write it \(mode 0777\)$/);
  const warned: string[] = [];
  ScheduleStateFile.open(dir.path, { onInvalid: (r) => warned.push(r) });
  assert.deepEqual(warned, [
    `Schedule state folder "${dir.path}" is refused: other users can write it (mode 0777)`,
  ]);
  await Deno.chmod(dir.path, 0o700);
});
