import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { fstatFd, lstatPath } from "./file_stat.ts";
import { OsError } from "./os_error.ts";
import {
  closeFd,
  NotRegularFileError,
  O_APPEND,
  O_CREAT,
  O_RDONLY,
  O_WRONLY,
  openFolder,
  openNoFollow,
  openRegularFile,
  readAtMost,
  writeAll,
} from "./safe_file.ts";

libc("run the tests"); // opened once for the whole file (see libc())

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-safe-file-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function mkfifo(path: string): Promise<void> {
  const { code } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(code, 0, `mkfifo ${path}`);
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
