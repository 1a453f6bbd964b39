import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { fstatFd } from "./file_stat.ts";
import { flockHolders, tryFlock, unlockFd } from "./flock.ts";
import { closeFd, O_RDONLY, openNoFollow } from "./safe_file.ts";

libc("run the tests"); // opened once for the whole file (see libc())

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-flock-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

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
