/**
 * Classic daemon, end to end: detach with a ready handshake, the pidfile
 * lock, status/stop/reload/signal, privilege drop as root, and PID 1 in a new
 * PID namespace.
 */
import assert from "node:assert/strict";
import { DEADLINE_MS, fileMatching, runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const PROBE = new URL("./fixtures/probe_controller.ts", import.meta.url).pathname;
const IS_ROOT = Deno.uid() === 0;

function appConfig(dir: string, extra: { application?: string; daemon?: string } = {}): string {
  return `Application:
  wake_interval: 0.05
  controller: ${PROBE}
${extra.application ?? ""}Daemon:
  pidfile: ${dir}/run/app.pid
${extra.daemon ?? ""}Logging:
  formatters: {plain: {format: '%(levelname)s %(name)s: %(message)s'}}
  handlers: {file: {class: file, filename: ${dir}/app.log, formatter: plain}}
  root: {level: INFO, handlers: [file]}
`;
}

Deno.test("--daemon: ready handshake, status, reload, stop, and the pidfile is gone", async () => {
  await using dir = await tempDir();
  const config = `${dir.path}/app.yml`;
  await writeFiles(dir.path, { "app.yml": appConfig(dir.path), "run/.keep": "" });
  const started = await runCli(["run", "-c", config, "--daemon"]);
  assert.deepEqual([started.code, started.stdout, started.stderr], [0, "", ""]);
  // Ready means set up: the pidfile exists and holds the daemon's pid.
  const pid = Number(await Deno.readTextFile(`${dir.path}/run/app.pid`));
  try {
    const status = await runCli(["status", "-c", config]);
    assert.equal(status.code, 0);
    assert.match(
      status.stdout,
      new RegExp(`^running as pid ${pid} \\(pidfile ${dir.path}/run/app.pid\\), up \\d+s\\n$`),
    );

    const reload = await runCli(["reload", "-c", config]);
    assert.deepEqual([reload.code, reload.stdout], [0, `sent SIGHUP to pid ${pid}\n`]);
    await fileMatching(`${dir.path}/app.log`, /INFO flagstaff.runtime: Config reloaded from/);

    const usr2 = await runCli(["signal", "-c", config, "USR2"]);
    assert.deepEqual([usr2.code, usr2.stdout], [0, `sent SIGUSR2 to pid ${pid}\n`]);
    await fileMatching(`${dir.path}/app.log`, /calling onSigusr2\(\)/);
  } finally {
    const stop = await runCli(["stop", "-c", config]);
    assert.deepEqual([stop.code, stop.stdout, stop.stderr], [0, `stopped pid ${pid}\n`, ""]);
  }
  await assert.rejects(() => Deno.stat(`${dir.path}/run/app.pid`), Deno.errors.NotFound);
  const after = await runCli(["status", "-c", config]);
  assert.deepEqual([after.code, after.stdout], [
    3,
    `not running (no pidfile ${dir.path}/run/app.pid)\n`,
  ]);
  const again = await runCli(["stop", "-c", config]);
  assert.deepEqual([again.code, again.stdout], [
    0,
    `not running (pidfile ${dir.path}/run/app.pid)\n`,
  ]);
  assert.match(
    await Deno.readTextFile(`${dir.path}/app.log`),
    /INFO flagstaff.runtime: Stopped app\n$/,
  );
});

Deno.test("--daemon: a start-up error reaches the parent and the errors file, with the child's exit code", async () => {
  await using dir = await tempDir();
  // The app is named after its config file. Its errors file goes to the first writable folder of
  // FLAGSTAFF_ERRORS_DIRS (by default /var/log, /var/tmp, /tmp): the test's own folder here.
  const name = "myapp";
  await writeFiles(dir.path, {
    [`${name}.yml`]: appConfig(dir.path, { application: "  setup_throws: true\n" }),
    "run/.keep": "",
    "errors/.keep": "",
  });
  const setup = await runCli(["run", "-c", `${dir.path}/${name}.yml`, "-d"], {
    env: { FLAGSTAFF_ERRORS_DIRS: `${dir.path}/missing:${dir.path}/errors` },
  });
  assert.equal(setup.code, 1);
  assert.equal(setup.stderr, "error: setup() failed: setup exploded\n");
  const text = await Deno.readTextFile(`${dir.path}/errors/${name}.errors`);
  assert.match(text, new RegExp(`${name} Exception \\[\\d{4}-`));
  assert.match(text, /Error: setup exploded\n\s+at .*probe_controller\.ts/);
  const missing = await runCli(["run", "--controller", `${dir.path}/nope.ts`, "-d"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: Cannot load controller ".*nope.ts": Module not found/);
});

Deno.test("--daemon: a process() that throws is logged, not appended to the errors file each tick", async () => {
  await using dir = await tempDir();
  const name = "ticker";
  await writeFiles(dir.path, {
    [`${name}.yml`]: appConfig(dir.path, { application: "  throw_on_tick: 2\n" }),
    "run/.keep": "",
    "errors/.keep": "",
  });
  const env = { FLAGSTAFF_ERRORS_DIRS: `${dir.path}/errors` };
  const started = await runCli(["run", "-c", `${dir.path}/${name}.yml`, "-d"], { env });
  assert.equal(started.code, 0, started.stderr);
  await fileMatching(`${dir.path}/app.log`, /ERROR [\w.]+: process\(\) failed: .*tick 2 exploded/);
  const stopped = await runCli(["stop", "-c", `${dir.path}/${name}.yml`]);
  assert.equal(stopped.code, 0, stopped.stderr);
  // The app went on after it: a handled error, in the log only.
  await assert.rejects(() => Deno.stat(`${dir.path}/errors/${name}.errors`), Deno.errors.NotFound);
});

Deno.test("the pidfile: a second instance is refused; a stale one is replaced", async () => {
  await using dir = await tempDir();
  const config = `${dir.path}/app.yml`;
  await writeFiles(dir.path, { "app.yml": appConfig(dir.path), "run/.keep": "" });
  {
    await using first = spawnCli(["run", "-c", config]);
    await fileMatching(`${dir.path}/app.log`, /Running app/);
    const second = await runCli(["run", "-c", config]);
    assert.equal(second.code, 2);
    assert.equal(
      second.stderr,
      `error: Already running as pid ${first.pid} (pidfile "${dir.path}/run/app.pid")\n`,
    );
    // Detached, the refusal reaches the parent, and the errors file keeps it as a refusal (its
    // code and message), not as a crash with a traceback.
    const errors = `${dir.path}/errors`;
    await Deno.mkdir(errors);
    const detached = await runCli(["run", "-c", config, "--daemon"], {
      env: { FLAGSTAFF_ERRORS_DIRS: errors },
    });
    assert.equal(detached.code, 2);
    assert.match(detached.stderr, /^error: Already running as pid \d+/);
    const block = await Deno.readTextFile(`${errors}/app.errors`);
    assert.match(block, /\napp Error \[\d{4}-/);
    assert.match(block, /\nExit code: 2 \(already_running\)\nerror: Already running as pid \d+/);
    assert.doesNotMatch(block, /Traceback|Exception|\n\s+at /);
    first.kill("SIGKILL"); // a crash: the pidfile stays, unlocked
    await first.finished();
  }
  assert.equal(Number(await Deno.readTextFile(`${dir.path}/run/app.pid`)) > 0, true);
  const status = await runCli(["status", "-c", config]);
  assert.equal(status.code, 3);
  assert.match(status.stdout, /^not running \(pidfile .* is stale: pid \d+ holds no lock\)\n$/);
  await Deno.writeTextFile(`${dir.path}/run/app.pid`, "garbage");
  await using next = spawnCli(["run", "-c", config]);
  const log = await fileMatching(`${dir.path}/app.log`, /Replaced stale pidfile/);
  assert.match(log, /Replaced stale pidfile .*app\.pid \(pid unknown no longer runs\)/);
  assert.equal(Number(await Deno.readTextFile(`${dir.path}/run/app.pid`)), next.pid);
  await next.signal("TERM");
  assert.equal((await next.finished()).code, 0);
});

Deno.test("stop --timeout fails on an instance that does not stop; --force kills it", async () => {
  await using dir = await tempDir();
  const pidfile = `${dir.path}/app.pid`;
  // Holds the pidfile like flagstaff does, but ignores TERM: only KILL ends it.
  await writeFiles(dir.path, {
    "stubborn.ts": `import { acquirePidfile } from "${
      new URL("../lib/os/pidfile.ts", import.meta.url).href
    }";
await acquirePidfile(${JSON.stringify(pidfile)});
Deno.addSignalListener("SIGTERM", () => console.log("TERM ignored"));
setInterval(() => {}, 1000);
console.log("holding");
`,
  });
  await using stubborn = spawnCli([], {
    main: `${dir.path}/stubborn.ts`,
    permissions: ["--allow-all"],
  });
  await stubborn.waitFor("holding");
  const slow = await runCli(["stop", "--pidfile", pidfile, "--timeout", "0.3"]);
  assert.equal(slow.code, 1);
  assert.equal(
    slow.stderr,
    `error: Pid ${stubborn.pid} is still running 0.3 s after TERM (use --force to send KILL)\n`,
  );
  await stubborn.waitFor("TERM ignored");
  const forced = await runCli(["stop", "--pidfile", pidfile, "--timeout", "0.3", "--force"]);
  assert.deepEqual([forced.code, forced.stdout], [0, `stopped pid ${stubborn.pid} (with KILL)\n`]);
  assert.equal((await stubborn.finished()).signal, "SIGKILL");
});

Deno.test("a second stop while flagstaff is stopping forces its exit (second TERM)", async () => {
  await using dir = await tempDir();
  const config = `${dir.path}/app.yml`;
  await writeFiles(dir.path, {
    "app.yml": appConfig(dir.path, {
      application: "  hang: true\n",
      daemon: "  stop_timeout: 60\n",
    }),
    "run/.keep": "",
  });
  await using app = spawnCli(["run", "-c", config]);
  await app.waitFor("process start 1");
  // The second TERM comes well over 0.5 s after the first: a deliberate one, which forces.
  const slow = await runCli(["stop", "-c", config, "--timeout", "0.8"]);
  assert.equal(slow.code, 1);
  const again = await runCli(["stop", "-c", config]);
  assert.deepEqual([again.code, again.stdout], [0, `stopped pid ${app.pid}\n`]);
  assert.equal((await app.finished()).code, 1, "a forced exit");
});

Deno.test({
  name:
    "as root, Daemon.user/group drop to nobody: Uid, Gid and Groups all change, the pidfile is removed",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    const group = (await Deno.readTextFile("/etc/group")).includes("\nnogroup:")
      ? "nogroup"
      : "nobody";
    await writeFiles(dir.path, {
      "app.yml": appConfig(dir.path, {
        daemon: `  user: nobody\n  group: ${group}\n  umask: 027\n`,
      }),
      "run/.keep": "",
    });
    const ids = (name: string, file: string) =>
      new TextDecoder().decode(new Deno.Command("id", { args: [name, file] }).outputSync().stdout)
        .trim();
    const uid = ids("-u", "nobody");
    const gid = new TextDecoder().decode(
      new Deno.Command("getent", { args: ["group", group] }).outputSync().stdout,
    )
      .split(":")[2];
    // The pidfile's folder stays root's (root refuses one another user can change); the log file
    // is nobody's, who opens it after the drop. nobody reads the config's folder (its actions/
    // folder, the config again on reload).
    await Deno.chmod(dir.path, 0o755);
    await Deno.writeTextFile(`${dir.path}/app.log`, "");
    await new Deno.Command("chown", { args: [`nobody:${group}`, `${dir.path}/app.log`] }).output();
    await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
    await fileMatching(`${dir.path}/app.log`, /Running as uid \d+, gid \d+/);
    await app.waitFor("process end 1");
    const status = new TextDecoder().decode(
      (await new Deno.Command("cat", { args: [`/proc/${app.pid}/status`] }).output()).stdout,
    );
    const line = (key: string) =>
      status.match(new RegExp(`^${key}:\\s*(.*)$`, "m"))![1].trim().split(/\s+/);
    assert.deepEqual(line("Uid"), [uid, uid, uid, uid]);
    assert.deepEqual(line("Gid"), [gid, gid, gid, gid]);
    assert.deepEqual(line("Groups"), [gid]);
    assert.equal(line("Umask")[0], "0027");
    const log = await Deno.stat(`${dir.path}/app.log`);
    assert.equal(String(log.uid), uid, "the log file belongs to the new user");
    // The dropped daemon cannot remove its pidfile from root's folder: `stop` does.
    assert.deepEqual(
      await runCli(["stop", "-c", `${dir.path}/app.yml`]).then((r) => [r.code, r.stdout, r.stderr]),
      [0, `stopped pid ${app.pid}\n`, ""],
    );
    assert.equal((await app.finished()).code, 0);
    await assert.rejects(() => Deno.stat(`${dir.path}/run/app.pid`), Deno.errors.NotFound);
  },
});

Deno.test({
  name: "as PID 1 in a new PID namespace: orphans are reaped and TERM stops it",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await writeFiles(dir.path, {
      "app.yml": `Signals:
  usr2:
    - exec: [sh, -c, "sleep 0.2 & exit 0"]
  hup:
    - exec: [ps, -eo, "pid=,stat=,comm="]
`,
    });
    await using outer = spawnCli(["run", "-c", `${dir.path}/app.yml`], {
      wrapper: ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"],
    });
    await outer.waitFor("Running as PID 1: reaping orphaned processes");
    await outer.waitFor("Running 2 action(s)");
    // The flagstaff inside is unshare's child; signal it by its pid out here.
    const inner = Number(
      new TextDecoder().decode(
        new Deno.Command("pgrep", { args: ["-P", String(outer.pid)] }).outputSync().stdout,
      ),
    );
    assert.ok(inner > 1);
    Deno.kill(inner, "SIGUSR2");
    await outer.waitFor(/exec "sh -c 'sleep 0\.2 & exit 0'" exited with code 0/);
    // The sh exited, leaving `sleep` to PID 1. Ask ps (via HUP) until it is gone:
    // running first, then a zombie unless PID 1 reaps it.
    let table = "";
    for (let round = 0; round < 200; round++) {
      Deno.kill(inner, "SIGHUP");
      await outer.waitFor(/exec "ps -eo pid=,stat=,comm=" output \(\d+ lines?\):\n/);
      table = (await outer.waitFor(/(?:^ {2}.*\n)+/m)).trim();
      if (!/sleep/.test(table)) break;
    }
    // PID 1 is flagstaff, alive (sleeping, or running when the machine is busy), not a zombie.
    assert.match(table, /^1 [SR]\S* +deno$/m, `flagstaff is PID 1:\n${table}`);
    assert.doesNotMatch(table, /sleep/, "the orphan was reaped");
    assert.doesNotMatch(table, /^\d+ Z/m, "no zombie is left");
    Deno.kill(inner, "SIGTERM");
    const result = await outer.finished();
    assert.equal(result.code, 0, result.stderr.slice(-1500));
    assert.match(result.stderr, /Received SIGTERM: stopping/);
  },
});

const LIB = new URL("../lib/os/", import.meta.url).href;

/** A folder that `nobody` can read, with a Deno cache it can write. */
async function nobodyDir(): Promise<AsyncDisposable & { path: string }> {
  const dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  await Deno.mkdir(`${dir.path}/cache`);
  await new Deno.Command("chown", { args: ["nobody", `${dir.path}/cache`] }).output();
  return dir;
}

/** Whether process `pid` exists (`kill -0`). */
async function alive(pid: number): Promise<boolean> {
  return (await new Deno.Command("kill", { args: ["-0", String(pid)], stderr: "null" }).output())
    .success;
}

/** Kills process `pid` with KILL on dispose if it still runs: nothing outlives a failed test. */
function killedOnDispose(pid: number): AsyncDisposable {
  return {
    async [Symbol.asyncDispose]() {
      if (await alive(pid)) Deno.kill(pid, "SIGKILL");
    },
  };
}

/** Writes `text` to `file` at once (a reader never sees it half written). */
async function writeAtomically(file: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${file}.tmp`, text);
  await Deno.rename(`${file}.tmp`, file);
}

Deno.test({
  name:
    "--daemon: handshake messages from another user are ignored; the parent reports the child's real outcome",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await nobodyDir();
    // setup() says it waits, then waits for `go`: "fail" throws, anything else gets ready.
    await writeFiles(dir.path, {
      "gate.ts": `export default class Gate {
  async setup(context: { config: { application: { gate: string } } }) {
    const folder = context.config.application.gate;
    await Deno.writeTextFile(\`\${folder}/waiting\`, String(Deno.pid));
    let go: string | undefined;
    const deadline = Date.now() + ${DEADLINE_MS};
    while ((go = await Deno.readTextFile(\`\${folder}/go\`).catch(() => undefined)) === undefined) {
      if (Date.now() > deadline) throw new Error("no go file within the deadline");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (go === "fail") throw new Error("the real failure");
  }
  process() {}
}
`,
      // The attacker: finds the parent's handshake socket in /proc/net/unix, as any user can,
      // and sends a forged error, then READY=1.
      "attack.ts": `import { notifierFromEnv } from "${LIB}notify.ts";
const prefix = \`@flagstaff-ready-\${Deno.args[0]}-\`;
const address = (await Deno.readTextFile("/proc/net/unix")).split("\\n")
  .map((line) => line.trim().split(/\\s+/)[7]).find((name) => name?.startsWith(prefix));
if (!address) throw new Error(\`no \${prefix}* in /proc/net/unix\`);
const notifier = notifierFromEnv({ NOTIFY_SOCKET: address })!;
const sent = [notifier.send("FLAGSTAFF_ERROR=forged by nobody\\nEXIT_CODE=7"), notifier.send("READY=1")];
console.log(\`uid \${Deno.uid()} sent \${sent} to \${address}\`);
`,
    });
    await Deno.chmod(`${dir.path}/attack.ts`, 0o644);
    for (const outcome of ["fail", "ok"]) {
      const folder = `${dir.path}/${outcome}`;
      await writeFiles(dir.path, {
        [`${outcome}/app.yml`]: `Application:
  controller: ${dir.path}/gate.ts
  wake_interval: 0.05
  gate: ${folder}
Daemon:
  pidfile: ${folder}/app.pid
`,
      });
      await using parent = spawnCli(["run", "-c", `${folder}/app.yml`, "-d"]);
      const childPid = Number(await fileMatching(`${folder}/waiting`, /^\d+$/));
      await using _daemon = killedOnDispose(childPid);
      const attack = await new Deno.Command("setpriv", {
        args: [
          "--reuid=nobody",
          "--regid=nogroup",
          "--clear-groups",
          Deno.execPath(),
          "run",
          "--no-config",
          "--allow-all",
          `${dir.path}/attack.ts`,
          String(parent.pid),
        ],
        env: { DENO_DIR: `${dir.path}/cache`, NO_COLOR: "1" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(attack.stdout);
      assert.equal(attack.code, 0, new TextDecoder().decode(attack.stderr));
      assert.match(
        said,
        new RegExp(`^uid 65534 sent true,true to @flagstaff-ready-${parent.pid}-`),
      );
      // Only now may the real child finish its setup: the forged READY=1 came first.
      await writeAtomically(`${folder}/go`, outcome);
      const result = await parent.finished();
      if (outcome === "fail") {
        assert.deepEqual([result.code, result.stderr], [
          1,
          "error: setup() failed: the real failure\n",
        ]);
      } else {
        // Nothing but the note that a console log is lost once detached.
        assert.deepEqual([
          result.code,
          result.stderr.replace(/^warning: the daemon's log goes to the console.*\n/m, ""),
        ], [0, ""]);
        const stop = await runCli(["stop", "--pidfile", `${folder}/app.pid`]);
        assert.deepEqual([stop.code, stop.stdout], [0, `stopped pid ${childPid}\n`]);
      }
    }
  },
});

/** Busy processes that load the CPU until disposed (killed and reaped). */
function busyLoops(count: number): AsyncDisposable {
  const loops = Array.from({ length: count }, () =>
    new Deno.Command("sh", {
      args: ["-c", "while :; do :; done"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn());
  return {
    async [Symbol.asyncDispose]() {
      for (const loop of loops) loop.kill("SIGKILL");
      await Promise.all(loops.map((loop) => loop.status));
    },
  };
}

Deno.test("--daemon: under CPU load, the child's start-up error always reaches the parent", async () => {
  await using dir = await tempDir();
  await using _load = busyLoops(2);
  const lost: string[] = [];
  for (let attempt = 1; attempt <= 10; attempt++) {
    const result = await runCli(["run", "--controller", `${dir.path}/nope.ts`, "-d"]);
    const expected = /^error: Cannot load controller ".*nope\.ts": Module not found/;
    if (result.code !== 2 || !expected.test(result.stderr)) {
      lost.push(`try ${attempt}: code ${result.code}, ${result.stderr.trim()}`);
    }
  }
  assert.deepEqual(lost, [], `${lost.length} of 10 lost the error`);
});

Deno.test("--daemon: a child that is not ready in time and ignores TERM is killed and reaped", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    // The parent side of `run -d` with a 1 s handshake timeout and 0.5 s to stop after TERM.
    "main.ts": `import { detach, isDetachedChild } from "${LIB}daemon.ts";
import { runCli } from "${LIB}../cli/main.ts";
Deno.exit(
  isDetachedChild() ? await runCli(Deno.args) : await detach(Deno.args, {
    timeoutMs: 1000,
    stopTimeoutMs: 500,
    printError: (message) => console.error(\`error: \${message}\`),
  }),
);
`,
    // Never finishes loading, and ignores TERM: only KILL ends it.
    "stubborn.ts": `Deno.addSignalListener("SIGTERM", () => {});
await Deno.writeTextFile(${JSON.stringify(`${dir.path}/stubborn.pid`)}, String(Deno.pid));
await new Promise(() => setInterval(() => {}, 1000));
export default class Never {
  process() {}
}
`,
  });
  const result = await runCli(["run", "--controller", `${dir.path}/stubborn.ts`], {
    main: `${dir.path}/main.ts`,
  });
  const pid = Number(await Deno.readTextFile(`${dir.path}/stubborn.pid`));
  await using _child = killedOnDispose(pid);
  assert.equal(await alive(pid), false, `pid ${pid} was left behind`);
  assert.deepEqual([result.code, result.stderr], [
    1,
    `error: the daemon (pid ${pid}) did not get ready within 1 s: stopping it\n`,
  ]);
});

Deno.test("--daemon: Ctrl-C on the waiting parent stops the half-started child, exit 1", async () => {
  await using dir = await tempDir();
  const gate = `${dir.path}/gate`;
  const config = `${dir.path}/app.yml`;
  await writeFiles(dir.path, {
    "app.yml": appConfig(dir.path, {
      application: `  setup_wait_file: ${gate}\n`,
      daemon: "  stop_timeout: 1\n",
    }),
    "run/.keep": "",
  });
  await using parent = spawnCli(["run", "-c", config, "--daemon"]);
  // The child is up far enough to hold its pidfile, and waits in setup() for a gate never opened.
  await fileMatching(`${dir.path}/app.log`, /Starting app/);
  const pid = Number((await Deno.readTextFile(`${dir.path}/run/app.pid`)).trim());
  assert.ok(pid > 1);
  await using _child = killedOnDispose(pid);
  await parent.signal("INT");
  const result = await parent.finished();
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(
      `^error: Interrupted: stopping the daemon \\(pid ${pid}\\), which was not ready yet\\n$`,
    ),
  );
  assert.equal(await alive(pid), false, "the half-started daemon is gone");
  const status = await runCli(["status", "-c", config]);
  assert.equal(status.code, 3, status.stdout);
});

Deno.test("--daemon says what the daemon will lack: a pidfile to find it by, a log other than the console", async () => {
  await using dir = await tempDir();
  const log = `${dir.path}/app.log`;
  await writeFiles(dir.path, {
    // A file log, no pidfile.
    "nopid.yml": "Signals:\n  usr1: [{print: hi}]\nLogging:\n  handlers:\n" +
      `    file: {class: logging.FileHandler, filename: ${log}}\n  root: {level: INFO, handlers: [file]}\n`,
    // A pidfile, the console log only.
    "console.yml": "Daemon:\n  pidfile: app.pid\nSignals:\n  usr1: [{print: hi}]\n",
  });
  const nopid = await runCli(["run", "-c", `${dir.path}/nopid.yml`, "--daemon"]);
  assert.equal(nopid.code, 0, nopid.stderr);
  assert.equal(
    nopid.stderr,
    "warning: detaching without a pidfile: status, stop and reload cannot find the daemon " +
      "(set Daemon.pidfile, or give --pidfile FILE)\n",
  );
  const pid = Number(
    (await fileMatching(log, /Starting nopid \(pid (\d+)\)/)).match(/pid (\d+)/)![1],
  );
  Deno.kill(pid, "SIGTERM");
  await fileMatching(log, /Stopped nopid/);
  const status = await runCli(["status", "-c", `${dir.path}/nopid.yml`]);
  assert.equal(status.code, 2);
  assert.equal(
    status.stderr,
    `error: No pidfile: ${dir.path}/nopid.yml has no Daemon.pidfile; give --pidfile FILE\n`,
  );

  const quiet = await runCli(["run", "-c", `${dir.path}/console.yml`, "--daemon"]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.match(
    quiet.stderr,
    /^warning: the daemon's log goes to the console, which it no longer has \(its stderr is \/dev\/null\)/,
  );
  const stop = await runCli(["stop", "-c", `${dir.path}/console.yml`]);
  assert.equal(stop.code, 0, stop.stderr);
});
