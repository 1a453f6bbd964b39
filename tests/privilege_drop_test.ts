/**
 * Safe to run as root: the umask comes before the first file, user code
 * (controller and action modules) is imported only after the privilege drop,
 * what a reload needs after the drop still loads, and a log folder that
 * `Daemon.user` cannot write is said at start, not found at the first
 * rotation. Real processes, a real second user (`nobody`).
 */
import assert from "node:assert/strict";
import { fileMatching, runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const IS_ROOT = Deno.uid?.() === 0 ||
  new TextDecoder().decode(new Deno.Command("id", { args: ["-u"] }).outputSync().stdout).trim() ===
    "0";
const NOBODY_GROUP = (await Deno.readTextFile("/etc/group")).includes("\nnogroup:")
  ? "nogroup"
  : "nobody";
const NOBODY_UID = new TextDecoder().decode(
  new Deno.Command("id", { args: ["-u", "nobody"] }).outputSync().stdout,
).trim();

/** Module source whose top-level code prints the uid it runs as (`id -u`). */
function uidProbe(label: string, body: string): string {
  return `const id = new TextDecoder().decode(new Deno.Command("id", { args: ["-u"] }).outputSync().stdout).trim();
console.log("${label} top-level uid=" + id);
${body}
`;
}

Deno.test({
  name:
    "as root with Daemon.user, controller and action modules run their top-level code as that user",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o755);
    await writeFiles(dir.path, {
      "controller.ts": uidProbe("controller", "export default class C { process() {} }"),
      "actions/probe.ts": uidProbe("action", "export default class P { run() {} }"),
      "app.yml": `Application:
  controller: ./controller.ts
  wake_interval: 60
Daemon:
  user: nobody
  group: ${NOBODY_GROUP}
Signals:
  usr1: [probe]
`,
    });
    await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
    await app.waitFor("Running app: process() every 60 s");
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^controller top-level uid=${NOBODY_UID}$`, "m"));
    assert.match(result.stdout, new RegExp(`^action top-level uid=${NOBODY_UID}$`, "m"));
    assert.doesNotMatch(result.stdout, /top-level uid=0$/m);
  },
});

Deno.test("Daemon.umask applies to the first files flagstaff creates: log file and pidfile", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": `Daemon:
  umask: 077
  pidfile: app.pid
Logging:
  handlers:
    file: {class: logging.FileHandler, filename: app.log}
  root: {level: INFO, handlers: [file]}
`,
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`, "--usr2", "print", "x"]);
  await app.waitFor("init", { stream: "stdout" });
  // Ready: the pidfile and the log file exist.
  await fileMatching(`${dir.path}/app.log`, /Running/);
  assert.equal((await Deno.stat(`${dir.path}/app.pid`)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(`${dir.path}/app.log`)).mode! & 0o777, 0o600);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test({
  name: "as root, a rotating log in a folder Daemon.user cannot write is refused by check and run",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o755);
    await Deno.mkdir(`${dir.path}/logs`, { mode: 0o755 });
    await writeFiles(dir.path, {
      "app.yml": `Daemon:
  user: nobody
  group: ${NOBODY_GROUP}
Logging:
  handlers:
    file:
      class: logging.handlers.RotatingFileHandler
      filename: logs/app.log
      maxBytes: 1000
      backupCount: 2
  root: {level: INFO, handlers: [file]}
Signals:
  usr1: [{print: x}]
`,
    });
    const message = `error: Cannot load config "${dir.path}/app.yml": line 8, column 17, ` +
      `key "Logging.handlers.file.filename": Daemon.user "nobody" cannot write the folder ` +
      `"${dir.path}/logs", which it needs to rotate this log file: log files are opened after ` +
      "privileges are dropped";
    for (const command of ["check", "run"]) {
      const result = await runCli([command, "-c", `${dir.path}/app.yml`]);
      assert.equal(result.code, 2, `${command}: ${result.stderr}`);
      assert.ok(result.stderr.startsWith(message), `${command}: ${result.stderr}`);
    }
    // Given the folder, it runs, and rotation works after the drop.
    await new Deno.Command("chown", { args: [`nobody:${NOBODY_GROUP}`, `${dir.path}/logs`] })
      .output();
    const ok = await runCli(["check", "-c", `${dir.path}/app.yml`]);
    assert.equal(ok.code, 0, ok.stderr);
  },
});

Deno.test({
  name: "as root with Daemon.user, a reload that adds a file handler still works after the drop",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o755);
    await Deno.mkdir(`${dir.path}/logs`);
    await new Deno.Command("chown", { args: [`nobody:${NOBODY_GROUP}`, `${dir.path}/logs`] })
      .output();
    const base =
      `Daemon:\n  user: nobody\n  group: ${NOBODY_GROUP}\nSignals:\n  usr1: [{log: [info, hello after reload]}]\n`;
    await writeFiles(dir.path, { "app.yml": base });
    await Deno.chmod(`${dir.path}/app.yml`, 0o644);
    await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
    await app.waitFor("Running 1 action(s)");
    // The first config logs to stderr only: @logtape/file was not needed before the drop.
    await Deno.writeTextFile(
      `${dir.path}/app.yml`,
      base + `Logging:
  handlers:
    file: {class: logging.handlers.RotatingFileHandler, filename: logs/app.log, maxBytes: 100000, backupCount: 2}
  root: {level: INFO, handlers: [file]}
`,
    );
    await app.signal("HUP");
    // From the reload on, flagstaff logs to the new file.
    await fileMatching(`${dir.path}/logs/app.log`, /reloaded/);
    assert.doesNotMatch(app.stderr, /Reload failed/);
    await app.signal("USR1");
    await fileMatching(`${dir.path}/logs/app.log`, /hello after reload/);
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
  },
});

Deno.test({
  name: "as root, check and list -c also import user code only after the drop to Daemon.user",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o755);
    await writeFiles(dir.path, {
      "controller.ts": uidProbe("controller", "export default class C { process() {} }"),
      "actions/probe.ts": uidProbe("action", "export default class P { run() {} }"),
      "app.yml": `Application:
  controller: ./controller.ts
Daemon:
  user: nobody
  group: ${NOBODY_GROUP}
Signals:
  usr1: [probe]
`,
    });
    for (const command of ["check", "list"]) {
      const result = await runCli([command, "-c", `${dir.path}/app.yml`]);
      assert.equal(result.code, 0, `${command}: ${result.stderr}`);
      assert.doesNotMatch(result.stdout, /top-level uid=0$/m, command);
      assert.match(result.stdout, new RegExp(`^action top-level uid=${NOBODY_UID}$`, "m"), command);
    }
  },
});

Deno.test({
  name: "as root with Daemon.user, log files are opened by that user: a planted link is refused",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o755);
    await Deno.mkdir(`${dir.path}/logs`);
    await new Deno.Command("chown", { args: [`nobody:${NOBODY_GROUP}`, `${dir.path}/logs`] })
      .output();
    const victim = `${dir.path}/victim`;
    await Deno.writeTextFile(victim, "root's\n", { mode: 0o600 });
    await writeFiles(dir.path, {
      "app.yml": `Daemon:
  user: nobody
  group: ${NOBODY_GROUP}
Logging:
  handlers:
    file: {class: logging.handlers.RotatingFileHandler, filename: logs/app.log, maxBytes: 100000, backupCount: 2}
  root: {level: INFO, handlers: [file]}
Signals:
  usr1: [{print: x}]
`,
    });
    // Without an attack the file is created by nobody, after the drop.
    await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
    await app.waitFor("init", { stream: "stdout" });
    await fileMatching(`${dir.path}/logs/app.log`, /Running/);
    assert.equal(String((await Deno.stat(`${dir.path}/logs/app.log`)).uid), NOBODY_UID);
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
    // A log file only root may write, in nobody's folder: root would have opened it (and a swap
    // between the check and the open would hand root's descriptor to a file nobody chose).
    // Opened by nobody, it cannot be: refused at start, naming the handler.
    await Deno.writeTextFile(`${dir.path}/logs/app.log`, "", { mode: 0o644 });
    await new Deno.Command("chown", { args: ["root:root", `${dir.path}/logs/app.log`] }).output();
    const rootOwned = await runCli(["run", "-c", `${dir.path}/app.yml`]);
    assert.equal(rootOwned.code, 2, rootOwned.stderr);
    assert.match(
      rootOwned.stderr,
      /key "Logging\.handlers\.file\.filename": Daemon\.user "nobody" cannot write/,
    );
    // nobody plants a link to a root file where the log goes: it is refused, the file untouched.
    await Deno.remove(`${dir.path}/logs/app.log`);
    await new Deno.Command("setpriv", {
      args: [
        "--reuid=nobody",
        `--regid=${NOBODY_GROUP}`,
        "--clear-groups",
        "ln",
        "-s",
        victim,
        `${dir.path}/logs/app.log`,
      ],
    }).output();
    const refused = await runCli(["run", "-c", `${dir.path}/app.yml`]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /Daemon\.user "nobody" cannot write this log file|symbolic link/);
    assert.equal(await Deno.readTextFile(victim), "root's\n");
  },
});

Deno.test({
  name: "as root without a drop, a log file in a folder another user can change is refused",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.mkdir(`${dir.path}/logs`);
    await new Deno.Command("chown", { args: ["nobody", `${dir.path}/logs`] }).output();
    await writeFiles(dir.path, {
      "app.yml": `Logging:
  handlers:
    file: {class: file, filename: logs/app.log}
  root: {level: INFO, handlers: [file]}
Signals:
  usr1: [{print: x}]
`,
    });
    const result = await runCli(["run", "-c", `${dir.path}/app.yml`]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `Cannot use log file "${dir.path}/logs/app\\.log" as root: its folder "${dir.path}/logs" can be changed by another user`,
      ),
    );
  },
});
