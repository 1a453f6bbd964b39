import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import {
  closeFd,
  effectiveUid,
  ensureOwnFile,
  flockHolders,
  fstatFd,
  lstatPath,
  notOwnFile,
  NotRegularFileError,
  O_APPEND,
  O_CREAT,
  O_RDONLY,
  O_WRONLY,
  openFolder,
  openNoFollow,
  openRegularFile,
  OsError,
  readAtMost,
  tryFlock,
  unlockFd,
  writeAll,
} from "./safe_file.ts";
import { FlagstaffError } from "../core/errors.ts";

libc("run the tests"); // opened once for the whole file (see libc())

const IS_ROOT = Deno.uid() === 0;

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-safe-file-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function mkfifo(path: string): Promise<void> {
  const { code } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(code, 0, `mkfifo ${path}`);
}

/** `glibc`'s `major()`/`minor()` of a `st_dev`. */
function majorMinor(dev: number): [number, number] {
  const big = BigInt(dev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return [major, minor];
}

function errnoOf(fn: () => unknown): { errno: number; reason: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof OsError) return { errno: error.errno, reason: error.reason };
    throw error;
  }
  assert.fail("expected an OsError");
}

Deno.test("openNoFollow() opens a regular file, and refuses a symbolic link with ELOOP", async () => {
  await using dir = await tempDir();
  const real = `${dir.path}/real`;
  await Deno.writeTextFile(real, "42\n");
  await Deno.symlink(real, `${dir.path}/link`);
  const fd = openNoFollow(real, O_RDONLY);
  try {
    assert.equal(new TextDecoder().decode(readAtMost(fd, 100)), "42\n");
  } finally {
    closeFd(fd);
  }
  assert.deepEqual(errnoOf(() => openNoFollow(`${dir.path}/link`, O_RDONLY)), {
    errno: 40,
    reason: "it is a symbolic link",
  });
  assert.deepEqual(errnoOf(() => openNoFollow(`${dir.path}/missing`, O_RDONLY)), {
    errno: 2,
    reason: "no such file or directory (errno 2)",
  });
});

Deno.test("openNoFollow() with O_CREAT does not create the target of a dangling link", async () => {
  await using dir = await tempDir();
  await Deno.symlink(`${dir.path}/target`, `${dir.path}/link`);
  assert.equal(
    errnoOf(() => openNoFollow(`${dir.path}/link`, O_WRONLY | O_CREAT | O_APPEND)).errno,
    40,
  );
  await assert.rejects(Deno.lstat(`${dir.path}/target`), Deno.errors.NotFound);
});

Deno.test("openNoFollow() never blocks on a FIFO: a reader opens at once, a writer gets ENXIO", async () => {
  await using dir = await tempDir();
  const fifo = `${dir.path}/fifo`;
  await mkfifo(fifo);
  const fd = openNoFollow(fifo, O_RDONLY);
  try {
    assert.equal(fstatFd(fd).type, "fifo");
    // No writer: a non-blocking read returns at once, with nothing.
    assert.equal(readAtMost(fd, 32).length, 0);
  } finally {
    closeFd(fd);
  }
  assert.deepEqual(errnoOf(() => openNoFollow(fifo, O_WRONLY)), {
    errno: 6,
    reason: "it is a FIFO with no reader, or a socket",
  });
});

Deno.test("openFolder() opens a folder and lets openNoFollow() look names up in it", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a`, "x");
  const dirFd = openFolder(dir.path);
  try {
    assert.equal(fstatFd(dirFd).type, "directory");
    const fd = openNoFollow("a", O_RDONLY, { dirFd });
    assert.equal(fstatFd(fd).size, 1);
    closeFd(fd);
    assert.equal(lstatPath("a", dirFd).type, "file");
  } finally {
    closeFd(dirFd);
  }
  assert.equal(errnoOf(() => openFolder(`${dir.path}/a`)).errno, 20, "ENOTDIR");
});

Deno.test("fstatFd() and lstatPath() agree with Deno.lstat()", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/file`;
  await Deno.writeTextFile(path, "hello");
  await Deno.chmod(path, 0o1640);
  await Deno.link(path, `${dir.path}/hard`);
  await Deno.symlink(path, `${dir.path}/link`);
  const info = await Deno.lstat(path);
  const fd = openNoFollow(path, O_RDONLY);
  try {
    const stat = fstatFd(fd);
    assert.deepEqual(stat, lstatPath(path));
    assert.equal(stat.type, "file");
    assert.equal(stat.mode, 0o1640);
    assert.equal(stat.uid, info.uid);
    assert.equal(stat.gid, info.gid);
    assert.equal(stat.nlink, 2);
    assert.equal(stat.size, 5);
    assert.equal(stat.ino, BigInt(info.ino!));
    assert.deepEqual([stat.devMajor, stat.devMinor], majorMinor(info.dev));
    assert.ok(Math.abs(stat.mtimeMs - info.mtime!.getTime()) < 1, `${stat.mtimeMs}`);
  } finally {
    closeFd(fd);
  }
  assert.equal(lstatPath(`${dir.path}/link`).type, "symlink");
  assert.equal(lstatPath(dir.path).type, "directory");
  assert.equal(errnoOf(() => lstatPath(`${dir.path}/missing`)).errno, 2);
});

Deno.test("readAtMost() reads no more than asked of a 100 MB file", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/big`;
  await Deno.writeTextFile(path, "1234");
  await Deno.truncate(path, 100 * 1024 * 1024);
  const fd = openNoFollow(path, O_RDONLY);
  try {
    const bytes = readAtMost(fd, 33);
    assert.equal(bytes.length, 33);
    assert.equal(bytes.buffer.byteLength, 33, "no bigger buffer behind it");
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "1234");
    assert.equal(readAtMost(fd, 0).length, 0);
  } finally {
    closeFd(fd);
  }
  const short = openNoFollow(path.replace("big", "short"), O_WRONLY | O_CREAT);
  closeFd(short);
  const again = openNoFollow(path.replace("big", "short"), O_RDONLY);
  assert.equal(readAtMost(again, 33).length, 0);
  closeFd(again);
});

Deno.test("writeAll() writes everything to a file, and gives up on a full pipe instead of waiting", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/out`;
  const fd = openNoFollow(path, O_WRONLY | O_CREAT | O_APPEND, { mode: 0o600 });
  const text = "line\n".repeat(50_000);
  try {
    writeAll(fd, new TextEncoder().encode(text));
  } finally {
    closeFd(fd);
  }
  assert.equal(await Deno.readTextFile(path), text);
  const fifo = `${dir.path}/fifo`;
  await mkfifo(fifo);
  const reader = openNoFollow(fifo, O_RDONLY);
  const writer = openNoFollow(fifo, O_WRONLY);
  try {
    // Nobody reads: the pipe fills (64 KiB) and the next write fails at once.
    assert.equal(errnoOf(() => writeAll(writer, new Uint8Array(1024 * 1024))).errno, 11);
  } finally {
    closeFd(writer);
    closeFd(reader);
  }
});

Deno.test("tryFlock() probes without waiting; unlockFd() gives the lock back", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/f`;
  await Deno.writeTextFile(path, "");
  const a = openNoFollow(path, O_RDONLY);
  const b = openNoFollow(path, O_RDONLY);
  try {
    assert.equal(tryFlock(a, true), true);
    assert.equal(tryFlock(b, false), false, "a flock belongs to the open file");
    assert.equal(tryFlock(b, true), false);
    unlockFd(a);
    assert.equal(tryFlock(b, false), true);
    assert.equal(tryFlock(a, false), true, "two shared locks");
    assert.equal(tryFlock(a, true), false, "exclusive is refused while b shares");
  } finally {
    closeFd(a);
    closeFd(b);
  }
});

Deno.test("flockHolders() names the process holding a file's lock, from /proc/locks", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/f`;
  await Deno.writeTextFile(path, "");
  const script = `${dir.path}/hold.ts`;
  await Deno.writeTextFile(
    script,
    `const file = await Deno.open(Deno.args[0], { read: true });
await file.lock(Deno.args[1] === "exclusive");
console.log("locked");
await Deno.stdin.readable.getReader().read();
`,
  );
  const fd = openNoFollow(path, O_RDONLY);
  try {
    const stat = fstatFd(fd);
    assert.deepEqual(flockHolders(stat), []);
    for (const mode of ["exclusive", "shared"]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", "--allow-read", script, path, mode],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      try {
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        assert.equal((await reader.read()).value, "locked\n");
        reader.releaseLock();
        assert.deepEqual(flockHolders(stat), [{ pid: child.pid, exclusive: mode === "exclusive" }]);
        assert.deepEqual(
          flockHolders({ ...stat, ino: stat.ino + 1n }),
          [],
          "another inode on that device",
        );
      } finally {
        await child.stdin.close();
        await child.status;
        await child.stdout.cancel().catch(() => {});
      }
    }
    assert.deepEqual(flockHolders(stat), [], "released on exit");
  } finally {
    closeFd(fd);
  }
});

Deno.test("flockHolders() reads a table in chunks and ignores waiters and other kinds of lock", async () => {
  await using dir = await tempDir();
  const table = `${dir.path}/locks`;
  const filler = Array.from(
    { length: 5000 },
    (_, i) => `${i + 3}: POSIX  ADVISORY  WRITE ${i + 10} fd:00:${i} 0 EOF`,
  );
  await Deno.writeTextFile(
    table,
    [
      "1: FLOCK  ADVISORY  WRITE 4321 fd:01:77 0 EOF",
      "1: -> FLOCK  ADVISORY  WRITE 999 fd:01:77 0 EOF",
      "2: POSIX  ADVISORY  WRITE 555 fd:01:77 0 EOF",
      ...filler,
      "9000: FLOCK  ADVISORY  READ 77 103:1a:77 0 EOF",
      "9001: FLOCK  ADVISORY  READ 78 fd:01:7 0 EOF",
      "",
    ].join("\n"),
  );
  assert.deepEqual(flockHolders({ devMajor: 0xfd, devMinor: 1, ino: 77n }, { locksPath: table }), [
    { pid: 4321, exclusive: true },
  ]);
  assert.deepEqual(
    flockHolders({ devMajor: 0x103, devMinor: 0x1a, ino: 77n }, { locksPath: table }),
    [{ pid: 77, exclusive: false }],
    "the last line, past the first chunk",
  );
});

Deno.test("ensureOwnFile() creates a missing file with its mode and accepts it next time", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  const created = ensureOwnFile(path, { mode: 0o640 });
  assert.equal(created.type, "file");
  assert.equal(created.uid, effectiveUid());
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640 & ~Deno.umask());
  await Deno.writeTextFile(path, "kept\n");
  ensureOwnFile(path);
  assert.equal(await Deno.readTextFile(path), "kept\n", "an existing file is neither truncated");
});

Deno.test("ensureOwnFile() refuses links, FIFOs, folders and hard-linked files, naming the path", async () => {
  await using dir = await tempDir();
  const victim = `${dir.path}/victim`;
  await Deno.writeTextFile(victim, "secret\n");
  const cases: [string, () => Promise<void>, string][] = [
    [
      "link.log",
      () => Deno.symlink(victim, `${dir.path}/link.log`),
      "it is a symbolic link, not a regular file",
    ],
    [
      "dangling.log",
      () => Deno.symlink(`${dir.path}/created-by-mistake`, `${dir.path}/dangling.log`),
      "it is a symbolic link, not a regular file",
    ],
    ["fifo.log", () => mkfifo(`${dir.path}/fifo.log`), "it is a FIFO, not a regular file"],
    [
      "folder.log",
      () => Deno.mkdir(`${dir.path}/folder.log`),
      "it is a folder, not a regular file",
    ],
    ["hard.log", () => Deno.link(victim, `${dir.path}/hard.log`), "it has 2 hard links, not 1"],
  ];
  for (const [name, make, why] of cases) {
    await make();
    const path = `${dir.path}/${name}`;
    assert.throws(
      () => ensureOwnFile(path, { what: "log file", code: "config_invalid" }),
      new FlagstaffError("config_invalid", `Cannot use log file "${path}": ${why}`),
    );
  }
  assert.equal(await Deno.readTextFile(victim), "secret\n");
  await assert.rejects(Deno.lstat(`${dir.path}/created-by-mistake`), Deno.errors.NotFound);
});

Deno.test("ensureOwnFile() refuses a FIFO that has a reader", async () => {
  await using dir = await tempDir();
  const fifo = `${dir.path}/app.log`;
  await mkfifo(fifo);
  const reader = openNoFollow(fifo, O_RDONLY);
  try {
    assert.throws(
      () => ensureOwnFile(fifo),
      new FlagstaffError(
        "config_invalid",
        `Cannot use file "${fifo}": it is a FIFO, not a regular file`,
      ),
    );
  } finally {
    closeFd(reader);
  }
});

Deno.test({
  name: "ensureOwnFile() as root refuses a file another user owns",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    const path = `${dir.path}/app.log`;
    await Deno.writeTextFile(path, "");
    await Deno.chown(path, 65534, 65534);
    assert.throws(
      () => ensureOwnFile(path, { what: "log file", code: "usage" }),
      new FlagstaffError(
        "usage",
        `Cannot use log file "${path}": it is owned by uid 65534, not uid 0`,
      ),
    );
  },
});

Deno.test("notOwnFile() says what is wrong with a file", () => {
  const cases: [Parameters<typeof notOwnFile>[0], number, string | undefined][] = [
    [{ type: "file", uid: 1000, nlink: 1 }, 1000, undefined],
    [{ type: "symlink", uid: 1000, nlink: 1 }, 1000, "it is a symbolic link, not a regular file"],
    [
      { type: "character device", uid: 0, nlink: 1 },
      0,
      "it is a character device, not a regular file",
    ],
    [{ type: "directory", uid: 0, nlink: 2 }, 0, "it is a folder, not a regular file"],
    [{ type: "file", uid: 0, nlink: 1 }, 1000, "it is owned by uid 0, not uid 1000"],
    [{ type: "file", uid: 1000, nlink: 3 }, 1000, "it has 3 hard links, not 1"],
  ];
  for (const [stat, euid, why] of cases) assert.equal(notOwnFile(stat, euid), why);
});

Deno.test("openRegularFile() opens or creates a regular file and refuses anything else", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.pid`;
  const created = openRegularFile(path, O_WRONLY | O_CREAT, { mode: 0o600 });
  closeFd(created.fd);
  assert.equal(created.stat.type, "file");
  await Deno.writeTextFile(path, "42\n");
  const opened = openRegularFile(path, O_RDONLY);
  try {
    assert.equal(opened.stat.size, 3);
    assert.equal(new TextDecoder().decode(readAtMost(opened.fd, 32)), "42\n");
  } finally {
    closeFd(opened.fd);
  }
  await Deno.symlink(path, `${dir.path}/link`);
  await mkfifo(`${dir.path}/fifo`);
  const cases: [string, string][] = [
    [`${dir.path}/link`, "symlink"],
    [`${dir.path}/fifo`, "fifo"],
    [dir.path, "directory"],
    ["/dev/null", "character device"],
  ];
  for (const [target, type] of cases) {
    for (const flags of [O_RDONLY, O_WRONLY | O_CREAT | O_APPEND]) {
      assert.throws(
        () => openRegularFile(target, flags),
        (error: unknown) => error instanceof NotRegularFileError && error.type === type,
        `${target} ${flags}`,
      );
    }
  }
  assert.equal(errnoOf(() => openRegularFile(`${dir.path}/missing`, O_RDONLY)).errno, 2);
  const dirFd = openFolder(dir.path);
  try {
    const relative = openRegularFile("app.pid", O_RDONLY, { dirFd });
    closeFd(relative.fd);
    assert.equal(relative.stat.ino, opened.stat.ino);
  } finally {
    closeFd(dirFd);
  }
});
