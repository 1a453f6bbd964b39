/**
 * The schedules' state file (`Daemon.state_dir`/schedules.json) attacked for
 * real by a second user (`nobody`, through `setpriv`): a folder on the state
 * folder's path that `nobody` can change must not send root's writes
 * elsewhere (a link planted on the path, a folder swapped with a link while
 * root writes), and a state file `nobody` forged must neither suppress a
 * `catch_up` run nor show in root's `status`; what `status` prints from the
 * file is escaped. Root only: the attacks need a second user.
 */
import assert from "node:assert/strict";
import { runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const IS_ROOT = Deno.uid() === 0;
const NOBODY = 65534;
/** `setpriv` arguments that run a command as `nobody`. */
const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
/** How many runs of an `every: 10ms` schedule the swapping attack lasts (each run writes the file). */
const RACE_RUNS = 200;

/** Runs `argv` as `nobody` and fails the test when it fails. */
async function asNobody(argv: readonly string[]): Promise<void> {
  const result = await new Deno.Command(AS_NOBODY[0], {
    args: [...AS_NOBODY.slice(1), ...argv],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  assert.equal(result.code, 0, `as nobody: ${argv.join(" ")}: ${stderr}`);
}

/** The names in `folder`, sorted. */
function namesIn(folder: string): string[] {
  return [...Deno.readDirSync(folder)].map((entry) => entry.name).sort();
}

/** The WARN lines of a log. */
function warnings(stderr: string): string[] {
  return stderr.split("\n").filter((line) => / WARN(ING)? /.test(line));
}

/**
 * A test folder that `nobody` can reach, holding `pub/`: a folder anyone may
 * add to, sticky and root's, as `/tmp` is.
 */
async function sharedDir(): Promise<AsyncDisposable & { path: string; pub: string }> {
  const dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  const pub = `${dir.path}/pub`;
  await Deno.mkdir(pub);
  await Deno.chmod(pub, 0o1777);
  return { path: dir.path, pub, [Symbol.asyncDispose]: () => dir[Symbol.asyncDispose]() };
}

/** A C program that swaps two names in a folder with `renameat2(RENAME_EXCHANGE)`, forever. */
const EXCHANGER_C = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  int dir = open(argv[1], O_PATH | O_DIRECTORY);
  if (dir < 0) { perror("open"); return 1; }
  puts("swapping"); fflush(stdout);
  for (;;) syscall(SYS_renameat2, dir, argv[2], dir, argv[3], 2 /* RENAME_EXCHANGE */);
}
`;

Deno.test(
  "as root, a state folder in a folder another user owns is refused: swapping it for a link sends no write elsewhere",
  {
    ignore: !IS_ROOT,
  },
  async () => {
    await using dir = await sharedDir();
    const theirs = `${dir.path}/A`; // nobody's folder, on the state folder's path
    await Deno.mkdir(theirs, { mode: 0o755 });
    await Deno.chown(theirs, NOBODY, NOBODY);
    const victim = `${dir.path}/victim`; // a folder only root can write
    await Deno.mkdir(victim, { mode: 0o700 });
    await asNobody(["ln", "-s", victim, `${theirs}/lnk`]);
    await Deno.writeTextFile(`${dir.path}/exchange.c`, EXCHANGER_C);
    const cc = await new Deno.Command("gcc", {
      args: ["-O2", "-o", `${dir.path}/exchange`, `${dir.path}/exchange.c`],
    }).output();
    assert.equal(cc.code, 0, new TextDecoder().decode(cc.stderr));
    await writeFiles(dir.path, {
      "app.yml": [
        "Daemon:",
        `  pidfile: ${dir.path}/app.pid`,
        `  state_dir: ${theirs}/state`,
        "Schedules:",
        "  - {every: 10ms, catch_up: true, run: [{print: tick}]}",
        "",
      ].join("\n"),
    });
    await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
    await app.waitFor("Running 1 schedule(s)");
    // nobody swaps root's state folder with the link, as fast as it can, while root writes.
    const exchanger = new Deno.Command(AS_NOBODY[0], {
      args: [...AS_NOBODY.slice(1), `${dir.path}/exchange`, theirs, "state", "lnk"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      for (let run = 0; run < RACE_RUNS && namesIn(victim).length === 0; run++) {
        await app.waitFor("tick\n", { stream: "stdout" });
      }
    } finally {
      exchanger.kill("SIGKILL");
      await exchanger.status;
      await exchanger.stdout.cancel();
    }
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(namesIn(victim), [], "root wrote into the folder the link leads to");
    const warned = warnings(result.stderr);
    assert.equal(warned.length, 1, result.stderr);
    assert.match(
      warned[0],
      new RegExp(
        `Cannot keep the schedules' state in "${theirs}/state": the folder "${theirs}" on its path ` +
          "belongs to uid 65534, not root",
      ),
    );
  },
);

Deno.test("as root, a link another user planted on the state folder's path is not followed", {
  ignore: !IS_ROOT,
}, async () => {
  await using dir = await sharedDir();
  const rootOnly = `${dir.path}/root-only`;
  await Deno.mkdir(rootOnly, { mode: 0o700 });
  await asNobody(["ln", "-s", rootOnly, `${dir.pub}/X`]);
  await writeFiles(dir.path, {
    "app.yml": [
      "Daemon:",
      `  pidfile: ${dir.path}/app.pid`,
      `  state_dir: ${dir.pub}/X/app`,
      "Schedules:",
      "  - {every: 10ms, catch_up: true, run: [{print: tick}]}",
      "",
    ].join("\n"),
  });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("tick\ntick\ntick\n", { stream: "stdout" }); // a write follows each run
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(namesIn(rootOnly), [], "root made a folder or file through the link");
  const warned = warnings(result.stderr);
  assert.equal(warned.length, 1, result.stderr);
  assert.match(
    warned[0],
    new RegExp(
      `Cannot keep the schedules' state in "${dir.pub}/X/app": "${dir.pub}/X" is a symbolic link ` +
        `in "${dir.pub}", a folder other users can change`,
    ),
  );
});

/** A config with an hourly `catch_up` schedule, its state in `stateDir`, and USR2 printing a marker. */
function catchUpConfig(dir: string, stateDir: string): string {
  return [
    "Daemon:",
    `  pidfile: ${dir}/app.pid`,
    `  state_dir: ${stateDir}`,
    "Signals:",
    "  usr2: [{print: marker}]",
    "Schedules:",
    '  - cron: "@hourly"',
    "    name: hourly",
    "    catch_up: true",
    "    run: [{print: CATCHUP-RAN}]",
    "",
  ].join("\n");
}

Deno.test("as root, a state file another user forged does not suppress catch_up", {
  ignore: !IS_ROOT,
}, async () => {
  await using dir = await sharedDir();
  const stateDir = `${dir.pub}/fsq`;
  const forged = JSON.stringify({ version: 1, lastRuns: { hourly: "2099-01-01T00:00:00Z" } });
  await asNobody([
    "sh",
    "-c",
    'mkdir "$1" && printf %s "$2" > "$1/schedules.json"',
    "sh",
    stateDir,
    forged,
  ]);
  await writeFiles(dir.path, { "app.yml": catchUpConfig(dir.path, stateDir) });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("Running 1 schedule(s)");
  // A catch-up is queued when the schedules start, before this USR2: its line comes first.
  await app.signal("USR2");
  await app.waitFor("marker\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout.replace(/^(init|cleanup)\n/gm, ""),
    "CATCHUP-RAN\nmarker\n",
    result.stderr,
  );
  const warned = warnings(result.stderr);
  assert.equal(warned.length, 1, result.stderr);
  assert.match(
    warned[0],
    new RegExp(
      `Cannot keep the schedules' state in "${stateDir}": it belongs to uid 65534, not uid 0\\. ` +
        "catch_up cannot tell when a schedule last ran, so it runs at every start",
    ),
  );
  assert.equal(
    await Deno.readTextFile(`${stateDir}/schedules.json`),
    forged,
    "root wrote into nobody's folder",
  );
});

Deno.test("as root, status shows nothing from a state file another user forged", {
  ignore: !IS_ROOT,
}, async () => {
  await using dir = await sharedDir();
  const stateDir = `${dir.pub}/fsq`;
  await asNobody(["mkdir", stateDir]);
  await writeFiles(dir.path, { "app.yml": catchUpConfig(dir.path, stateDir) });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("Running 1 schedule(s)");
  const pid = Number((await Deno.readTextFile(`${dir.path}/app.pid`)).trim());
  assert.equal(pid, app.pid);
  // nobody writes the running instance's pid, with terminal escapes and a line of its own.
  const forged = JSON.stringify({
    version: 1,
    pid,
    lastRuns: {},
    nextRuns: [{
      name: "hourly",
      timetable: '\u001b[31mFORGED\u001b[0m\n schedule "backup": next run never',
      timezone: "UTC",
      at: "2099-01-01T00:00:00Z",
    }],
  });
  await asNobody(["sh", "-c", 'printf %s "$2" > "$1/schedules.json"', "sh", stateDir, forged]);
  const status = await runCli(["status", "-c", "app.yml"], { cwd: dir.path });
  assert.equal(status.code, 0, status.stderr);
  const lines = status.stdout.split("\n");
  assert.match(lines[0], new RegExp(`^running as pid ${pid} \\(pidfile .*app\\.pid\\)`));
  assert.equal(
    lines[1],
    `schedules: not shown: the state folder "${stateDir}" is refused: it belongs to uid 65534, not uid 0`,
  );
  assert.deepEqual(lines.slice(2), [""]);
  assert.doesNotMatch(status.stdout, /FORGED|backup/);
  assert.ok(!status.stdout.includes("\u001b"), "an escape reached the terminal");
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("status escapes what it prints from the state file: controls, line and bidi marks", async () => {
  await using dir = await tempDir();
  // C0 and DEL are refused in a name by the config; C1 controls, U+2028 and bidi overrides are not.
  await writeFiles(dir.path, {
    "app.yml": [
      "Daemon:",
      "  pidfile: app.pid",
      "  state_dir: state",
      "Schedules:",
      '  - name: "evil\\u202Eexe.txt\\x85next\\u2028line"',
      "    every: 1h",
      "    run: [{print: hourly}]",
      "",
    ].join("\n"),
  });
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor("Running 1 schedule(s)");
  await app.waitFor(/./, { stream: "stdout" }); // print's init line: the actions are set up
  let status = "";
  for (let tries = 0; !/schedule /.test(status); tries++) {
    assert.ok(tries < 100, status);
    const result = await runCli(["status", "-c", "app.yml"], { cwd: dir.path });
    assert.equal(result.code, 0, result.stderr);
    status = result.stdout; // the state file is written just after start-up
  }
  const lines = status.split("\n");
  assert.match(
    lines[1],
    /^schedule "evil\\u202eexe\.txt\\u0085next\\u2028line": next run \d{4}-\d\d-\d\dT\d\d:00:00[+-]\d\d:\d\d \(every 1h\)$/,
  );
  assert.doesNotMatch(status, /[\u0080-\u009f\u2028\u202e]/);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});
