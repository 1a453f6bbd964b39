import assert from "node:assert/strict";
import {
  defaultConfig,
  loadConfig,
  MAX_ALIAS_NODES,
  parseConfig,
  validateConfigFile,
  validateConfigText,
} from "./config.ts";
import { ConfigError, FlagstaffError } from "../core/errors.ts";

async function issuesOf(text: string): Promise<string[]> {
  try {
    await parseConfig(text, "app.yml");
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => `${i.line}:${i.column} ${i.key} | ${i.message}`);
  }
  assert.fail("expected a ConfigError");
}

Deno.test("await parseConfig() fills defaults when a section is missing", async () => {
  const config = await parseConfig(
    "Application:\n  wake_interval: 0.25\n  mykey: [1, 2]\n",
    "/etc/app.yml",
  );
  assert.equal(config.file, "/etc/app.yml");
  assert.equal(config.application.wake_interval, 0.25);
  assert.deepEqual(config.application.mykey, [1, 2], "app keys are handed over untouched");
  assert.equal(config.daemon.stop_timeout, 10);
  assert.equal(config.logging, undefined);
  assert.ok(Object.isFrozen(config.application.mykey), "the config is one immutable value");
  assert.equal(defaultConfig().application.wake_interval, 60);
});

Deno.test("await parseConfig() reports a wrong type with line, column and key", async () => {
  assert.deepEqual(await issuesOf("Daemon:\n  pidfile: 42\n"), [
    "2:12 Daemon.pidfile | expected a string, got 42",
  ]);
  assert.deepEqual(await issuesOf("Application:\n  wake_interval: -1\n"), [
    "2:18 Application.wake_interval | expected a positive number of seconds, got -1",
  ]);
});

Deno.test("await parseConfig() reports every problem, in file order", async () => {
  const issues = await issuesOf(
    "application:\n  wake_interval: 1\nDaemon:\n  pidfile: [a]\n  stop_timeout: no\n  colour: red\nExtra: 1\n",
  );
  assert.deepEqual(issues, [
    '1:1 application | unknown section "application" (sections are case-sensitive: did you mean "Application"?)',
    "4:12 Daemon.pidfile | expected a string, got a list",
    "5:17 Daemon.stop_timeout | expected a positive number of seconds, got false",
    '6:3 Daemon.colour | unknown key "colour" (expected one of user, group, pidfile, umask, prevent_core, stop_timeout, detach, state_dir)',
    '7:1 Extra | unknown section "Extra" (expected Application, Daemon, Logging, Signals, Schedules, Actions)',
  ]);
});

Deno.test("await parseConfig() reports malformed YAML with line and column", async () => {
  const [issue] = await issuesOf("Application:\n  wake_interval: 1\n  bad: [1, 2\n");
  assert.match(issue, /^4:1 {2}\| /);
  // The key and the first one's line are named (they were not: the key was empty).
  assert.deepEqual(await issuesOf("Daemon:\n  user: a\n  user: b\n"), [
    '3:3 Daemon.user | Map keys must be unique: "user" is also on line 2',
  ]);
});

Deno.test("await parseConfig() reads YAML 1.1 like helper's PyYAML", async () => {
  const config = await parseConfig("Daemon:\n  umask: 022\n  prevent_core: yes\n", "app.yml");
  assert.equal(config.daemon.umask, 0o22);
  assert.equal(config.daemon.prevent_core, true);
  assert.equal((await parseConfig("Daemon:\n  umask: '0o027'\n", "a")).daemon.umask, 0o27);
  assert.equal((await parseConfig("Daemon:\n  umask: 27\n", "a")).daemon.umask, 0o27);
  assert.deepEqual(await issuesOf("Daemon:\n  umask: 0999\n"), [
    "2:10 Daemon.umask | expected an octal mode from 0 to 0777 such as 022, got 0999",
  ]);
});

Deno.test("await parseConfig() rejects a document that is not a map", async () => {
  assert.deepEqual(await issuesOf("- a\n- b\n"), [
    "1:1  | expected a map of sections (Application, Daemon, Logging, Signals, Schedules, Actions), got a list",
  ]);
});

Deno.test("loadConfig() loads helper's documented example unchanged", async () => {
  const file = new URL("../../tests/fixtures/helper/configuration.yml", import.meta.url).pathname;
  const config = await loadConfig(file);
  assert.equal(config.application.wake_interval, 10);
  assert.equal(config.daemon.user, "www-data");
  assert.equal(config.daemon.pidfile, "/var/run/my-app.pid");
  assert.ok(config.logging);
});

Deno.test("loadConfig() says which file is missing", async () => {
  await assert.rejects(() => loadConfig("/nonexistent/app.yml"), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, "config_not_found");
    assert.equal(error.exitCode, 2);
    assert.equal(error.message, 'Cannot load config "/nonexistent/app.yml": no such file');
    return true;
  });
});

Deno.test("loadConfig() turns a directory into a clear error", async () => {
  await assert.rejects(() => loadConfig("/tmp"), (error: unknown) => {
    assert.ok(error instanceof FlagstaffError);
    assert.equal(error.message, 'Cannot load config "/tmp": is a directory, not a file');
    return true;
  });
});

Deno.test("await parseConfig() reads the Signals and Actions sections", async () => {
  const config = await parseConfig(
    `Signals:
  usr1:
    - print: hi
    - exec: [systemctl, reload, nginx]
      timeout: 5
  hup: [reload, {delay_print: [x, 2]}, {stop: null}]
Actions:
  notify: ./notify.ts
`,
    "/etc/app.yml",
  );
  assert.deepEqual(config.signals.SIGUSR1, [
    {
      name: "print",
      args: ["hi"],
      timeout: undefined,
      origin: "/etc/app.yml line 3 (Signals.usr1[0])",
    },
    {
      name: "exec",
      args: ["systemctl", "reload", "nginx"],
      timeout: 5,
      origin: "/etc/app.yml line 4 (Signals.usr1[1])",
    },
  ]);
  assert.deepEqual(config.signals.SIGHUP?.map((u) => [u.name, u.args]), [
    ["reload", []],
    ["delay_print", ["x", "2"]],
    ["stop", []],
  ]);
  assert.equal(config.signals.SIGUSR2, undefined);
  assert.deepEqual(config.actions, { notify: "./notify.ts" });
});

Deno.test("await parseConfig() reports bad Signals and Actions entries with their keys", async () => {
  assert.deepEqual(
    await issuesOf(
      "Signals:\n  usr3: []\n  usr1: print\n  hup:\n    - {print: hi, log: x}\n    - {exec: ls, timeout: -2}\n    - 42 x\nActions:\n  b@d: ./x.ts\n  ok: 7\n",
    ),
    [
      '2:3 Signals.usr3 | unknown signal "usr3" (expected hup, usr1 or usr2)',
      '3:9 Signals.usr1 | expected a list of actions, got "print"',
      '5:7 Signals.hup.0 | expected one action name beside "timeout", got "print", "log"',
      "6:27 Signals.hup.1.timeout | expected a positive number of seconds, got -2",
      '7:7 Signals.hup.2 | expected an action name, got "42 x"',
      '9:3 Actions.b@d | expected an action name (letters, digits, _ and -), got "b@d"',
      "10:7 Actions.ok | expected a module path or URL, got 7",
    ],
  );
});

Deno.test("defaultConfig() is what an empty config file parses to", async () => {
  assert.deepEqual(defaultConfig(), await parseConfig("", ""));
});

Deno.test("validateConfigText() returns every issue with a best-effort config", async () => {
  const { config, issues } = await validateConfigText(
    "Application:\n  wake_interval: 0.001\n  mine: 1\nDaemon:\n  pidfile: [x]\n  umask: 28\n" +
      "  stop_timeout: soon\n  detach: maybe\n  user: no-such-user-flagstaff\n" +
      "Signals:\n  usr1: [{print: ok}, {print: x, timeout: 0}]\n",
    "/srv/app/app.yml",
  );
  assert.deepEqual(issues.map((i) => `${i.line} ${i.key}`), [
    "2 Application.wake_interval",
    "5 Daemon.pidfile",
    "6 Daemon.umask",
    "7 Daemon.stop_timeout",
    "8 Daemon.detach",
    "9 Daemon.user",
    "11 Signals.usr1.1.timeout",
  ]);
  // Invalid values are left out or at their default; valid ones are kept.
  assert.equal(config.file, "/srv/app/app.yml");
  assert.equal(config.application.wake_interval, 60);
  assert.equal(config.application.mine, 1);
  assert.deepEqual(config.daemon, { stop_timeout: 10, user: "no-such-user-flagstaff" });
  assert.deepEqual(config.signals.SIGUSR1?.map((use) => use.args), [["ok"]]);
  assert.ok(Object.isFrozen(config.daemon));
  await assert.rejects(() => parseConfig("Daemon:\n  umask: 28\n", "a.yml"), ConfigError);
});

Deno.test("validateConfigFile() throws only when the file cannot be read", async () => {
  await assert.rejects(() => validateConfigFile("/nonexistent/app.yml"), ConfigError);
  const file = await Deno.makeTempFile({ suffix: ".yml" });
  try {
    await Deno.writeTextFile(file, "Daemon:\n  stop_timeout: -1\n");
    const { issues } = await validateConfigFile(file);
    assert.deepEqual(issues.map((i) => [i.file, i.line, i.key]), [[
      file,
      2,
      "Daemon.stop_timeout",
    ]]);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("loadConfig() refuses an empty file only with allowEmpty: false", async () => {
  const file = await Deno.makeTempFile({ suffix: ".yml" });
  try {
    for (const text of ["", "\n  \n", "# only a comment\n", "---\n", "~\n"]) {
      await Deno.writeTextFile(file, text);
      assert.deepEqual(await loadConfig(file), { ...defaultConfig(), file }, JSON.stringify(text));
      await assert.rejects(() => loadConfig(file, { allowEmpty: false }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, "config_invalid");
        assert.equal(
          error.message,
          `Cannot load config "${file}": is empty (no sections, only whitespace or comments)`,
        );
        return true;
      });
    }
    // An explicit empty map was written on purpose: it is allowed.
    await Deno.writeTextFile(file, "{}\n");
    assert.equal((await loadConfig(file, { allowEmpty: false })).daemon.stop_timeout, 10);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("await parseConfig() reads Daemon.umask from its source text, as octal", async () => {
  const umask = async (written: string) =>
    (await parseConfig(`Daemon:\n  umask: ${written}\n`, "a.yml")).daemon.umask;
  for (const written of ["027", "27", "0o27", "0O27", '"027"', "'0o27'", "0027"]) {
    assert.equal(await umask(written), 0o27, written);
  }
  assert.equal(await umask("0"), 0);
  assert.equal(await umask("777"), 0o777);
  const bad = ["089", "28", "0o78", "0x1f", "1000", "01000", "-1", "1.5", "yes", "!!int 28"];
  for (const written of bad) {
    const [issue] = await issuesOf(`Daemon:\n  umask: ${written}\n`);
    assert.match(
      issue,
      /^2:\d+ Daemon\.umask \| expected an octal mode from 0 to 0777 such as 022, got /,
    );
    assert.ok(issue.endsWith(`got ${written.replace("!!int ", "")}`), issue);
  }
  assert.deepEqual(await issuesOf("Daemon:\n  umask: '28'\n  group: [a]\n"), [
    '2:10 Daemon.umask | expected an octal mode from 0 to 0777 such as 022, got "28"',
    "3:10 Daemon.group | expected a name or numeric id, got a list",
  ]);
});

Deno.test("await parseConfig() passes action arguments as written", async () => {
  const argsOf = async (value: string) => {
    const config = await parseConfig(`Signals:\n  usr1:\n    - exec: ${value}\n`, "a.yml");
    return config.signals.SIGUSR1![0].args;
  };
  const table: [string, string[]][] = [
    ["[chmod, 0755, file]", ["chmod", "0755", "file"]],
    ["yes", ["yes"]],
    ["12:30", ["12:30"]],
    ["022", ["022"]],
    ["1.10", ["1.10"]],
    ["1e3", ["1e3"]],
    ["0x1F", ["0x1F"]],
    ["2001-12-14", ["2001-12-14"]],
    ["[~, null, Null, off]", ["~", "null", "Null", "off"]],
    ['["0755", \'yes\', "a\\tb"]', ["0755", "yes", "a\tb"]],
    ["!!int 0755", ["493"]],
    ["|\n        two\n        lines", ["two\nlines\n"]],
    ["folded\n        plain", ["folded plain"]],
    ["&w 0755", ["0755"]],
    ["", []],
    ["~", []],
    ["null", []],
  ];
  for (const [value, args] of table) assert.deepEqual(await argsOf(value), args, value);
  const aliased = await parseConfig(
    "Application:\n  mode: &mode 0640\nSignals:\n  usr1: [{exec: [chmod, *mode, f]}]\n",
    "a.yml",
  );
  assert.deepEqual(aliased.signals.SIGUSR1![0].args, ["chmod", "0640", "f"]);
  assert.equal(aliased.application.mode, 0o640, "app keys keep YAML 1.1 typing");
});

Deno.test("await parseConfig() makes pidfile and log file paths absolute, from the config's folder", async () => {
  // No logger uses the file handlers: their folders need not exist (one in use must have its folder).
  const config = await parseConfig(
    `Daemon:
  pidfile: run/app.pid
Logging:
  handlers:
    a: &file {class: logging.FileHandler, filename: logs/a.log}
    b: *file
    c: {class: logging.handlers.RotatingFileHandler, filename: /var/log/c.log}
    d: {class: logging.StreamHandler}
  root: {handlers: [d]}
Application:
  shared: *file
`,
    "/srv/app/conf/app.yml",
  );
  assert.equal(config.daemon.pidfile, "/srv/app/conf/run/app.pid");
  const handlers = config.logging!.handlers as unknown as Record<string, Record<string, unknown>>;
  assert.equal(handlers.a.filename, "/srv/app/conf/logs/a.log");
  assert.equal(handlers.b.filename, "/srv/app/conf/logs/a.log");
  assert.equal(handlers.c.filename, "/var/log/c.log");
  assert.equal(handlers.d.filename, undefined);
  assert.deepEqual(config.application.shared, {
    class: "logging.FileHandler",
    filename: "logs/a.log",
  }, "the app's own keys are not paths flagstaff knows: untouched");
  const relative = await parseConfig("Daemon:\n  pidfile: app.pid\n", "conf/app.yml");
  assert.equal(relative.daemon.pidfile, `${Deno.cwd()}/conf/app.pid`);
  assert.equal(relative.file, "conf/app.yml");
});

Deno.test("await parseConfig() allows many aliases but refuses an alias bomb in linear time", async () => {
  const uses = Array.from({ length: 1000 }, () => "    - *item\n").join("");
  const many = await parseConfig(
    `Application:\n  item: &item {name: x, tags: [a, b]}\n  list:\n${uses}`,
    "a.yml",
  );
  assert.equal((many.application.list as unknown[]).length, 1000);

  let bomb = "Application:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (let level = 1; level < 30; level++) {
    bomb += `  l${level}: &l${level} [${Array(10).fill(`*l${level - 1}`).join(", ")}]\n`;
  }
  assert.deepEqual(await issuesOf(bomb), [
    `6:47 Application.l4.7 | aliases repeat more than ${MAX_ALIAS_NODES} nodes (an alias bomb?); ` +
    "write the values out, or use fewer aliases",
  ]);
  // YAML 1.1 merge keys work through aliases.
  const merged = await parseConfig("Application:\n  a: &a {x: 1}\n  b: {<<: *a, z: 2}\n", "a.yml");
  assert.deepEqual(merged.application.b, { x: 1, z: 2 });
  assert.deepEqual(await issuesOf("Daemon:\n  user: *who\n"), [
    '2:9 Daemon.user | alias "*who" has no anchor "&who" before it',
  ]);
  assert.deepEqual(await issuesOf("Application:\n  list: &l [1, *l]\n"), [
    '2:16 Application.list.1 | alias "*l" is inside the node it names (a config cannot contain itself)',
  ]);
});

Deno.test("await parseConfig() holds durations to their floors", async () => {
  assert.deepEqual(
    await issuesOf(
      "Application:\n  wake_interval: 0.009\nDaemon:\n  stop_timeout: .inf\n" +
        "Signals:\n  usr1: [{print: x, timeout: 0.0005}]\n",
    ),
    [
      "2:18 Application.wake_interval | expected at least 0.01 seconds, got 0.009",
      "4:17 Daemon.stop_timeout | expected a positive number of seconds, got Infinity",
      "6:30 Signals.usr1.0.timeout | expected at least 0.001 seconds, got 0.0005",
    ],
  );
  const config = await parseConfig(
    "Application:\n  wake_interval: 0.01\nDaemon:\n  stop_timeout: 0.001\n",
    "a.yml",
  );
  assert.deepEqual([config.application.wake_interval, config.daemon.stop_timeout], [0.01, 0.001]);
});

Deno.test("await parseConfig() looks up Daemon.user and Daemon.group", async () => {
  assert.deepEqual(
    await issuesOf("Daemon:\n  user: no-such-user-flagstaff\n  group: no-such-group-flagstaff\n"),
    [
      '2:9 Daemon.user | unknown user "no-such-user-flagstaff" (not in the user database)',
      '3:10 Daemon.group | unknown group "no-such-group-flagstaff" (not in the group database)',
    ],
  );
  assert.deepEqual(await issuesOf("Daemon:\n  user: 54321\n"), [
    "2:9 Daemon.user | uid 54321 has no entry in the user database, so Daemon.group is needed",
  ]);
  const numeric = await parseConfig("Daemon:\n  user: 54321\n  group: 0100\n", "a.yml");
  assert.deepEqual([numeric.daemon.user, numeric.daemon.group], ["54321", "0100"]);
  const named = await parseConfig("Daemon:\n  user: nobody\n  group: nogroup\n", "a.yml");
  assert.deepEqual([named.daemon.user, named.daemon.group], ["nobody", "nogroup"]);
});

Deno.test("await parseConfig() finds merged keys as js-yaml merges them: own keys, then the first merge", async () => {
  const argsOf = async (signals: string) => {
    const config = await parseConfig(
      `Application:\n  a: &a {print: x}\n  b: &b {print: y}\nSignals:\n  usr1: [${signals}]\n`,
      "a.yml",
    );
    return config.signals.SIGUSR1!.map((use) => use.args[0]);
  };
  assert.deepEqual(await argsOf("{<<: [*a, *b]}, {<<: *b, <<: *a}"), ["x", "y"]);
  assert.deepEqual(await argsOf("{print: z, <<: *a}, {<<: *a, print: '010'}"), ["z", "010"]);
  // Nested: a merged map's own merge key is followed too.
  const nested = await parseConfig(
    "Application:\n  a: &a {exec: [ls, 010]}\n  b: &b {<<: *a}\nSignals:\n  usr1: [{<<: *b}]\n",
    "a.yml",
  );
  assert.deepEqual(nested.signals.SIGUSR1![0].args, ["ls", "010"]);
});

Deno.test("await parseConfig() keys a !!set by value, a map by the string its key becomes", async () => {
  const config = await parseConfig("Application:\n  s: !!set {1, '1', ~}\n", "a.yml");
  assert.deepEqual([...(config.application.s as Set<unknown>)], [1, "1", null]);
  assert.deepEqual(await issuesOf("Application:\n  s: !!set {1, 0x1}\n  m: {1: a, 0x1: b}\n"), [
    '2:16 Application.s.1 | Map keys must be unique: "0x1" and "1" on line 2 are both the key "1"',
    '3:13 Application.m.1 | Map keys must be unique: "0x1" and "1" on line 3 are both the key "1"',
  ]);
});
