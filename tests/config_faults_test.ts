/**
 * End-to-end tests of config loading faults: aliases, `Daemon.umask` as
 * written, action arguments as written, paths relative to the config file,
 * an empty file on reload, duration floors, and unknown users and groups.
 * Each runs the real CLI (`check`, `run`, `status`) and asserts what a user
 * sees: stdout, stderr and the exit code.
 */
import assert from "node:assert/strict";
import { fileMatching, runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

/** Actions-only config lines, so that `check` and `run` need no controller. */
const PRINT_HI = "Signals:\n  usr1: [{print: hi}]\n";

/** A "billion laughs" alias bomb: 9 levels of 9 aliases each, about 387 million nodes expanded. */
function aliasBomb(): string {
  let text = "Application:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (let level = 1; level < 9; level++) {
    const previous = String.fromCharCode(96 + level);
    const name = String.fromCharCode(97 + level);
    text += `  ${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]\n`;
  }
  return text + PRINT_HI;
}

Deno.test("aliases: hundreds of uses load; an alias bomb or a bad alias is a config error, exit 2", async () => {
  await using dir = await tempDir();
  const uses = Array.from({ length: 300 }, () => "    - *greeting\n").join("");
  await writeFiles(dir.path, {
    "many.yml": `Application:\n  greeting: &greeting hello\n  list:\n${uses}` +
      "Signals:\n  usr1: [{print: *greeting}]\n",
    "bomb.yml": aliasBomb(),
    "dangling.yml": "Application:\n  x: *nowhere\n" + PRINT_HI,
    "loop.yml": "Application: &app\n  self: *app\n" + PRINT_HI,
  });
  const many = await runCli(["check", "-c", `${dir.path}/many.yml`]);
  assert.equal(many.code, 0, many.stderr);
  assert.match(many.stdout, /\nusr1: print "hello"\n[^]*config OK\n$/);

  const bomb = await runCli(["check", "-c", `${dir.path}/bomb.yml`]);
  assert.deepEqual([bomb.code, bomb.stdout], [2, ""]);
  assert.equal(
    bomb.stderr,
    `error: Cannot load config "${dir.path}/bomb.yml": line 7, column 10, key "Application.f.0": ` +
      "aliases repeat more than 100000 nodes (an alias bomb?); write the values out, or use fewer aliases\n",
  );

  const dangling = await runCli(["run", "-c", `${dir.path}/dangling.yml`]);
  assert.deepEqual([dangling.code, dangling.stdout], [2, ""]);
  assert.equal(
    dangling.stderr,
    `error: Cannot load config "${dir.path}/dangling.yml": line 2, column 6, key "Application.x": ` +
      'alias "*nowhere" has no anchor "&nowhere" before it\n',
  );
  const loop = await runCli(["check", "-c", `${dir.path}/loop.yml`]);
  assert.equal(loop.code, 2, loop.stderr);
  assert.match(
    loop.stderr,
    /line 2, column 9, key "Application.self": alias "\*app" is inside the node it names/,
  );
});

Deno.test("Daemon.umask: a digit 8 or 9 is a config error; the value is read as written, in octal", async () => {
  await using dir = await tempDir();
  for (const [written, column] of [["089", 10], ["28", 10], ["0o78", 10], ['"0o78"', 10]]) {
    await writeFiles(dir.path, { "app.yml": `Daemon:\n  umask: ${written}\n${PRINT_HI}` });
    for (const command of ["check", "run"]) {
      const result = await runCli([command, "-c", `${dir.path}/app.yml`]);
      assert.deepEqual([result.code, result.stdout], [2, ""], `${command} with umask ${written}`);
      assert.equal(
        result.stderr,
        `error: Cannot load config "${dir.path}/app.yml": line 2, column ${column}, ` +
          `key "Daemon.umask": expected an octal mode from 0 to 0777 such as 022, got ${written}\n`,
      );
    }
  }
  // `27` without a leading zero is octal too, as umask(1) reads it: the exec'd shell shows it.
  await writeFiles(dir.path, {
    "app.yml": "Daemon:\n  umask: 27\nSignals:\n  usr1: [{exec: [sh, -c, umask]}]\n",
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 1 action(s)", { stream: "stderr" });
  await app.signal("USR1");
  await app.waitFor(/exited with code 0/, { stream: "stderr" });
  await app.waitFor(/\b0027\b/, { stream: "stderr" });
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("Signals: action arguments are the words as written, not YAML 1.1 values", async () => {
  await using dir = await tempDir();
  const target = `${dir.path}/target`;
  await Deno.writeTextFile(target, "");
  await Deno.chmod(target, 0o600);
  await writeFiles(dir.path, {
    "app.yml": `Signals:
  usr1:
    - print: yes
    - print: 12:30
    - print: 022
    - print: 1.10
    - print: [~]
    - print: "quoted: 0755"
    - exec: [chmod, 0755, ${target}]
`,
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 7 action(s)", { stream: "stderr" });
  await app.signal("USR1");
  const exited = await app.waitFor(/exec "chmod [^"]*" exited with code \d+/, { stream: "stderr" });
  assert.match(exited, /exec "chmod 0755 .*target" exited with code 0/);
  assert.equal((await Deno.stat(target)).mode! & 0o777, 0o755);
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    "init\n".repeat(6) + "yes\n12:30\n022\n1.10\n~\nquoted: 0755\n" + "cleanup\n".repeat(6),
  );
});

Deno.test("paths in a config are relative to its folder: status and a second run from elsewhere see the instance", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "conf/app.yml": `Daemon:
  pidfile: app.pid
Logging:
  handlers:
    file: {class: logging.FileHandler, filename: logs/app.log}
  root: {level: INFO, handlers: [console, file]}
${PRINT_HI}`,
    "conf/logs/.keep": "",
    "a/.keep": "",
    "b/.keep": "",
  });
  const config = `${dir.path}/conf/app.yml`;
  const pidfile = `${dir.path}/conf/app.pid`;
  await using first = spawnCli(["run", "-c", config], { cwd: `${dir.path}/a` });
  await first.waitFor("Running 1 action(s)", { stream: "stderr" });
  // The file handler writes on its own schedule: wait for the line, not the stderr one.
  await fileMatching(`${dir.path}/conf/logs/app.log`, /Running 1 action\(s\)/);

  const status = await runCli(["status", "-c", config], { cwd: `${dir.path}/b` });
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, new RegExp(`^running as pid ${first.pid} \\(pidfile ${pidfile}\\)`));
  // A path on the command line stays relative to the working directory.
  const byFlag = await runCli(["status", "--pidfile", "app.pid"], { cwd: `${dir.path}/b` });
  assert.deepEqual([byFlag.code, byFlag.stdout], [3, "not running (no pidfile app.pid)\n"]);

  await using second = spawnCli(["run", "-c", config], { cwd: `${dir.path}/b` });
  await second.waitFor(/Already running|Running 1 action/, { stream: "stderr" });
  const refused = await second.finished();
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr,
    `error: Already running as pid ${first.pid} (pidfile "${pidfile}")\n`,
  );
  await first.signal("TERM");
  assert.equal((await first.finished()).code, 0);
});

Deno.test({
  name: "a reload that finds the config emptied keeps the running config and its actions",
  fn: async () => {
    await using dir = await tempDir();
    const config = `${dir.path}/app.yml`;
    await writeFiles(dir.path, { "app.yml": "Signals:\n  usr1: [{print: still here}]\n" });
    await using app = spawnCli(["run", "-c", config]);
    await app.waitFor("Running 1 action(s)", { stream: "stderr" });
    for (const emptied of ["", "  \n# being edited\n"]) {
      await Deno.writeTextFile(config, emptied);
      await app.signal("HUP");
      await app.waitFor(
        `Reload failed, keeping the running config: Cannot load config "${config}": ` +
          "is empty (no sections, only whitespace or comments)",
        { stream: "stderr" },
      );
      await app.signal("USR1");
      await app.waitFor("still here\n", { stream: "stdout" });
    }
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "init\nstill here\nstill here\ncleanup\n");
    // One problem is said once per reload, not again as a list of one.
    assert.equal(
      result.stderr.split(`Cannot load config "${config}"`).length - 1,
      2,
      result.stderr,
    );
  },
});

Deno.test("durations below their floor are config errors naming file, line and key", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    // 1.0e-9, not 1e-9: YAML 1.1 (PyYAML) reads 1e-9 as text (tests/config_input_test.ts).
    "app.yml": `Application:
  wake_interval: 1.0e-9
Daemon:
  stop_timeout: 0.0001
Signals:
  usr1: [{print: hi, timeout: 1.0e-9}]
`,
  });
  const result = await runCli(["check", "-c", `${dir.path}/app.yml`]);
  assert.deepEqual([result.code, result.stdout], [2, ""]);
  const file = `error: Cannot load config "${dir.path}/app.yml"`;
  assert.equal(
    result.stderr,
    `${file}: line 2, column 18, key "Application.wake_interval": expected at least 0.01 seconds, got 1e-9\n` +
      `${file}: line 4, column 17, key "Daemon.stop_timeout": expected at least 0.001 seconds, got 0.0001\n` +
      `${file}: line 6, column 31, key "Signals.usr1.0.timeout": expected at least 0.001 seconds, got 1e-9\n`,
  );
});

Deno.test("an unknown Daemon.user or Daemon.group is a config error for check and run alike, exit 2", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "user.yml": `Daemon:\n  user: no-such-user-flagstaff\n${PRINT_HI}`,
    "group.yml": `Daemon:\n  user: nobody\n  group: no-such-group-flagstaff\n${PRINT_HI}`,
  });
  for (const command of ["check", "run"]) {
    const user = await runCli([command, "-c", `${dir.path}/user.yml`]);
    assert.deepEqual([user.code, user.stdout], [2, ""], command);
    assert.equal(
      user.stderr,
      `error: Cannot load config "${dir.path}/user.yml": line 2, column 9, key "Daemon.user": ` +
        'unknown user "no-such-user-flagstaff" (not in the user database)\n',
    );
    const group = await runCli([command, "-c", `${dir.path}/group.yml`]);
    assert.deepEqual([group.code, group.stdout], [2, ""], command);
    assert.equal(
      group.stderr,
      `error: Cannot load config "${dir.path}/group.yml": line 3, column 10, key "Daemon.group": ` +
        'unknown group "no-such-group-flagstaff" (not in the group database)\n',
    );
  }
});

Deno.test({
  name: "check lists the config's problems and the actions' problems in one run, exit 2",
  fn: async () => {
    await using dir = await tempDir();
    await writeFiles(dir.path, {
      "app.yml": `Daemon:
  stop_timeout: 0
  user: no-such-user-flagstaff
Signals:
  usr1: [{no_such_action: 1}, {print: [a, b]}]
`,
    });
    const config = `${dir.path}/app.yml`;
    const result = await runCli(["check", "-c", config]);
    assert.deepEqual([result.code, result.stdout], [2, ""]);
    assert.equal(
      result.stderr,
      `error: Cannot load config "${config}": line 2, column 17, key "Daemon.stop_timeout": ` +
        "expected a positive number of seconds, got 0\n" +
        `error: Cannot load config "${config}": line 3, column 9, key "Daemon.user": ` +
        'unknown user "no-such-user-flagstaff" (not in the user database)\n' +
        `error: Unknown action "no_such_action" given by ${config} line 5 (Signals.usr1[0]); run "flagstaff list" to see the known actions\n` +
        `error: Action "print" given by ${config} line 5 (Signals.usr1[1]) takes 1 argument ` +
        '(message: string), got 2: "a", "b"\n',
    );
  },
});
