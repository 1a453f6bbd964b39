import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { fstatFd, lstatPath } from "./file_stat.ts";
import { OsError } from "./os_error.ts";
import { closeFd, O_RDONLY, openNoFollow } from "./safe_file.ts";

libc("run the tests"); // opened once for the whole file (see libc())

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-file-stat-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
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
