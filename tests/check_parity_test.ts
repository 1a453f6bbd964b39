/**
 * `check` and `run` agree: whatever `run` refuses at start-up before user
 * code runs (an action's set-up checks, a log file it cannot open, a broken
 * `Actions` entry, a controller that cannot load), `check` reports too, with
 * the same message and exit 2, in one pass with the other problems. And an
 * actions folder that the `Daemon.user` may not look at is decided before the
 * drop, skipped with one warning, or (given with `--actions-dir`) an error
 * naming it and the user. The real CLI, as a process.
 */
import assert from "node:assert/strict";
import {
  type Finished,
  runCli,
  spawnCli,
  type SpawnOptions,
  tempDir,
  writeFiles,
} from "./_helpers.ts";

const IS_ROOT =
  new TextDecoder().decode(new Deno.Command("id", { args: ["-u"] }).outputSync().stdout)
    .trim() === "0";

/** The `error: ` lines of a run's stderr (its log lines aside). */
function errorLines(result: Finished): string[] {
  return result.stderr.split("\n").filter((line) => line.startsWith("error: "));
}

/**
 * Runs `check ARGS` and `run ARGS`: both must exit 2 with the same error
 * lines, `check` printing nothing else. Returns those lines.
 */
async function sameVerdict(args: readonly string[], options: SpawnOptions = {}): Promise<string[]> {
  const check = await runCli(["check", ...args], options);
  const run = await runCli(["run", ...args], options);
  assert.equal(check.code, 2, `check: ${check.stdout}${check.stderr}`);
  assert.equal(check.stdout, "", 'check prints no report (no "config OK")');
  assert.equal(run.code, 2, `run: ${run.stderr}`);
  const lines = errorLines(check);
  assert.equal(check.stderr, lines.map((line) => `${line}\n`).join(""));
  assert.deepEqual(errorLines(run), lines, "run refuses it with check's words");
  return lines;
}

Deno.test("a schedule's exec of a missing program: check and run refuse it alike", async () => {
  await using dir = await tempDir();
  const args = ["--every", "2s", "print", "tick", "--cron", "0 3 * * *", "exec", "./backup.sh"];
  const lines = await sameVerdict(args, { cwd: dir.path });
  assert.equal(lines.length, 1);
  assert.ok(
    lines[0].startsWith(
      `error: Action "exec" (schedule "0 3 * * *" #1) given by --cron "0 3 * * *" failed to set up: ` +
        `Cannot find program "${dir.path}/backup.sh": `,
    ),
    lines[0],
  );
  // Once the program is there, check says so.
  await Deno.writeTextFile(`${dir.path}/backup.sh`, "#!/bin/sh\n", { mode: 0o755 });
  const fixed = await runCli(["check", ...args], { cwd: dir.path });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stdout, /^schedule "0 3 \* \* \*": .*runs exec "\.\/backup\.sh"$/m);
  assert.match(fixed.stdout, /^config OK$/m);
});

Deno.test("a signal's exec of a missing program in the config: check and run refuse it alike", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.yml`;
  await writeFiles(dir.path, { "app.yml": "Signals: {usr1: [{exec: [./nope.sh]}]}\n" });
  const lines = await sameVerdict(["-c", file], { cwd: dir.path });
  assert.equal(lines.length, 1);
  assert.ok(
    lines[0].startsWith(
      `error: Action "exec" (usr1 #1) given by ${file} line 1 (Signals.usr1[0]) failed to set up: ` +
        `Cannot find program "${dir.path}/nope.sh": `,
    ),
    lines[0],
  );
});

Deno.test("a log file whose folder is missing: check and run refuse it alike, naming line and key", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.yml`;
  await writeFiles(dir.path, {
    "app.yml": `Signals:
  usr1: [{print: hi}]
Logging:
  handlers:
    f: {class: logging.FileHandler, filename: ${dir.path}/nonexistent/x.log}
  root: {handlers: [f]}
`,
  });
  const lines = await sameVerdict(["-c", file]);
  assert.deepEqual(lines, [
    `error: Cannot load config "${file}": line 5, column 47, key "Logging.handlers.f.filename": ` +
    `cannot open this log file: its folder "${dir.path}/nonexistent" does not exist ` +
    "(flagstaff creates log files, not folders)",
  ]);
  assert.equal(await Deno.lstat(`${dir.path}/nonexistent`).catch(() => "absent"), "absent");
});

Deno.test({
  name:
    "as root, log files check and run refuse alike: with Daemon.user, and in a folder another user can change",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    const file = `${dir.path}/app.yml`;
    const config = (daemon: string, filename: string) =>
      `${daemon}Signals:
  usr1: [{print: hi}]
Logging:
  handlers:
    f: {class: logging.FileHandler, filename: ${filename}}
  root: {handlers: [f]}
`;
    // With a drop: the folder is missing (run used to fail only after the drop).
    await writeFiles(dir.path, {
      "app.yml": config("Daemon: {user: nobody}\n", `${dir.path}/missing/x.log`),
    });
    assert.deepEqual(await sameVerdict(["-c", file]), [
      `error: Cannot load config "${file}": line 6, column 47, key "Logging.handlers.f.filename": ` +
      `cannot open this log file: its folder "${dir.path}/missing" does not exist ` +
      "(flagstaff creates log files, not folders)",
    ]);
    // Without a drop, root refuses a log folder another user can change.
    await Deno.mkdir(`${dir.path}/logs`);
    const chown = await new Deno.Command("chown", { args: ["nobody", `${dir.path}/logs`] })
      .output();
    assert.equal(chown.code, 0);
    await writeFiles(dir.path, { "app.yml": config("", `${dir.path}/logs/x.log`) });
    const lines = await sameVerdict(["-c", file]);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      new RegExp(
        `key "Logging\\.handlers\\.f\\.filename": Cannot use log file "${dir.path}/logs/x\\.log" ` +
          `as root: its folder "${dir.path}/logs" can be changed by another user \\(uid \\d+, mode 755\\)`,
      ),
    );
    // Nothing was created.
    assert.deepEqual([...Deno.readDirSync(`${dir.path}/logs`)], []);
  },
});

Deno.test("an unused Actions entry that cannot load: check, run and list -c refuse it alike", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.yml`;
  await writeFiles(dir.path, {
    "app.yml": "Signals:\n  usr1: [{print: hi}]\nActions:\n  x: ./nope.ts\n",
  });
  const lines = await sameVerdict(["-c", file]);
  assert.equal(lines.length, 1);
  assert.ok(
    lines[0].startsWith(
      `error: Cannot load action "x" from ${dir.path}/nope.ts, given by ${file} line 4 ` +
        `(Actions.x): Module not found`,
    ),
    lines[0],
  );
  const list = await runCli(["list", "-c", file]);
  assert.equal(list.code, 2);
  assert.deepEqual(errorLines(list), lines);
});

Deno.test("a config's controller that cannot load: the message names the file, line and key", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.yml`;
  await writeFiles(dir.path, { "app.yml": "# my app\nApplication:\n  controller: ./nope.ts\n" });
  const lines = await sameVerdict(["-c", file]);
  assert.equal(lines.length, 1);
  assert.ok(
    lines[0].startsWith(
      `error: Cannot load controller "./nope.ts" given by ${file} line 3 (Application.controller): ` +
        `Module not found "file://${dir.path}/nope.ts"`,
    ),
    lines[0],
  );
  // On the command line it is not the config's: the message stays as it was.
  const cli = await runCli(["check", "-c", file, "--controller", "./nope.ts"], { cwd: dir.path });
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /^error: Cannot load controller "\.\/nope\.ts": Module not found/);
});

Deno.test("check reports every problem in one pass: the config's, an action's set-up, a broken Actions entry", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.yml`;
  await writeFiles(dir.path, {
    "app.yml": `Application:
  wake_interval: soon
Signals:
  usr1: [{exec: [./nope.sh]}]
Actions:
  x: ./nope.ts
`,
  });
  const check = await runCli(["check", "-c", file], { cwd: dir.path });
  assert.equal(check.code, 2);
  const lines = errorLines(check);
  assert.equal(lines.length, 3, check.stderr);
  assert.match(lines[0], /line 2, column 18, key "Application\.wake_interval"/);
  assert.match(lines[1], /^error: Cannot load action "x" from /);
  assert.match(
    lines[2],
    /^error: Action "exec" \(usr1 #1\) given by .* failed to set up: Cannot find program/,
  );
});

Deno.test({
  name:
    "Daemon.user and a config in a folder only root may enter: the default actions folder is decided before the drop",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    const priv = `${dir.path}/priv`;
    const file = `${priv}/app.yml`;
    await writeFiles(priv, {
      "app.yml": "Daemon:\n  user: nobody\nSignals:\n  usr1: [{print: hi}]\n",
    });
    await Deno.chmod(priv, 0o700);
    // No actions/ folder: none, without a word (it was missing before the drop).
    const check = await runCli(["check", "-c", file]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stderr, "");
    assert.match(check.stdout, /^config OK$/m);
    const list = await runCli(["list", "-c", file]);
    assert.equal(list.code, 0, list.stderr);
    {
      await using app = spawnCli(["run", "-c", file]);
      await app.waitFor("Running 1 action(s)");
      await app.signal("USR1");
      await app.waitFor(/^hi$/m, { stream: "stdout" });
      await app.signal("TERM");
      const result = await app.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /Permission denied|actions folder/);
    }
    // An actions/ folder the user may not look at: skipped, with one warning naming it and the user.
    await Deno.mkdir(`${priv}/actions`);
    await Deno.writeTextFile(`${priv}/actions/greet.ts`, "export default { run() {} };\n");
    const warning = `Skipped the actions folder "${priv}/actions": user "nobody" (uid `;
    const warned = await runCli(["check", "-c", file]);
    assert.equal(warned.code, 0, warned.stderr);
    assert.ok(warned.stderr.startsWith(`warning: ${warning}`), warned.stderr);
    assert.equal(warned.stderr.split("\n").length, 2, "one warning");
    {
      await using app = spawnCli(["run", "-c", file]);
      await app.waitFor("Running 1 action(s)");
      await app.signal("HUP"); // A reload scans again: no second warning.
      await app.waitFor(/Reload failed|Reloaded/);
      await app.signal("TERM");
      const result = await app.finished();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr.split(warning).length, 2, `one warning:\n${result.stderr}`);
    }
    // Given with --actions-dir, it is an error naming the folder and the user, for both.
    const lines = await sameVerdict(["-c", file, "--actions-dir", `${priv}/actions`]);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0],
      new RegExp(
        `^error: Cannot read actions folder "${priv}/actions" as user "nobody" \\(uid \\d+\\): permission denied`,
      ),
    );
  },
});

Deno.test("a pidfile whose folder is missing: check and run refuse it alike, naming line and key", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.yml`;
  await writeFiles(dir.path, {
    "app.yml": "Daemon:\n  pidfile: run/app.pid\nSignals:\n  usr1: [{print: hi}]\n",
  });
  const lines = await sameVerdict(["-c", file]);
  assert.deepEqual(lines, [
    `error: Cannot load config "${file}": line 2, column 12, key "Daemon.pidfile": ` +
    `cannot create this pidfile: its folder "${dir.path}/run" does not exist ` +
    "(flagstaff creates the pidfile, not folders)",
  ]);
  assert.equal(await Deno.lstat(`${dir.path}/run`).catch(() => "absent"), "absent");
});

Deno.test("a stray module in the default actions folder: check and run refuse it alike and say how to keep it out", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "actions/todo.ts": "export const a = 1;\n" });
  const lines = await sameVerdict(["--usr1", "print", "hi"], { cwd: dir.path });
  assert.deepEqual(lines, [
    `error: Cannot load action "todo" from ${dir.path}/actions/todo.ts (every module of the actions ` +
    "folder is loaded, used or not: move this one out, or give --actions-dir another folder): " +
    "its default export is missing, expected an action class or object",
  ]);
  // Given with --actions-dir, it is the same error, without the hint (the folder was chosen).
  const named = await sameVerdict(["--actions-dir", "actions", "--usr1", "print", "hi"], {
    cwd: dir.path,
  });
  assert.deepEqual(named, [
    `error: Cannot load action "todo" from ${dir.path}/actions/todo.ts: ` +
    "its default export is missing, expected an action class or object",
  ]);
});

Deno.test("--pidfile in a missing folder is a usage error (exit 2), as Daemon.pidfile's is", async () => {
  await using dir = await tempDir();
  const result = await runCli(["run", "--pidfile", "nodir/x.pid", "--usr1", "print", "x"], {
    cwd: dir.path,
  });
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    'error: Cannot create pidfile "nodir/x.pid": its folder "nodir" does not exist ' +
      "(flagstaff creates the pidfile, not folders)\n",
  );
});
