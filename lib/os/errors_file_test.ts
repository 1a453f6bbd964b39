import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { closeFd, O_RDONLY, openNoFollow } from "./safe_file.ts";
import { delay } from "../core/delay.ts";
import {
  appendErrorsFile,
  ERRORS_FILE_DIRS,
  errorsFileDirs,
  MAX_ERROR_BLOCK_BYTES,
} from "./errors_file.ts";

libc("run the tests"); // opened once for the whole file (see libc())
const IS_ROOT = Deno.uid() === 0;

Deno.test("appendErrorsFile() appends to the first writable folder", async () => {
  const base = await Deno.makeTempDir();
  try {
    const missing = `${base}/missing`;
    const notADir = `${base}/file`; // unwritable even for root
    const writable = `${base}/writable`;
    await Deno.writeTextFile(notADir, "");
    await Deno.mkdir(writable);
    const dirs = [missing, notADir, writable];
    const now = new Date("2026-11-23T10:00:00Z");
    const first = await appendErrorsFile("app", new Error("first"), { dirs, now });
    const second = await appendErrorsFile("app", "a string", { dirs, now });
    const expected = `${writable}/app.errors`;
    assert.equal(first, expected);
    assert.equal(second, expected);
    const text = await Deno.readTextFile(expected);
    assert.match(text, /-+ \[START\]\napp Exception \[2026-11-23T10:00:00.000Z\]/);
    assert.match(text, /Error: first\n\s+at /);
    assert.match(text, /Traceback:\na string\n-+ \[END\]/);
    assert.equal(text.split("[START]").length, 3);
    assert.equal((await Deno.stat(expected)).mode! & 0o777, 0o640 & ~Deno.umask());
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("appendErrorsFile() returns undefined when no folder is writable", async () => {
  assert.equal(
    await appendErrorsFile("app", new Error("x"), { dirs: ["/nonexistent/a", "/proc/nope"] }),
    undefined,
  );
});

Deno.test("appendErrorsFile() cuts a huge block", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = await appendErrorsFile("app", "x".repeat(1024 * 1024), { dirs: [dir] });
    const text = await Deno.readTextFile(file!);
    assert.equal(new TextEncoder().encode(text).length, MAX_ERROR_BLOCK_BYTES);
    assert.match(text, /\n\[cut at 65536 bytes\]\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("errorsFileDirs() takes FLAGSTAFF_ERRORS_DIRS, else the defaults", () => {
  assert.deepEqual(errorsFileDirs({ FLAGSTAFF_ERRORS_DIRS: "/a::/b:" }), ["/a", "/b"]);
  assert.deepEqual(errorsFileDirs({ FLAGSTAFF_ERRORS_DIRS: "" }), ERRORS_FILE_DIRS);
  assert.deepEqual(errorsFileDirs({}), ["/var/log", "/var/tmp", "/tmp"]);
});

/** Runs a command as `nobody`, as the other user on the machine. */
async function asNobody(command: string, ...args: string[]): Promise<void> {
  const output = await new Deno.Command("setpriv", {
    args: ["--reuid=nobody", "--regid=nogroup", "--clear-groups", command, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(
    output.code,
    0,
    `as nobody: ${command} ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`,
  );
}

/**
 * A folder like `/var/tmp` (world-writable, sticky) where `nobody` plants
 * something at `app.errors`, a private one with a victim file of root's, and
 * a second folder for the errors file to fall back to.
 */
async function sharedSetup(): Promise<
  AsyncDisposable & { shared: string; victim: string; fallback: string; planted: string }
> {
  const base = await Deno.makeTempDir({ prefix: "flagstaff-errors-" });
  await Deno.chmod(base, 0o755);
  const shared = `${base}/shared`;
  const fallback = `${base}/fallback`;
  await Deno.mkdir(shared);
  await Deno.chmod(shared, 0o1777);
  await Deno.mkdir(fallback);
  await Deno.mkdir(`${base}/private`, { mode: 0o755 });
  const victim = `${base}/private/victim`;
  await Deno.writeTextFile(victim, "root's file\n");
  return {
    shared,
    victim,
    fallback,
    planted: `${shared}/app.errors`,
    [Symbol.asyncDispose]: () => Deno.remove(base, { recursive: true }),
  };
}

Deno.test({
  name:
    "appendErrorsFile() as root never writes through a link, a hard link or a file another user planted",
  ignore: !IS_ROOT,
  async fn() {
    const plants: [string, (s: { victim: string; planted: string }) => Promise<void>][] = [
      ["symbolic link", (s) => asNobody("ln", "-s", s.victim, s.planted)],
      ["dangling link", (s) => asNobody("ln", "-s", `${s.victim}.new`, s.planted)],
      // Any user may link any file where fs.protected_hardlinks is 0; here root makes it.
      ["hard link", (s) => Deno.link(s.victim, s.planted)],
      ["file of nobody's", (s) => asNobody("sh", "-c", `echo mine > ${s.planted}`)],
    ];
    for (const [what, plant] of plants) {
      await using s = await sharedSetup();
      await plant(s);
      const before = await Deno.readTextFile(s.planted).catch(() => undefined);
      const file = await appendErrorsFile("app", new Error("boom"), {
        dirs: [s.shared, s.fallback],
      });
      assert.equal(file, `${s.fallback}/app.errors`, what);
      assert.match(await Deno.readTextFile(file!), /Error: boom/, what);
      assert.equal(await Deno.readTextFile(s.victim), "root's file\n", what);
      await assert.rejects(Deno.lstat(`${s.victim}.new`), Deno.errors.NotFound, what);
      assert.equal(
        await Deno.readTextFile(s.planted).catch(() => undefined),
        before,
        `${what}: unchanged`,
      );
    }
  },
});

Deno.test({
  name: "appendErrorsFile() as root skips a FIFO another user planted, with or without a reader",
  ignore: !IS_ROOT,
  async fn() {
    for (const withReader of [true, false]) {
      await using s = await sharedSetup();
      await asNobody("mkfifo", "-m", "666", s.planted);
      const reader = withReader ? openNoFollow(s.planted, O_RDONLY) : undefined;
      try {
        const write = appendErrorsFile("app", new Error("boom"), { dirs: [s.shared, s.fallback] });
        const deadline = new AbortController();
        const timeout = delay(20_000, { signal: deadline.signal }).then(() => "blocked" as const);
        const file = await Promise.race([write, timeout]);
        deadline.abort();
        await timeout.catch(() => {});
        if (file === "blocked") {
          // Let the blocked write go before failing, so the test ends.
          closeFd(openNoFollow(s.planted, O_RDONLY));
          await write;
          assert.fail("appendErrorsFile() blocked on a FIFO with no reader");
        }
        assert.equal(file, `${s.fallback}/app.errors`, `reader: ${withReader}`);
      } finally {
        if (reader !== undefined) closeFd(reader);
      }
    }
  },
});
