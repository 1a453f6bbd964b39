/**
 * End-to-end tests of how a config's YAML is read: scalars typed as helper's
 * PyYAML types them (YAML 1.1), keys that are one key in JavaScript, action
 * arguments as written through anchors, aliases and merge keys, errors that
 * name file, line, column and key, and control characters (NUL) in paths.
 * Each runs the real CLI and asserts what a user sees: stdout, stderr and
 * the exit code.
 */
import assert from "node:assert/strict";
import { runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

/** Actions-only config lines, so that `check` and `run` need no controller. */
const PRINT_HI = "Signals:\n  usr1: [{print: hi}]\n";

/** A controller that prints each `v_…` app key (and `n`) with its type, then "values shown". */
const SHOW_CONTROLLER = `export default class {
  setup(context) {
    for (const [key, value] of Object.entries(context.config.application)) {
      if (!key.startsWith("v_") && key !== "n") continue;
      const type = value instanceof Date ? "date" : value instanceof Set ? "set"
        : value === null ? "null" : typeof value;
      const shown = value instanceof Date ? value.toISOString()
        : value instanceof Set ? JSON.stringify([...value]) : String(value);
      console.log(key + " " + type + " " + shown);
    }
    console.log("values shown");
  }
  process() {}
}
`;

Deno.test("scalars are typed as PyYAML types them: y and n are strings, 08 and 1e3 too", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "show.js": SHOW_CONTROLLER,
    "app.yml": `Application:
  controller: ./show.js
  v_y: y
  v_N: N
  v_yes: yes
  v_Off: Off
  v_08: 08
  v_0_30: 0:30
  v_1e3: 1e3
  v_neg_half: -.5
  v_short_date: 2001-1-5
  v_date: 2001-12-14
  v_time: 2001-12-14 21:59:43.10 -5
  v_hex: 0x1F
  v_underscores: 1_000
  v_base60: 1:30
  v_octal: 017
  v_float: 1.0e+3
  v_inf: -.inf
  v_null: ~
  v_set: !!set {x, y}
  n: 1
`,
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("values shown", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  // What PyYAML 6's safe_load gives for each (a date without a zone is read as UTC).
  assert.equal(
    result.stdout,
    [
      "v_y string y",
      "v_N string N",
      "v_yes boolean true",
      "v_Off boolean false",
      "v_08 string 08",
      "v_0_30 string 0:30",
      "v_1e3 string 1e3",
      "v_neg_half string -.5",
      "v_short_date string 2001-1-5",
      "v_date date 2001-12-14T00:00:00.000Z",
      "v_time date 2001-12-15T02:59:43.100Z",
      "v_hex number 31",
      "v_underscores number 1000",
      "v_base60 number 90",
      "v_octal number 15",
      "v_float number 1000",
      "v_inf number -Infinity",
      "v_null null null",
      'v_set set ["x","y"]',
      "n number 1",
      "values shown",
      "",
    ].join("\n"),
  );
});

Deno.test("y is not a boolean: catch_up: y is a config error; 1e3 seconds gets a hint, exit 2", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml":
      "Daemon:\n  stop_timeout: 1e3\nSchedules:\n  - {every: 1h, catch_up: y, run: [{print: hi}]}\n",
  });
  const result = await runCli(["check", "-c", `${dir.path}/app.yml`]);
  assert.deepEqual([result.code, result.stdout], [2, ""]);
  const file = `error: Cannot load config "${dir.path}/app.yml"`;
  assert.equal(
    result.stderr,
    `${file}: line 2, column 17, key "Daemon.stop_timeout": expected a positive number of seconds, ` +
      'got "1e3" (YAML 1.1 reads 1e3 as text, as PyYAML does: write 1.0e+3)\n' +
      `${file}: line 4, column 27, key "Schedules.0.catch_up": expected true or false, got "y"\n`,
  );
});

Deno.test("keys that are one key in JavaScript are duplicate keys naming both lines, check and run exit 2", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": `Application:
  on: 1
  'true': 2
  1: a
  '1': b
  ~: c
  'null': d
  name: &k greeting
  m: {greeting: 1, *k : 2}
  user: x
  user: y
${PRINT_HI}`,
  });
  const file = `error: Cannot load config "${dir.path}/app.yml"`;
  for (const command of ["check", "run"]) {
    const result = await runCli([command, "-c", `${dir.path}/app.yml`]);
    assert.deepEqual([result.code, result.stdout], [2, ""], command);
    assert.equal(
      result.stderr,
      `${file}: line 3, column 3, key "Application.true": ` +
        `Map keys must be unique: "'true'" and "on" on line 2 are both the key "true"\n` +
        `${file}: line 5, column 3, key "Application.1": ` +
        `Map keys must be unique: "'1'" and "1" on line 4 are both the key "1"\n` +
        `${file}: line 7, column 3, key "Application.null": ` +
        `Map keys must be unique: "'null'" and "~" on line 6 are both the key "null"\n` +
        `${file}: line 9, column 20, key "Application.m.greeting": ` +
        `Map keys must be unique: "*k" and "greeting" on line 9 are both the key "greeting"\n` +
        `${file}: line 11, column 3, key "Application.user": ` +
        `Map keys must be unique: "user" is also on line 10\n`,
      command,
    );
  }
});

Deno.test("action arguments stay as written through merge keys and aliased keys", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": `Application:
  name: &k print
  backup: &s {every: 1h, run: [{print: [0755]}]}
Signals:
  usr1: [&b {print: 0755}, {<<: *b}, {*k : 0644}]
Schedules: [{<<: *s, name: merged}]
`,
  });
  const check = await runCli(["check", "-c", `${dir.path}/app.yml`]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /\nusr1: print "0755"; print "0755"; print "0644"\n/);
  assert.match(check.stdout, /\nschedule "merged": every 1h \(times in UTC\); runs print "0755"\n/);

  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 4 action(s)", { stream: "stderr" });
  await app.signal("USR1");
  await app.waitFor("0644\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "init\n".repeat(4) + "0755\n0755\n0644\n" + "cleanup\n".repeat(4));
});

Deno.test("tagged action arguments are their text: !!timestamp and !!binary", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": "Signals:\n  usr1: [{print: !!timestamp 2001-12-14}, {print: !!binary aGVsbG8=}]\n",
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 2 action(s)", { stream: "stderr" });
  await app.signal("USR1");
  await app.waitFor("aGVsbG8=\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "init\ninit\n2001-12-14\naGVsbG8=\ncleanup\ncleanup\n");
});

Deno.test("a wrong argument count names the config file, line and key, for check and run, exit 2", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": "Signals:\n  hup: [reload]\n  usr1: [print]\n" });
  const config = `${dir.path}/app.yml`;
  for (const command of ["check", "run"]) {
    const result = await runCli([command, "-c", config]);
    assert.deepEqual([result.code, result.stdout], [2, ""], command);
    assert.equal(
      result.stderr,
      `error: Action "print" given by ${config} line 3 (Signals.usr1[0]) takes 1 argument ` +
        "(message: string), got none\n",
      command,
    );
  }
});

Deno.test("tags, merge keys and keys YAML cannot build are errors with line, column and key", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": `Application:
  a: !foo 1
  b: !!float x
  c: {<<: 1}
  d: {<<: [{x: 1}, [2]]}
  ? [e]
  : 1
  f: 2001-13-01
  g: 0x_
  h: !!float 1
${PRINT_HI}`,
  });
  const result = await runCli(["check", "-c", `${dir.path}/app.yml`]);
  assert.deepEqual([result.code, result.stdout], [2, ""]);
  const file = `error: Cannot load config "${dir.path}/app.yml"`;
  assert.equal(
    result.stderr,
    `${file}: line 2, column 11, key "Application.a": unknown scalar tag !<!foo>\n` +
      `${file}: line 3, column 14, key "Application.b": ` +
      "cannot resolve a node with !<tag:yaml.org,2002:float> explicit tag\n" +
      `${file}: line 4, column 11, key "Application.c.<<": ` +
      'cannot merge: a merge key (<<) takes a map or a list of maps, got "1"\n' +
      `${file}: line 5, column 20, key "Application.d.<<": ` +
      "cannot merge: a merge key (<<) takes a map or a list of maps, got a list in its list\n" +
      `${file}: line 6, column 5, key "Application.4": ` +
      "expected a key that is a word or a quoted string, got a list\n" +
      `${file}: line 8, column 6, key "Application.f": ` +
      "expected a date or timestamp, got 2001-13-01: the month must be 1 to 12 (quote it for a string)\n" +
      `${file}: line 9, column 6, key "Application.g": ` +
      "expected an integer, got 0x_: it has no digits (quote it for a string)\n",
  );
});

Deno.test("a control character (NUL) in a config path is an error naming the key; run writes nothing", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": `Daemon:
  pidfile: "${dir.path}/run/app.pid\\0/../../escaped.pid"
  state_dir: "state\\tdir"
Application:
  controller: "./c.ts\\0.js"
Actions:
  a: "./a\\nb.ts"
  b: {module: "./b\\u001b.ts"}
Logging:
  handlers:
    f: {class: file, filename: "app.log\\0"}
${PRINT_HI}`,
    "run/.keep": "",
  });
  const file = `error: Cannot load config "${dir.path}/app.yml"`;
  const control = "expected a path without control characters (such as NUL), got";
  for (const command of ["check", "run"]) {
    const result = await runCli([command, "-c", `${dir.path}/app.yml`]);
    assert.deepEqual([result.code, result.stdout], [2, ""], command);
    assert.equal(
      result.stderr,
      `${file}: line 2, column 12, key "Daemon.pidfile": ${control} ` +
        `"${dir.path}/run/app.pid\\u0000/../../escaped.pid"\n` +
        `${file}: line 3, column 14, key "Daemon.state_dir": ${control} "state\\tdir"\n` +
        `${file}: line 5, column 15, key "Application.controller": ${control} "./c.ts\\u0000.js"\n` +
        `${file}: line 7, column 6, key "Actions.a": ${control} "./a\\nb.ts"\n` +
        `${file}: line 8, column 15, key "Actions.b.module": ${control} "./b\\u001b.ts"\n` +
        `${file}: line 11, column 32, key "Logging.handlers.f.filename": ${control} "app.log\\u0000"\n`,
      command,
    );
  }
  const left = [];
  for await (const entry of Deno.readDir(dir.path)) left.push(entry.name);
  assert.deepEqual(left.sort(), ["app.yml", "run"]);
  assert.deepEqual([...Deno.readDirSync(`${dir.path}/run`)].map((entry) => entry.name), [".keep"]);
});

Deno.test("a control character in --pidfile, --controller, --actions-dir or -c is a usage error, exit 2", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": PRINT_HI });
  const cases: [string[], string, string][] = [
    [["status", "--pidfile", "app\x01.pid"], '"--pidfile <file>"', '"app\\u0001.pid"'],
    [["check", "--controller", "./c\n.ts"], '"--controller <module>"', '"./c\\n.ts"'],
    [
      ["check", "-c", `${dir.path}/app.yml`, "--actions-dir", "a\tb"],
      '"--actions-dir <dir>"',
      '"a\\tb"',
    ],
    [["check", "-c", "app\x1b.yml"], '"-c, --config <file>"', '"app\\u001b.yml"'],
  ];
  for (const [argv, option, value] of cases) {
    const result = await runCli(argv, { cwd: dir.path });
    assert.deepEqual([result.code, result.stdout], [2, ""], argv.join(" "));
    assert.equal(
      result.stderr,
      `error: Option ${option} takes a path without control characters, got ${value} ` +
        `(see "flagstaff ${argv[0]} --help")\n`,
    );
  }
});
