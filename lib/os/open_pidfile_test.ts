import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { FlagstaffError } from "../core/errors.ts";
import { openPidfile, parsePid, readPidfile } from "./open_pidfile.ts";
import { acquirePidfile } from "./pidfile.ts";
import { entries, flocker, holder, workDir } from "./_pidfile_test_helpers.ts";

libc("run the tests"); // opened once for the whole file (see libc())

Deno.test("readPidfile() reports a missing file, and ignores a lock held by a process it does not name", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  assert.deepEqual(await readPidfile(path), {
    exists: false,
    pid: undefined,
    running: false,
    ignoredLocks: [],
  });
  await Deno.writeTextFile(path, "");
  assert.deepEqual(await readPidfile(path), {
    exists: true,
    pid: undefined,
    running: false,
    ignoredLocks: [],
  });
  const holderFile = await Deno.open(path, { read: true });
  try {
    assert.equal(await holderFile.tryLock(true), true);
    assert.deepEqual(await readPidfile(path), {
      exists: true,
      pid: undefined,
      running: false,
      ignoredLocks: [{ pid: Deno.pid, exclusive: true }],
    });
    await Deno.writeTextFile(path, "12345\n");
    assert.deepEqual((await readPidfile(path)).running, false, "not the pid in the file");
    await Deno.writeTextFile(path, `${Deno.pid}\n`);
    assert.deepEqual(await readPidfile(path), {
      exists: true,
      pid: Deno.pid,
      running: true,
      ignoredLocks: [],
    });
    await assert.rejects(
      acquirePidfile(path, { lockWaitMs: 0 }),
      new FlagstaffError(
        "already_running",
        `Already running as pid ${Deno.pid} (pidfile "${path}")`,
      ),
    );
  } finally {
    holderFile.close();
  }
});

Deno.test("parsePid() accepts only a pid", () => {
  const cases: [string, number | undefined][] = [
    ["1", 1],
    ["4194304\n", 4194304],
    [" 42 \n", 42],
    ["", undefined],
    ["0", undefined],
    ["-1", undefined],
    ["4194305", undefined],
    ["1.5", undefined],
    ["0x10", undefined],
    ["12 34", undefined],
    ["١٢", undefined],
  ];
  for (const [text, pid] of cases) assert.equal(parsePid(text), pid, JSON.stringify(text));
});

Deno.test("readPidfile() and acquirePidfile() read a few bytes of a 100 MB locked pidfile", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  await Deno.writeTextFile(path, "1234");
  await Deno.truncate(path, 100 * 1024 * 1024);
  const holderFile = await Deno.open(path, { read: true });
  try {
    assert.equal(await holderFile.tryLock(true), true);
    assert.deepEqual(await readPidfile(path), {
      exists: true,
      pid: undefined,
      running: false,
      ignoredLocks: [{ pid: Deno.pid, exclusive: true }],
    });
    using file = openPidfile(path)!;
    assert.equal(file.content, `holds "1234${"\\u0000".repeat(28)}…" (more than 32 bytes)`);
    using pidfile = await acquirePidfile(path, { lockWaitMs: 0 });
    assert.equal(pidfile.stale, true);
    assert.equal(pidfile.previousPid, undefined);
  } finally {
    holderFile.close();
  }
});

Deno.test("a pid padded past 32 bytes is not a pid", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  await Deno.writeTextFile(path, `12${" ".repeat(40)}34`);
  assert.equal((await readPidfile(path)).pid, undefined);
  await Deno.writeTextFile(path, `  777${" ".repeat(26)}\n`);
  assert.equal((await readPidfile(path)).pid, 777, "32 bytes: whole");
});

Deno.test("OpenPidfile.locks() names the running pid, and removeIfStale() removes only a stale, current file", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  await using child = holder(dir, path);
  assert.equal(await child.line(), "ready");
  await child.send("go\n");
  assert.equal((await child.json()).acquired, true);
  {
    using file = openPidfile(path)!;
    assert.equal(file.pid, child.process.pid);
    await using reader = flocker(path, false);
    assert.deepEqual(file.locks(), { ownerPid: child.process.pid, ignored: [] });
    assert.equal(await file.removeIfStale(), false, "it runs");
    child.process.kill("SIGKILL");
    await child.process.status;
    assert.equal(await reader.line(), "locked");
    const readerLock = { pid: reader.process.pid, exclusive: false };
    assert.deepEqual(file.locks(), { ownerPid: undefined, ignored: [readerLock] });
    assert.equal(await file.removeIfStale(), true, "the reader's lock does not keep it");
  }
  assert.deepEqual(await entries(dir.path), ["holder.ts"], "no lock file left");
  await Deno.writeTextFile(path, "1\n");
  using old = openPidfile(path)!;
  await Deno.remove(path);
  await Deno.writeTextFile(path, "2\n");
  assert.equal(old.isCurrent(), false);
  assert.equal(await old.removeIfStale(), false, "the path names another file now");
  assert.equal(await Deno.readTextFile(path), "2\n");
  assert.equal(openPidfile(`${dir.path}/missing.pid`), undefined);
  assert.equal(openPidfile(`${dir.path}/no/such/folder/app.pid`), undefined);
});
