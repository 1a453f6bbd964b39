import assert from "node:assert/strict";
import { defaultConfig, loadConfig, parseConfig } from "./config.ts";
import { ConfigError, FlagstaffError } from "./errors.ts";

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
    '6:3 Daemon.colour | unknown key "colour" (expected one of user, group, pidfile, umask, prevent_core, stop_timeout, detach)',
    '7:1 Extra | unknown section "Extra" (expected Application, Daemon, Logging, Signals, Actions)',
  ]);
});

Deno.test("await parseConfig() reports malformed YAML with line and column", async () => {
  const [issue] = await issuesOf("Application:\n  wake_interval: 1\n  bad: [1, 2\n");
  assert.match(issue, /^4:1 {2}\| /);
  const [dup] = await issuesOf("Daemon:\n  user: a\n  user: b\n");
  assert.match(dup, /^3:3 {2}\| Map keys must be unique/);
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
    "1:1  | expected a map of sections (Application, Daemon, Logging, Signals, Actions), got a list",
  ]);
});

Deno.test("loadConfig() loads helper's documented example unchanged", async () => {
  const file = new URL("../tests/fixtures/helper/configuration.yml", import.meta.url).pathname;
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
