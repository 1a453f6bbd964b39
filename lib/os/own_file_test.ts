import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { effectiveUid, ensureOwnFile, notOwnFile } from "./own_file.ts";
import { closeFd, O_RDONLY, openNoFollow } from "./safe_file.ts";
import { FlagstaffError } from "../core/errors.ts";

libc("run the tests"); // opened once for the whole file (see libc())

const IS_ROOT = Deno.uid() === 0;

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-own-file-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function mkfifo(path: string): Promise<void> {
  const { code } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(code, 0, `mkfifo ${path}`);
}

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
