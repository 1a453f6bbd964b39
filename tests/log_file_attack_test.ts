/**
 * Log files that root opens, attacked for real by a second user (`nobody`,
 * through `setpriv`): a rotating log in a shared sticky folder (as /tmp),
 * which LogTape creates anew by its path at each rollover, and a log folder
 * reached through nobody's symbolic link. check, run and reload must refuse
 * both, naming file, line and key, and root must never write through the
 * link. Root only: the attacks need a second user and the rules are root's.
 */
import assert from "node:assert/strict";
import {
  type CliProcess,
  fileMatching,
  runCli,
  spawnCli,
  tempDir,
  writeFiles,
} from "./_helpers.ts";

const PROBE = new URL("./fixtures/probe_controller.ts", import.meta.url).pathname;
const IS_ROOT = Deno.uid() === 0;
/** `setpriv` arguments that run a command as `nobody`. */
const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
const VICTIM_TEXT = "root's secret\n";

/** A temp folder others can traverse, a root file only root may read, and a sticky root folder. */
async function scene() {
  const dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  const sticky = `${dir.path}/tmp`;
  await Deno.mkdir(sticky);
  await Deno.chmod(sticky, 0o1777);
  const victim = `${dir.path}/victim.txt`;
  await Deno.writeTextFile(victim, VICTIM_TEXT, { mode: 0o600 });
  return Object.assign(dir, { sticky, victim, config: `${dir.path}/app.yml` });
}

/** A config whose root logger writes to the handler `file` (YAML flow map) every tick. */
function config(handler: string): string {
  return `Application:
  controller: ${PROBE}
  wake_interval: 0.01
  log_lines: 20
Logging:
  handlers:
    file: ${handler}
  root: {level: INFO, handlers: [file]}
`;
}

/** Runs `argv` as nobody to its end; fails unless it succeeds. */
async function asNobody(...argv: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(AS_NOBODY[0], {
    args: [...AS_NOBODY.slice(1), ...argv],
    stderr: "piped",
  }).output();
  assert.equal(code, 0, `as nobody: ${argv.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

/**
 * nobody, in a tight loop (a Deno process, no fork per try), puts a symbolic
 * link to `target` at `link` whenever the name is free, as it is at a
 * rollover between LogTape's rename and its open. `home` is a folder of
 * nobody's for Deno's cache.
 */
async function linkPlanter(target: string, link: string, home: string): Promise<AsyncDisposable> {
  await Deno.mkdir(home);
  await Deno.chown(home, 65534, 65534);
  const child = new Deno.Command(AS_NOBODY[0], {
    args: [
      ...AS_NOBODY.slice(1),
      Deno.execPath(),
      "eval",
      `console.log("ready");
       for (;;) try { Deno.symlinkSync(${JSON.stringify(target)}, ${
        JSON.stringify(link)
      }); } catch {}`,
    ],
    env: { DENO_DIR: home, HOME: home, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value, "ready\n");
  return {
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
    },
  };
}

/**
 * What `run` did: refused at start (its result), or ran its first tick, in
 * which case nobody attacks it and the test fails showing what root wrote.
 */
async function refusedRun(app: CliProcess, attack: () => Promise<string>): Promise<string> {
  const first = await app.waitFor(/process start 1|^error: /m);
  if (first.startsWith("error: ")) {
    const result = await app.finished();
    assert.equal(result.code, 2, result.stderr);
    return result.stderr;
  }
  assert.fail(`run started, and root wrote through nobody's link ${await attack()}`);
}

Deno.test({
  name:
    "as root, a rotating log in a shared sticky folder is refused: nobody's link at a rollover gains nothing",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await scene();
    const log = `${dir.sticky}/attapp.log`;
    await writeFiles(dir.path, {
      "app.yml": config(
        `{class: logging.handlers.RotatingFileHandler, filename: ${log}, maxBytes: 400, backupCount: 2}`,
      ),
    });
    const message = `error: Cannot load config "${dir.config}": line 7, column 67, ` +
      `key "Logging.handlers.file.filename": Cannot use log file "${log}" as root: its folder ` +
      `"${dir.sticky}" can be written by other users (uid 0, mode 1777), and a rotating file is ` +
      "renamed and created anew by its path at each rollover, where another user could have put a " +
      "symbolic link meanwhile; use a folder that no other user can write (not even with the " +
      "sticky bit, as /tmp), or Daemon.user to log as that user\n";
    await using app = spawnCli(["run", "-c", dir.config]);
    const stderr = await refusedRun(app, async () => {
      // The old code: nobody plants a link whenever LogTape has renamed the file away. Root then
      // appends to the link's target, or (link planted between Deno's look and its open) loses
      // its log file for good.
      await using _planter = await linkPlanter(dir.victim, log, `${dir.path}/nobody`);
      return await Promise.race([
        fileMatching(dir.victim, /chatty tick/).then((text) => `into ${dir.victim}: ${text}`),
        app.waitFor(/Failed to emit a log record/).then((line) => `or lost its log: ${line}`),
      ]);
    });
    assert.equal(stderr, message);
    const check = await runCli(["check", "-c", dir.config]);
    assert.deepEqual([check.code, check.stderr], [2, message]);
    assert.equal(await Deno.readTextFile(dir.victim), VICTIM_TEXT);
    assert.deepEqual([...Deno.readDirSync(dir.sticky)], []);
  },
});

Deno.test({
  name:
    "as root, check and reload refuse a delay: true log in a shared sticky folder; a plain one is kept",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await scene();
    const log = `${dir.sticky}/app.log`;
    // A plain FileHandler, opened once through the safe path, may stay in a sticky root folder.
    await writeFiles(dir.path, { "app.yml": config(`{class: file, filename: ${log}}`) });
    assert.equal((await runCli(["check", "-c", dir.config])).code, 0);
    await using app = spawnCli(["run", "-c", dir.config]);
    await app.waitFor("process start 1");
    await fileMatching(log, /chatty tick/);
    // Reloaded with delay: true (opened, and with mode w truncated, by its path at the first record).
    await writeFiles(dir.path, {
      "app.yml": config(`{class: file, filename: ${log}, delay: true, mode: w}`),
    });
    const message = `Cannot load config "${dir.config}": line 7, column 35, ` +
      `key "Logging.handlers.file.filename": Cannot use log file "${log}" as root: its folder ` +
      `"${dir.sticky}" can be written by other users (uid 0, mode 1777), and a delay: true file is ` +
      "opened (mode w: truncated) by its path at its first record";
    const check = await runCli(["check", "-c", dir.config]);
    assert.equal(check.code, 2, check.stderr);
    assert.ok(check.stderr.startsWith(`error: ${message}`), check.stderr);
    await app.signal("HUP");
    // The running config logs on to the plain file, which says why the reload was refused.
    const text = await fileMatching(log, /Reload failed/);
    assert.ok(text.includes(`Reload failed, keeping the running config: ${message}`), text);
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
  },
});

Deno.test({
  name:
    "as root, a log folder reached through nobody's link in a sticky folder is refused by check and run",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await scene();
    const elsewhere = `${dir.path}/elsewhere`;
    await Deno.mkdir(elsewhere, { mode: 0o755 });
    // nobody points a name in the shared folder at a folder of root's.
    await asNobody("ln", "-s", elsewhere, `${dir.sticky}/lnkdir`);
    const log = `${dir.sticky}/lnkdir/app.log`;
    await writeFiles(dir.path, { "app.yml": config(`{class: file, filename: ${log}}`) });
    const message = `error: Cannot load config "${dir.config}": line 7, column 35, ` +
      `key "Logging.handlers.file.filename": Cannot use log file "${log}" as root: on the way ` +
      `to its folder, "${dir.sticky}/lnkdir" is a symbolic link in "${dir.sticky}", a folder ` +
      "other users can change; use a folder whose whole path only root can change (no link in " +
      "a folder others can write), or Daemon.user to log as that user\n";
    await using app = spawnCli(["run", "-c", dir.config]);
    const stderr = await refusedRun(
      app,
      async () =>
        `into ${elsewhere}/app.log: ${await fileMatching(`${elsewhere}/app.log`, /tick/)}`,
    );
    assert.equal(stderr, message);
    const check = await runCli(["check", "-c", dir.config]);
    assert.deepEqual([check.code, check.stderr], [2, message]);
    assert.deepEqual([...Deno.readDirSync(elsewhere)], []);
  },
});
