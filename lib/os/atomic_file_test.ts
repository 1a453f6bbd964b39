import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { readPrivateFile, writePrivateFile } from "./atomic_file.ts";
import { ensurePrivateFolder, FileProblem, openPrivateFolder } from "./private_folder.ts";
import { closeFd } from "./safe_file.ts";

libc("run the tests"); // opened once for the whole file (see libc())

const IS_ROOT = Deno.uid() === 0;

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-atomic-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

const text = (bytes: Uint8Array | undefined) => bytes && new TextDecoder().decode(bytes);

Deno.test("ensurePrivateFolder() creates a 0700 folder and refuses one others can change", async () => {
  await using dir = await tempDir();
  ensurePrivateFolder(`${dir.path}/a/b`);
  assert.equal((await Deno.stat(`${dir.path}/a/b`)).mode! & 0o777, 0o700);
  ensurePrivateFolder(`${dir.path}/a/b`); // there already: checked
  await Deno.chmod(`${dir.path}/a/b`, 0o770);
  assert.throws(() => ensurePrivateFolder(`${dir.path}/a/b`), /other users can write it/);
  await Deno.writeTextFile(`${dir.path}/file`, "");
  assert.throws(() => ensurePrivateFolder(`${dir.path}/file`), FileProblem);
});

Deno.test("ensurePrivateFolder() follows a link only in a folder other users cannot change", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/private/app`, { recursive: true, mode: 0o700 });
  await Deno.chmod(`${dir.path}/private/app`, 0o700);
  await Deno.chmod(dir.path, 0o755);
  await Deno.symlink(`${dir.path}/private/app`, `${dir.path}/app`); // as DynamicUser= does
  ensurePrivateFolder(`${dir.path}/app`);
  await Deno.chmod(dir.path, 0o1777); // now a /tmp: a link there may be anyone's
  assert.throws(
    () => ensurePrivateFolder(`${dir.path}/app`),
    /"[^"]*\/app" is a symbolic link in ".*", a folder other users can change/,
  );
});

Deno.test("ensurePrivateFolder() refuses a folder of another user", {
  ignore: !IS_ROOT,
}, async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/theirs`, { mode: 0o700 });
  await Deno.chown(`${dir.path}/theirs`, 65534, 65534);
  assert.throws(() => ensurePrivateFolder(`${dir.path}/theirs`), /belongs to uid 65534, not uid 0/);
});

Deno.test("readPrivateFile() reads a bounded amount and refuses links and FIFOs unopened", async () => {
  await using dir = await tempDir();
  assert.equal(readPrivateFile(dir.path, "missing", 10), undefined);
  assert.equal(readPrivateFile(`${dir.path}/missing`, "f", 10), undefined);
  await Deno.writeTextFile(`${dir.path}/f`, "x".repeat(100_000));
  assert.equal(readPrivateFile(dir.path, "f", 33)!.length, 33);
  await Deno.symlink(`${dir.path}/f`, `${dir.path}/link`);
  assert.throws(() => readPrivateFile(dir.path, "link", 10), /a symbolic link, not a regular file/);
  const mkfifo = await new Deno.Command("mkfifo", { args: [`${dir.path}/fifo`] }).output();
  assert.equal(mkfifo.code, 0);
  assert.throws(() => readPrivateFile(dir.path, "fifo", 10), /a FIFO, not a regular file/);
});

Deno.test("readPrivateFile() refuses a file others can write, a hard link, and an unsafe folder", async () => {
  await using dir = await tempDir();
  const problem = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof FileProblem, String(error));
      return `${error.subject}: ${error.reason}`;
    }
    assert.fail("no problem");
  };
  await Deno.writeTextFile(`${dir.path}/f`, "{}");
  await Deno.chmod(`${dir.path}/f`, 0o666);
  assert.equal(
    problem(() => readPrivateFile(dir.path, "f", 10)),
    "file: other users can write it (mode 0666)",
  );
  await Deno.chmod(`${dir.path}/f`, 0o600);
  await Deno.link(`${dir.path}/f`, `${dir.path}/g`);
  assert.equal(problem(() => readPrivateFile(dir.path, "f", 10)), "file: it has 2 hard links");
  await Deno.mkdir(`${dir.path}/open/state`, { recursive: true });
  await Deno.chmod(`${dir.path}/open`, 0o777);
  assert.equal(
    problem(() => readPrivateFile(`${dir.path}/open/state`, "f", 10)),
    `folder: the folder "${dir.path}/open" on its path is writable by group or others (mode 0777) without the sticky bit`,
  );
  await Deno.chmod(`${dir.path}/open`, 0o1777); // sticky, as /tmp: a folder may be below it
  assert.equal(readPrivateFile(`${dir.path}/open/state`, "f", 10), undefined);
  assert.equal(
    problem(() => readPrivateFile(dir.path, "f", 10, { owner: 4242 })),
    `folder: it belongs to uid ${Deno.uid()}, not uid 4242`,
  );
});

Deno.test("openPrivateFolder() follows a trusted link by hand, and stops at missing steps", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/private/app`, { recursive: true });
  await Deno.symlink("private/app", `${dir.path}/app`);
  await Deno.symlink(`${dir.path}/app`, `${dir.path}/again`);
  await Deno.writeTextFile(`${dir.path}/private/app/f`, "through links");
  assert.equal(text(readPrivateFile(`${dir.path}/again`, "f", 100)), "through links");
  assert.equal(text(readPrivateFile(`${dir.path}/app/../app`, "f", 100)), "through links");
  assert.equal(openPrivateFolder(`${dir.path}/nothing/here`), undefined);
  await Deno.writeTextFile(`${dir.path}/file`, "");
  assert.equal(openPrivateFolder(`${dir.path}/file/below`), undefined);
  assert.throws(
    () => openPrivateFolder(`${dir.path}/file/below`, { create: true }),
    new RegExp(`cannot create it: "${dir.path}/file" is a regular file, not a folder`),
  );
  await Deno.symlink("loop", `${dir.path}/loop`);
  assert.throws(() => openPrivateFolder(`${dir.path}/loop`), /more than 40 symbolic links/);
  const fd = openPrivateFolder(`${dir.path}/made/here`, { create: true })!;
  closeFd(fd);
  assert.equal((await Deno.stat(`${dir.path}/made`)).mode! & 0o777, 0o700);
});

Deno.test("writePrivateFile() replaces links and hard links instead of writing through them", async () => {
  await using dir = await tempDir();
  const encode = (s: string) => new TextEncoder().encode(s);
  await writePrivateFile(dir.path, "state.json", encode("one\n"));
  assert.equal(text(readPrivateFile(dir.path, "state.json", 100)), "one\n");
  assert.equal((await Deno.stat(`${dir.path}/state.json`)).mode! & 0o777, 0o600);
  // A link and a hard link planted at the path: each target stays as it was.
  await Deno.writeTextFile(`${dir.path}/victim`, "keep");
  await Deno.remove(`${dir.path}/state.json`);
  await Deno.symlink(`${dir.path}/victim`, `${dir.path}/state.json`);
  await writePrivateFile(dir.path, "state.json", encode("two\n"));
  await Deno.remove(`${dir.path}/state.json`);
  await Deno.link(`${dir.path}/victim`, `${dir.path}/state.json`);
  await writePrivateFile(dir.path, "state.json", encode("three\n"));
  assert.equal(await Deno.readTextFile(`${dir.path}/victim`), "keep");
  assert.equal(text(readPrivateFile(dir.path, "state.json", 100)), "three\n");
  const names = [...Deno.readDirSync(dir.path)].map((entry) => entry.name).sort();
  assert.deepEqual(names, ["state.json", "victim"], "no temp file is left");
});

Deno.test("writePrivateFile() fails with a reason and leaves nothing when it cannot write", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "");
  await assert.rejects(
    writePrivateFile(`${dir.path}/file/state`, "state.json", new Uint8Array(1)),
    /cannot create it: ".*\/file" is a regular file, not a folder/,
  );
  await Deno.remove(`${dir.path}/file`);
  await Deno.mkdir(`${dir.path}/state.json`); // a folder where the file goes: rename fails
  await assert.rejects(
    writePrivateFile(dir.path, "state.json", new Uint8Array(1)),
    FileProblem,
  );
  const names = [...Deno.readDirSync(dir.path)].map((entry) => entry.name);
  assert.deepEqual(names, ["state.json"]);
});
