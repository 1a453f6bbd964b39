/**
 * End-to-end tests of the `Logging` section: helper configs ported unchanged
 * write what they name, and a bad section on reload keeps the old logging.
 */
import assert from "node:assert/strict";
import { fileMatching, runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const PROBE = new URL("./fixtures/probe_controller.ts", import.meta.url).pathname;
const HELPER_DOC_CONFIG = new URL("./fixtures/helper/configuration.yml", import.meta.url).pathname;

Deno.test("a ported helper Logging section writes the file it names", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/app.log`;
  await writeFiles(dir.path, {
    "app.yml": `Application:
  wake_interval: 0.05
  controller: ${PROBE}
Logging:
  version: 1
  formatters:
    verbose:
      format: '%(levelname) -10s %(asctime)s %(process)-6d %(name) -10s: %(message)s'
      datefmt: '%Y-%m-%d %H:%M:%S'
  handlers:
    file:
      class: logging.handlers.RotatingFileHandler
      formatter: verbose
      filename: ${log}
      maxBytes: 1048576
      backupCount: 2
  loggers:
    helper:
      handlers: [file]
      level: INFO
      propagate: true
    app:
      handlers: [file]
      level: DEBUG
  disable_existing_loggers: true
  incremental: false
`,
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  const text = await fileMatching(log, /Running app: process\(\) every 0.05 s/);
  const pid = app.pid;
  assert.match(
    text,
    new RegExp(
      `^INFO {7}\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${pid} +flagstaff.runtime: Starting app \\(pid ${pid}\\)$`,
      "m",
    ),
  );
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.match(await Deno.readTextFile(log), /flagstaff.runtime: Stopped app\n$/);
  assert.doesNotMatch(
    result.stderr,
    /flagstaff.runtime/,
    "the file handler took the runtime's lines",
  );
});

Deno.test("helper's documented config logs in its verbose format in the foreground", async () => {
  await using app = spawnCli(["run", "-c", HELPER_DOC_CONFIG, "--controller", PROBE]);
  // The documented `verbose:` sits beside `formatters: []`, where helper ignores it, so
  // helper's built-in `verbose` applies: level, time, pid, process, thread, logger, function, line.
  const line = await app.waitFor(/Starting configuration/, { stream: "stderr" });
  assert.match(
    line,
    new RegExp(
      `^INFO {7}\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${app.pid} +flagstaff +MainThread +flagstaff.runtime +#start +L\\d+ +: Starting configuration \\(pid ${app.pid}\\)$`,
    ),
  );
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("a Logging section that fails on reload keeps the previous logging", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/app.log`;
  const config = (filename: string, greeting: string) =>
    `Application:
  wake_interval: 0.05
  controller: ${PROBE}
  greeting: ${greeting}
Logging:
  handlers:
    file: {class: logging.FileHandler, filename: '${filename}', formatter: plain}
  formatters:
    plain: {format: '%(levelname)s %(name)s: %(message)s'}
  root: {level: INFO, handlers: [file]}
`;
  await writeFiles(dir.path, { "app.yml": config(log, "one") });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await fileMatching(log, /Running app/);
  await Deno.writeTextFile(`${dir.path}/app.yml`, config(`${dir.path}/no/such/dir/app.log`, "two"));
  await app.signal("HUP");
  const text = await fileMatching(
    log,
    /ERROR flagstaff.runtime: Reload failed, keeping the running config: /,
  );
  // The config's validation (shared by check, run and reload) refuses it, naming line and key.
  assert.match(
    text,
    /Reload failed, keeping the running config: Cannot load config ".*app\.yml": line 7, column \d+, key "Logging\.handlers\.file\.filename": cannot open this log file: its folder ".*no\/such\/dir" does not exist/,
  );
  await app.waitFor(/process end \d+ greeting=one/);
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.match(await Deno.readTextFile(log), /INFO flagstaff.runtime: Stopped app\n$/);
  assert.doesNotMatch(result.stdout, /greeting=two/);
});

Deno.test("a Python conversion flagstaff does not take is a config error naming line and key", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": `Signals:
  usr1: [{print: hi}]
Logging:
  formatters:
    hex:
      format: '%(levelno)#x %(message)s'
  handlers:
    console: {class: logging.StreamHandler, formatter: hex}
  root: {level: INFO, handlers: [console]}
`,
  });
  const result = await runCli(["check", "-c", `${dir.path}/app.yml`]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /line 6, column 15, key "Logging\.formatters\.hex\.format": "%\(levelno\)#x" is not supported: flagstaff takes %\(field\)s, %\(field\)d and %\(field\)f/,
  );
});
