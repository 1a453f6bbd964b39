/**
 * End-to-end tests of the command line: help, usage errors, config errors,
 * `check`, permissions. Each asserts stdout, stderr and the exit code.
 */
import assert from "node:assert/strict";
import { runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";
import { VERSION } from "../lib/core/version.ts";

const PROBE = new URL("./fixtures/probe_controller.ts", import.meta.url).pathname;
const HELPER_DOC_CONFIG = new URL("./fixtures/helper/configuration.yml", import.meta.url).pathname;

Deno.test("flagstaff --version prints the version and exits 0", async () => {
  const result = await runCli(["--version"]);
  assert.deepEqual([result.code, result.stdout, result.stderr], [0, `${VERSION}\n`, ""]);
});

Deno.test("flagstaff --help lists the commands and exits 0", async () => {
  const result = await runCli(["--help"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage: flagstaff \[command\] \[options\] /);
  assert.match(result.stdout, /\n {2}run +run the controller/);
  assert.match(result.stdout, /\n {2}check +load and validate/);
  // The implicit run and the action flags are shown too (a new user's first questions).
  assert.match(result.stdout, /Without a command, flagstaff runs: "flagstaff -c app.yml"/);
  assert.match(result.stdout, /\n {2}--usr1 <action> \[words\.\.\.\] +add an action for SIGUSR1/);
  assert.match(result.stdout, /--usr2 <action> \[words\.\.\.\] +add an action for SIGUSR2/);
  assert.match(result.stdout, /-l, --list +list every known action/);
  assert.equal(result.stderr, "");
});

Deno.test("an unknown option is a usage error with exit code 2", async () => {
  const result = await runCli(["run", "--bogus"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.equal(
    result.stderr,
    'error: Unknown option "--bogus" for "run" (see "flagstaff run --help")\n',
  );
});

Deno.test("run with neither a controller nor actions says what to give, exit 2", async () => {
  const result = await runCli(["run"]);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    "error: No actions configured and no controller: give --hup/--usr1/--usr2 ACTION, " +
      "--every DURATION ACTION, a Signals or Schedules section, " +
      'or a controller (--controller MODULE or Application.controller); see "flagstaff --help"\n',
  );
});

Deno.test("a missing config file is a clear error with exit code 2", async () => {
  const result = await runCli(["run", "-c", "/nonexistent/app.yml", "--controller", PROBE]);
  assert.deepEqual([result.code, result.stdout], [2, ""]);
  assert.equal(result.stderr, 'error: Cannot load config "/nonexistent/app.yml": no such file\n');
});

Deno.test("malformed YAML reports line and column, exit 2", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": "Application:\n  wake_interval: 5\n  list: [a, b\nDaemon: {}\n",
  });
  const result = await runCli(["run", "-c", `${dir.path}/app.yml`, "--controller", PROBE]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    new RegExp(`^error: Cannot load config "${dir.path}/app.yml": line \\d+, column \\d+: `),
  );
  assert.equal(result.stdout, "");
});

Deno.test("a wrong type names file, line, column and key, exit 2", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": "Daemon:\n  pidfile: 42\n" });
  const result = await runCli(["run", "-c", `${dir.path}/app.yml`, "--controller", PROBE]);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    `error: Cannot load config "${dir.path}/app.yml": line 2, column 12, key "Daemon.pidfile": expected a string, got 42\n`,
  );
});

Deno.test("check prints what would run and exits 0 for helper's documented config", async () => {
  const result = await runCli(["check", "-c", HELPER_DOC_CONFIG, "--controller", PROBE]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.match(result.stdout, new RegExp(`^config: ${HELPER_DOC_CONFIG}\n`));
  assert.match(result.stdout, /\nwake_interval: 10 s\n/);
  assert.match(result.stdout, /\nconfig OK\n$/);
});

Deno.test("check prints every problem and exits 2", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml":
      "Application:\n  wake_interval: soon\nDaemon:\n  stop_timeout: -1\nLogging:\n  root:\n    level: LOUD\n",
  });
  const result = await runCli([
    "check",
    "-c",
    `${dir.path}/app.yml`,
    "--controller",
    `${dir.path}/missing.ts`,
  ]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 4, result.stderr);
  assert.match(
    lines[0],
    /line 2, column 18, key "Application.wake_interval": expected a positive number of seconds, got "soon"$/,
  );
  assert.match(lines[1], /line 4, column 17, key "Daemon.stop_timeout"/);
  assert.match(lines[2], /line 7, column \d+, key "Logging.root.level": .*"LOUD"/);
  assert.match(lines[3], /^error: Cannot load controller ".*missing.ts": /);
});

Deno.test("a controller module without a controller is refused with exit 2", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "bad.ts": "export default 42;\n",
    "empty.ts": "export default class {}\n",
  });
  for (
    const [file, found] of [["bad.ts", "a number"], [
      "empty.ts",
      "a class without process() or run()",
    ]]
  ) {
    const result = await runCli(["run", "--controller", `${dir.path}/${file}`]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      `error: Cannot load controller "${dir.path}/${file}": its default export is ${found}, expected a class or an object with process() or run()\n`,
    );
  }
});

Deno.test("a missing permission gives a clear message and exit 2", async () => {
  const result = await runCli(["run", "-c", HELPER_DOC_CONFIG], { permissions: ["--allow-env"] });
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    `error: Cannot read config "${HELPER_DOC_CONFIG}": run deno with --allow-read\n`,
  );
  const noFfi = await runCli(["check", "-c", HELPER_DOC_CONFIG], { permissions: ["--allow-read"] });
  assert.equal(noFfi.code, 2);
  assert.equal(
    noFfi.stderr,
    `error: Cannot tell whether flagstaff runs as root before reading config "${HELPER_DOC_CONFIG}": run deno with --allow-ffi\n`,
  );
  // Reading a config needs no env permission (the YAML parser reads no variables): without
  // it, check gets as far as its own verdict on the config.
  const noEnv = await runCli(["check", "-c", HELPER_DOC_CONFIG], {
    permissions: ["--allow-read", "--allow-ffi"],
  });
  assert.equal(noEnv.code, 2);
  assert.match(noEnv.stderr, /^error: No actions configured and no controller/);
});

Deno.test("run -v shows debug lines and -q hides info lines", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": `Application:\n  controller: ${PROBE}\n` });
  {
    await using app = spawnCli(["run", "-v", "-c", `${dir.path}/app.yml`]);
    await app.waitFor(/DEBUG.*State Sleeping -> Active|DEBUG.*State Initializing -> Active/);
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
  }
  {
    await using app = spawnCli(["run", "-q", "-c", `${dir.path}/app.yml`]);
    await app.waitFor("process end 1");
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0);
    assert.doesNotMatch(result.stderr, /INFO/);
  }
});

Deno.test("-v prints the cause chain under the error", async () => {
  const quiet = await runCli(["run", "--controller", "/nonexistent/c.ts"]);
  assert.equal(quiet.code, 2);
  assert.doesNotMatch(quiet.stderr, /caused by:/);
  const verbose = await runCli(["run", "-v", "--controller", "/nonexistent/c.ts"]);
  assert.equal(verbose.code, 2);
  assert.match(
    verbose.stderr,
    /^error: Cannot load controller "\/nonexistent\/c.ts": Module not found/,
  );
  assert.match(
    verbose.stderr,
    /\ncaused by: TypeError: Module not found "file:\/\/\/nonexistent\/c.ts"/,
  );
});
