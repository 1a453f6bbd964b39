import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { FlagstaffError } from "../core/errors.ts";
import { acquirePidfile, openPidfile, parsePid, readPidfile } from "./pidfile.ts";

libc("run the tests"); // opened once for the whole file (see libc())
const IS_ROOT = Deno.uid() === 0;

const PIDFILE_TS = new URL("./pidfile.ts", import.meta.url).href;

/**
 * The script a child deno runs: waits for a line on stdin (so several can
 * start together), tries to acquire the pidfile `Deno.args[0]`, prints the
 * outcome as one JSON line, holds the pidfile until stdin closes, releases it.
 */
const HOLDER = `
import { acquirePidfile } from "${PIDFILE_TS}";
const reader = Deno.stdin.readable.getReader();
console.log("ready");
await reader.read();
let pidfile;
try {
  pidfile = await acquirePidfile(Deno.args[0]);
  console.log(JSON.stringify({ acquired: true, stale: pidfile.stale, previousPid: pidfile.previousPid ?? null, ignoredLocks: pidfile.ignoredLocks }));
} catch (error) {
  console.log(JSON.stringify({ acquired: false, code: error.code, exitCode: error.exitCode, message: error.message }));
}
while (!(await reader.read()).done);
if (pidfile) console.log(JSON.stringify({ released: pidfile.release() }));
`;

/** Splits a byte stream into lines. */
function lines(stream: ReadableStream<Uint8Array>): ReadableStream<string> {
  let rest = "";
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, string>({
      transform(chunk, controller) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        for (const part of parts) controller.enqueue(part);
      },
      flush(controller) {
        if (rest) controller.enqueue(rest);
      },
    }),
  );
}

/** A child process (deno running a script, or `flock`); killed and reaped when disposed. */
class Child implements AsyncDisposable {
  readonly process: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stderr: Promise<string>;
  #stdinClosed = false;

  constructor(command: string, args: string[]) {
    this.process = new Deno.Command(command, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#lines = lines(this.process.stdout).getReader();
    this.#stdin = this.process.stdin.getWriter();
    this.#stderr = new Response(this.process.stderr).text();
  }

  /** The next line of stdout; fails after `timeoutMs` or at end of output. */
  async line(timeoutMs = 10_000): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`No line from child within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const { value, done } = await Promise.race([this.#lines.read(), deadline]);
      if (done) throw new Error(`Child ended its output; stderr: ${await this.#stderr}`);
      return value;
    } finally {
      clearTimeout(timer);
    }
  }

  async json(): Promise<Record<string, unknown>> {
    return JSON.parse(await this.line());
  }

  async send(text: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  async closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    await this.#stdin.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // Already ended.
    }
    await this.process.status;
    if (!this.#stdinClosed) await this.#stdin.abort().catch(() => {});
    await this.#lines.cancel();
    await this.#stderr;
  }
}

/** A temp folder with the holder script in it; removed when disposed. */
async function workDir(): Promise<AsyncDisposable & { path: string; holder: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-pidfile-" });
  const holder = `${path}/holder.ts`;
  await Deno.writeTextFile(holder, HOLDER);
  return { path, holder, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

function holder(dir: { holder: string }, pidfile: string): Child {
  return new Child(Deno.execPath(), [
    "run",
    "--no-config",
    "--allow-read",
    "--allow-write",
    "--allow-ffi",
    dir.holder,
    pidfile,
  ]);
}

/**
 * Another process, `flock(1)`, asking for a shared or exclusive flock on
 * `path` (opened read-only; created if missing) and holding it until its
 * stdin closes or it is disposed: its pid is the lock's. It prints `locked`
 * once it holds it; while the pidfile's owner holds the exclusive lock, it
 * waits.
 */
function flocker(path: string, exclusive: boolean): Child {
  return new Child("flock", [exclusive ? "-x" : "-s", path, "-c", "echo locked; exec cat"]);
}

/** {@link flocker}, once it holds the lock. */
async function flockHolder(path: string, exclusive: boolean): Promise<Child> {
  const child = flocker(path, exclusive);
  assert.equal(await child.line(), "locked");
  return child;
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

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
  for (const start of ["missing", "stale", "stale and locked by a reader"]) {
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
