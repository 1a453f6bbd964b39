import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { FlagstaffError } from "../core/errors.ts";
import { readPidfile } from "./open_pidfile.ts";
import { acquirePidfile } from "./pidfile.ts";
import { entries, flocker, flockHolder, holder, workDir } from "./_pidfile_test_helpers.ts";

libc("run the tests"); // opened once for the whole file (see libc())
const IS_ROOT = Deno.uid() === 0;

const PIDFILE_TS = new URL("./pidfile.ts", import.meta.url).href;

Deno.test("acquirePidfile() writes the pid, locks the file, and release() removes it", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  const pidfile = await acquirePidfile(path);
  assert.equal(pidfile.stale, false);
  assert.equal(pidfile.previousPid, undefined);
  assert.equal(pidfile.pid, Deno.pid);
  assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`);
  const mode = (await Deno.stat(path)).mode! & 0o777;
  assert.equal(mode & ~0o644, 0, "0o644 less the umask");
  assert.equal(mode & 0o600, 0o600);
  assert.deepEqual(await entries(dir.path), ["app.pid", "holder.ts"], "no temp file left");
  assert.deepEqual(await readPidfile(path), {
    exists: true,
    pid: Deno.pid,
    running: true,
    ignoredLocks: [],
  });
  assert.equal(pidfile.release(), true);
  assert.equal(pidfile.held, false);
  assert.deepEqual(await readPidfile(path), {
    exists: false,
    pid: undefined,
    running: false,
    ignoredLocks: [],
  });
  assert.equal(pidfile.release(), false, "a second release does nothing");
});

Deno.test("acquirePidfile() refuses a second acquirer in this process", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  using _pidfile = await acquirePidfile(path);
  await assert.rejects(
    acquirePidfile(path, { lockWaitMs: 0 }),
    new FlagstaffError("already_running", `Already running as pid ${Deno.pid} (pidfile "${path}")`),
  );
  assert.deepEqual(await entries(dir.path), ["app.pid", "holder.ts"], "no temp file left");
});

Deno.test("acquirePidfile() in another process is refused while this one holds it", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  using _pidfile = await acquirePidfile(path);
  await using child = holder(dir, path);
  assert.equal(await child.line(), "ready");
  await child.send("go\n");
  assert.deepEqual(await child.json(), {
    acquired: false,
    code: "already_running",
    exitCode: 2,
    message: `Already running as pid ${Deno.pid} (pidfile "${path}")`,
  });
  await child.closeStdin();
  assert.equal((await child.process.status).code, 0);
  assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`, "the refused one changed nothing");
});

Deno.test("acquirePidfile() is refused while another process holds it, and takes it over after a crash", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  await using child = holder(dir, path);
  assert.equal(await child.line(), "ready");
  await child.send("go\n");
  assert.deepEqual(await child.json(), {
    acquired: true,
    stale: false,
    previousPid: null,
    ignoredLocks: [],
  });
  const childPid = child.process.pid;
  assert.deepEqual(await readPidfile(path), {
    exists: true,
    pid: childPid,
    running: true,
    ignoredLocks: [],
  });
  await assert.rejects(
    acquirePidfile(path),
    new FlagstaffError("already_running", `Already running as pid ${childPid} (pidfile "${path}")`),
  );
  child.process.kill("SIGKILL");
  await child.process.status;
  assert.deepEqual(
    await readPidfile(path),
    { exists: true, pid: childPid, running: false, ignoredLocks: [] },
    "a killed holder leaves its pidfile, unlocked",
  );
  using pidfile = await acquirePidfile(path);
  assert.equal(pidfile.stale, true);
  assert.equal(pidfile.previousPid, childPid);
  assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`);
});

Deno.test("acquirePidfile() in another process releases on exit and hands over", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  {
    await using child = holder(dir, path);
    assert.equal(await child.line(), "ready");
    await child.send("go\n");
    assert.equal((await child.json()).acquired, true);
    await child.closeStdin();
    assert.deepEqual(await child.json(), { released: true });
    assert.equal((await child.process.status).code, 0);
  }
  assert.deepEqual(await readPidfile(path), {
    exists: false,
    pid: undefined,
    running: false,
    ignoredLocks: [],
  });
  using pidfile = await acquirePidfile(path);
  assert.equal(pidfile.stale, false);
});

Deno.test("acquirePidfile() replaces a stale pidfile: garbage, empty, or a dead pid", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  const cases: [string, number | undefined][] = [
    ["not a pid at all\n", undefined],
    ["", undefined],
    ["\n", undefined],
    ["4194305\n", undefined],
    ["0\n", undefined],
    ["12345\n", 12345],
    ["  777  ", 777],
    ["x".repeat(10_000), undefined],
  ];
  for (const [text, previousPid] of cases) {
    await Deno.writeTextFile(path, text);
    const before = await Deno.stat(path);
    assert.deepEqual(await readPidfile(path), {
      exists: true,
      pid: previousPid,
      running: false,
      ignoredLocks: [],
    });
    const pidfile = await acquirePidfile(path);
    assert.equal(pidfile.stale, true, JSON.stringify(text));
    assert.equal(pidfile.previousPid, previousPid, JSON.stringify(text));
    assert.equal(await Deno.readTextFile(path), `${Deno.pid}\n`);
    assert.notEqual((await Deno.stat(path)).ino, before.ino, "replaced by rename, not rewritten");
    assert.equal(pidfile.release(), true);
  }
  assert.deepEqual(await entries(dir.path), ["holder.ts"]);
});

Deno.test("acquirePidfile() takes over a stale pidfile whatever other processes lock it", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  // A dead pid: the holder script's, killed.
  let deadPid: number;
  {
    await using child = holder(dir, path);
    assert.equal(await child.line(), "ready");
    await child.send("go\n");
    assert.equal((await child.json()).acquired, true);
    deadPid = child.process.pid;
  }
  // [exclusive, what the file holds]: a shared lock held for as long as its holder likes, and
  // an exclusive one held by a process that is not the pid in the file.
  for (
    const [exclusive, text] of [[false, `${deadPid}\n`], [true, `${deadPid}\n`], [
      true,
      "",
    ]] as const
  ) {
    const label = JSON.stringify({ exclusive, text });
    await Deno.writeTextFile(path, text);
    const before = await Deno.stat(path);
    await using locker = await flockHolder(path, exclusive);
    const ignoredLocks = [{ pid: locker.process.pid, exclusive }];
    assert.deepEqual(await readPidfile(path), {
      exists: true,
      pid: text ? deadPid : undefined,
      running: false,
      ignoredLocks,
    }, label);
    const pidfile = await acquirePidfile(path, { lockWaitMs: 0 });
    assert.equal(pidfile.stale, true, label);
    assert.equal(pidfile.previousPid, text ? deadPid : undefined, label);
    assert.deepEqual(pidfile.ignoredLocks, ignoredLocks, label);
    assert.notEqual((await Deno.stat(path)).ino, before.ino, "replaced by rename");
    assert.deepEqual(await readPidfile(path), {
      exists: true,
      pid: Deno.pid,
      running: true,
      ignoredLocks: [],
    }, `${label}: the locker keeps its lock, on a file with no name`);
    assert.equal(pidfile.release(), true, label);
    assert.deepEqual(await entries(dir.path), ["holder.ts"], `${label}: no temp or lock file`);
  }
});

Deno.test("acquirePidfile() takes over from an instance killed while a reader waited for its lock", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  await using child = holder(dir, path);
  assert.equal(await child.line(), "ready");
  await child.send("go\n");
  assert.equal((await child.json()).acquired, true);
  // A reader asks for a shared lock: it waits while the instance runs, and is no holder.
  await using reader = flocker(path, false);
  const refused = new FlagstaffError(
    "already_running",
    `Already running as pid ${child.process.pid} (pidfile "${path}")`,
  );
  await assert.rejects(acquirePidfile(path), refused);
  assert.deepEqual(await readPidfile(path), {
    exists: true,
    pid: child.process.pid,
    running: true,
    ignoredLocks: [],
  });
  // The instance is killed: the reader gets its lock, and holds it; that makes nothing run.
  child.process.kill("SIGKILL");
  await child.process.status;
  assert.equal(await reader.line(), "locked");
  const readerLock = { pid: reader.process.pid, exclusive: false };
  assert.deepEqual(await readPidfile(path), {
    exists: true,
    pid: child.process.pid,
    running: false,
    ignoredLocks: [readerLock],
  });
  using pidfile = await acquirePidfile(path);
  assert.equal(pidfile.previousPid, child.process.pid);
  assert.deepEqual(pidfile.ignoredLocks, [readerLock]);
});

Deno.test("acquirePidfile() lets exactly one of several racing processes win", async () => {
  // Rounds, since a loser may meet the start lock just as its holder removes it (between its
  // open and its stat): that is a retry, never a refusal.
  const starts = ["missing", "stale", "stale and locked by a reader"];
  for (const start of [...starts, ...starts, ...starts]) {
    await using dir = await workDir();
    const path = `${dir.path}/app.pid`;
    if (start !== "missing") await Deno.writeTextFile(path, "garbage");
    await using _reader = start.endsWith("reader") ? await flockHolder(path, false) : undefined;
    const children = Array.from({ length: 5 }, () => holder(dir, path));
    try {
      for (const child of children) assert.equal(await child.line(), "ready");
      await Promise.all(children.map((child) => child.send("go\n")));
      const results = await Promise.all(children.map((child) => child.json()));
      const winners = results.flatMap((result, i) => result.acquired ? [children[i]] : []);
      assert.equal(winners.length, 1, `${start}: ${JSON.stringify(results)}`);
      const winnerPid = winners[0].process.pid;
      assert.equal(await Deno.readTextFile(path), `${winnerPid}\n`);
      for (const result of results) {
        if (!result.acquired) {
          assert.equal(result.message, `Already running as pid ${winnerPid} (pidfile "${path}")`);
        }
      }
      assert.deepEqual(await entries(dir.path), ["app.pid", "holder.ts"], "no temp file left");
    } finally {
      for (const child of children) await child[Symbol.asyncDispose]();
    }
  }
});

Deno.test("Pidfile.release() leaves a pidfile that is no longer its own", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  const pidfile = await acquirePidfile(path);
  await Deno.remove(path);
  await Deno.writeTextFile(path, "999\n");
  assert.equal(pidfile.release(), false);
  assert.equal(await Deno.readTextFile(path), "999\n");
  assert.deepEqual(
    await readPidfile(path),
    { exists: true, pid: 999, running: false, ignoredLocks: [] },
    "unlocked",
  );
  const gone = await acquirePidfile(path);
  await Deno.remove(path);
  assert.equal(gone.release(), false);
});

Deno.test("acquirePidfile() says what is wrong with an unusable path", async () => {
  await using dir = await workDir();
  const missing = `${dir.path}/no/such/dir/app.pid`;
  await assert.rejects(
    acquirePidfile(missing),
    new FlagstaffError(
      "pidfile",
      `Cannot create pidfile "${missing}": no such file or directory (os error 2)`,
    ),
  );
  const folder = `${dir.path}/folder`;
  await Deno.mkdir(folder);
  await assert.rejects(
    acquirePidfile(folder),
    new FlagstaffError(
      "pidfile",
      `Refusing pidfile "${folder}": it is a folder, not a regular file`,
    ),
  );
  assert.deepEqual(await entries(dir.path), ["folder", "holder.ts"], "no temp file left");
});

Deno.test("acquirePidfile() asks for the permissions it lacks", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  const script = `${dir.path}/perm.ts`;
  await Deno.writeTextFile(
    script,
    `import { acquirePidfile } from "${PIDFILE_TS}";
    try { await acquirePidfile(Deno.args[0]); } catch (e) { console.log(e.code, e.message); }`,
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--allow-read", script, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    new TextDecoder().decode(output.stdout),
    `permission Cannot create pidfile "${path}": run deno with --allow-read, --allow-write and --allow-ffi\n`,
  );
});

async function mkfifo(path: string): Promise<void> {
  const { code } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(code, 0);
}

Deno.test("readPidfile() and acquirePidfile() refuse a link, a FIFO and a folder, without blocking", async () => {
  await using dir = await workDir();
  const target = `${dir.path}/target.pid`;
  await Deno.writeTextFile(target, "12345\n");
  await Deno.symlink(target, `${dir.path}/link.pid`);
  await mkfifo(`${dir.path}/fifo.pid`);
  await Deno.mkdir(`${dir.path}/folder.pid`);
  const cases: [string, string][] = [
    ["link.pid", "it is a symbolic link, not a regular file (flagstaff never follows one)"],
    ["fifo.pid", "it is a FIFO, not a regular file"],
    ["folder.pid", "it is a folder, not a regular file"],
  ];
  for (const [name, why] of cases) {
    const path = `${dir.path}/${name}`;
    const refused = new FlagstaffError("pidfile", `Refusing pidfile "${path}": ${why}`);
    await assert.rejects(readPidfile(path), refused);
    await assert.rejects(acquirePidfile(path, { lockWaitMs: 0 }), refused);
  }
  assert.equal(await Deno.readTextFile(target), "12345\n", "the link's target is untouched");
  assert.deepEqual(
    (await entries(dir.path)).filter((name) => name.endsWith(".tmp")),
    [],
    "no temp file left",
  );
});

Deno.test("acquirePidfile() waits its turn for the start lock, and refuses one that is not its own", async () => {
  await using dir = await workDir();
  const path = `${dir.path}/app.pid`;
  const lock = `${dir.path}/.app.pid.lock`;
  // Another starter holds the start lock (flock creates it): this one waits, then gives up.
  {
    await using starter = await flockHolder(lock, true);
    await assert.rejects(
      acquirePidfile(path, { lockWaitMs: 200 }),
      new FlagstaffError(
        "pidfile",
        `Cannot create pidfile "${path}": another process has held its lock file "${lock}" for more than 0.2 s`,
      ),
    );
    assert.deepEqual(await entries(dir.path), [".app.pid.lock", "holder.ts"], "no temp file left");
    // It lets go while this one waits (its stdin closes): this one takes the lock over.
    const acquiring = acquirePidfile(path, { lockWaitMs: 60_000 });
    await starter.closeStdin();
    using pidfile = await acquiring;
    assert.equal(pidfile.stale, false);
    assert.deepEqual(await entries(dir.path), ["app.pid", "holder.ts"], "the lock file removed");
  }
  // A lock file left by a starter that was killed is taken and removed.
  await Deno.writeTextFile(lock, "");
  await Deno.chmod(lock, 0o600);
  {
    using _pidfile = await acquirePidfile(path);
    assert.deepEqual(await entries(dir.path), ["app.pid", "holder.ts"]);
  }
  // A link, or a file with two names, is never used.
  const target = `${dir.path}/target`;
  await Deno.writeTextFile(target, "");
  const cases: [() => Promise<void>, string][] = [
    [() => Deno.symlink(target, lock), "it is a symbolic link, not a regular file"],
    [() => Deno.link(target, lock), "it has 2 hard links, not 1"],
  ];
  for (const [plant, why] of cases) {
    await plant();
    await assert.rejects(
      acquirePidfile(path),
      new FlagstaffError("pidfile", `Refusing pidfile "${path}": its lock file "${lock}": ${why}`),
    );
    assert.deepEqual(await entries(dir.path), [".app.pid.lock", "holder.ts", "target"]);
    await Deno.remove(lock);
  }
});

Deno.test({
  name: "as root, readPidfile() and acquirePidfile() refuse a pidfile another user could change",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    const advice =
      "another user could make root signal any process (keep it in a root-owned folder such as /run/NAME/)";
    type Case = { folder: [number, number]; file?: [number, number]; why?: string };
    const cases: Case[] = [
      { folder: [0, 0o755], file: [0, 0o644] },
      { folder: [0, 0o1777], file: [0, 0o644] },
      { folder: [0, 0o1777] },
      { folder: [65534, 0o755], why: 'its folder "F" is owned by uid 65534, not root' },
      {
        folder: [0, 0o777],
        why: 'its folder "F" is writable by group or others (mode 0777) without the sticky bit',
      },
      {
        folder: [0, 0o775],
        file: [0, 0o644],
        why: 'its folder "F" is writable by group or others (mode 0775) without the sticky bit',
      },
      { folder: [0, 0o1777], file: [65534, 0o644], why: "it is owned by uid 65534, not root" },
      {
        folder: [0, 0o755],
        file: [0, 0o666],
        why: "it is writable by group or others (mode 0666)",
      },
      {
        folder: [0, 0o755],
        file: [0, 0o620],
        why: "it is writable by group or others (mode 0620)",
      },
    ];
    for (const [i, { folder, file, why }] of cases.entries()) {
      const sub = `${dir.path}/case${i}`;
      await Deno.mkdir(sub);
      const path = `${sub}/app.pid`;
      if (file) {
        await Deno.writeTextFile(path, "12345\n");
        await Deno.chown(path, file[0], file[0]);
        await Deno.chmod(path, file[1]);
      }
      await Deno.chown(sub, folder[0], folder[0]);
      await Deno.chmod(sub, folder[1]);
      const label = JSON.stringify({ folder, file });
      if (why === undefined) {
        assert.equal((await readPidfile(path)).exists, file !== undefined, label);
        const pidfile = await acquirePidfile(path);
        assert.equal(pidfile.release(), true, label);
        continue;
      }
      const refused = new FlagstaffError(
        "pidfile",
        `Refusing pidfile "${path}": ${why.replace("F", sub)}: ${advice}`,
      );
      if (file) await assert.rejects(readPidfile(path), refused, label);
      await assert.rejects(acquirePidfile(path), refused, label);
      if (file) assert.equal(await Deno.readTextFile(path), "12345\n", label);
      assert.deepEqual(await entries(sub), file ? ["app.pid"] : [], label);
    }
  },
});
