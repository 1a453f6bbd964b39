import assert from "node:assert/strict";
import { openLogFolder, prepareLogFile } from "./log_folder.ts";
import { closeFd } from "./safe_file.ts";
import { FlagstaffError } from "../core/errors.ts";
import { libc } from "./_libc.ts";

libc("run the tests"); // opened once for the whole file (see libc())

const IS_ROOT = Deno.uid() === 0;

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir();
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** Whether `openLogFolder(path, …)` passes (closing what it opened); its message otherwise. */
function verdict(path: string, reopens?: "create" | "rotate"): string | undefined {
  try {
    const fd = openLogFolder(path, { owner: 0, reopens });
    if (fd === undefined) return "missing";
    closeFd(fd);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof FlagstaffError && error.code === "config_invalid", String(error));
    return error.message;
  }
}

Deno.test({
  name: "`openLogFolder()` takes a sticky root folder for a file opened once, not for one reopened",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o1777);
    assert.equal(verdict(`${dir.path}/app.log`), undefined);
    for (const reopens of ["rotate", "create"] as const) {
      assert.match(
        verdict(`${dir.path}/app.log`, reopens)!,
        /as root: its folder ".*" can be written by other users \(uid 0, mode 1777\), and a /,
      );
    }
    await Deno.chmod(dir.path, 0o755);
    assert.equal(verdict(`${dir.path}/app.log`, "rotate"), undefined);
    assert.equal(verdict(`${dir.path}/missing/app.log`), "missing");
  },
});

Deno.test({
  name:
    "`openLogFolder()` follows a link only in a folder no other user can write, `..` as written",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.mkdir(`${dir.path}/real`);
    await Deno.mkdir(`${dir.path}/shared`, { mode: 0o1777 });
    await Deno.chmod(`${dir.path}/shared`, 0o1777);
    // root's link in root's 0700 folder: followed.
    await Deno.symlink(`${dir.path}/real`, `${dir.path}/trusted`);
    assert.equal(verdict(`${dir.path}/trusted/app.log`, "rotate"), undefined);
    // `..` is taken as written: shared/../real is real, whatever shared is.
    assert.equal(verdict(`${dir.path}/shared/../real/app.log`, "rotate"), undefined);
    // A link in a folder others can write is refused, even root's.
    await Deno.symlink(`${dir.path}/real`, `${dir.path}/shared/lnk`);
    assert.match(
      verdict(`${dir.path}/shared/lnk/app.log`)!,
      /as root: on the way to its folder, ".*\/shared\/lnk" is a symbolic link in ".*\/shared", a folder other users can change; /,
    );
    // A folder of another user is refused.
    await Deno.chown(`${dir.path}/real`, 65534, 65534);
    assert.match(
      verdict(`${dir.path}/real/app.log`)!,
      /its folder ".*\/real" can be changed by another user \(uid 65534, mode 755\)/,
    );
  },
});

Deno.test({
  name: "`prepareLogFile()` creates the file in the folder it checked and refuses a link there",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    prepareLogFile(`${dir.path}/app.log`, { reopens: "rotate" });
    assert.equal((await Deno.lstat(`${dir.path}/app.log`)).isFile, true);
    await Deno.writeTextFile(`${dir.path}/victim`, "root's\n");
    await Deno.symlink(`${dir.path}/victim`, `${dir.path}/link.log`);
    assert.throws(
      () => prepareLogFile(`${dir.path}/link.log`),
      new FlagstaffError(
        "config_invalid",
        `Cannot use log file "${dir.path}/link.log": it is a symbolic link, not a regular file`,
      ),
    );
    assert.throws(
      () => prepareLogFile(`${dir.path}/missing/app.log`),
      /Cannot use log file ".*\/missing\/app\.log": its folder ".*\/missing" does not exist/,
    );
    assert.equal(await Deno.readTextFile(`${dir.path}/victim`), "root's\n");
  },
});
