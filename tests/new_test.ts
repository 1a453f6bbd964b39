/**
 * `flagstaff new`, tested by using what it writes (STYLE rule 14): generate a
 * project into a temp folder, run its own `check` and `test` tasks, start it
 * with its `start` task's command, signal it, stop it with TERM; drive it
 * through its init script as a daemon.
 */
import assert from "node:assert/strict";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";
import { ROOT, runCli, spawnCli, tempDir } from "./_helpers.ts";

/** The generated project imports this checkout's lib/mod.ts. */
const FLAGSTAFF = new URL("lib/mod.ts", `file://${ROOT}`).href;

/** Generates a project with the real CLI, as a user would. */
async function generate(name: string, dir: string, flagstaff = FLAGSTAFF): Promise<string> {
  const made = await runCli(["new", name, "--dir", dir, "--flagstaff", flagstaff]);
  assert.equal(made.code, 0, made.stderr);
  assert.match(
    made.stdout,
    new RegExp(`^Created ${name} in ${dir}:\\n(  \\S+\\n)+Next: cd ${dir} && deno task start`),
  );
  return dir;
}

/** Runs a command to completion; returns its code and its stdout and stderr together. */
async function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return { code, output: `${text.decode(stdout)}${text.decode(stderr)}` };
}

/** The generated `start` task's command, split into `deno run`'s flags and the app's arguments. */
async function startTask(project: string): Promise<{ permissions: string[]; args: string[] }> {
  const config = JSON.parse(await Deno.readTextFile(`${project}/deno.json`));
  const words: string[] = config.tasks.start.command.split(" ");
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  const main = words.indexOf("main.ts");
  return { permissions: words.slice(2, main), args: words.slice(main + 1) };
}

Deno.test("a new project passes its own check and test tasks, runs, reloads and stops", async () => {
  await using dir = await tempDir();
  const project = await generate("my-app", `${dir.path}/my-app`);

  const check = await run(Deno.execPath(), ["task", "check"], { cwd: project });
  assert.equal(check.code, 0, `deno task check:\n${check.output}`);
  const test = await run(Deno.execPath(), ["task", "test"], { cwd: project });
  assert.equal(test.code, 0, `deno task test:\n${test.output}`);
  assert.match(test.output, /ok \| 6 passed \| 0 failed/);

  const { permissions, args } = await startTask(project);
  assert.deepEqual(permissions, PERMISSION_FLAGS);
  assert.deepEqual(args, ["-c", "etc/my-app.yml", "-f"]);
  await using app = spawnCli(args, { main: "main.ts", cwd: project, permissions });
  await app.waitFor(/my-app\s+: setup invoked/, { stream: "stderr" });
  await app.waitFor(/my-app\s+: process invoked/, { stream: "stderr" });
  await app.signal("USR2");
  await app.waitFor("hello, world (SIGUSR2)\n", { stream: "stdout" });

  const config = `${project}/etc/my-app.yml`;
  const text = await Deno.readTextFile(config);
  assert.match(text, /^ {2}wake_interval: 10$/m);
  await Deno.writeTextFile(
    config,
    text.replace(/^ {2}wake_interval: 10$/m, "  wake_interval: 0.05"),
  );
  await app.signal("HUP");
  await app.waitFor(`Config reloaded from ${config}`, { stream: "stderr" });
  await app.waitFor("configuration reloaded, wake_interval is 0.05 s", { stream: "stderr" });
  await app.waitFor(/my-app\s+: process invoked/, { stream: "stderr" });
  await app.waitFor(/my-app\s+: process invoked/, { stream: "stderr" });

  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /my-app\s+: cleanup invoked\n.*Stopped my-app\n$/);

  // The example action's static check(): `check` refuses what its setUp() would, in its words.
  await Deno.writeTextFile(config, text.replace(/- hello: world/, '- hello: " "'));
  await using refused = spawnCli(["check", "-c", "etc/my-app.yml"], {
    main: "main.ts",
    cwd: project,
    permissions,
  });
  const verdict = await refused.finished();
  assert.equal(verdict.code, 2, verdict.stdout);
  assert.match(
    verdict.stderr,
    /Action "hello" .* failed to set up: hello: the name to greet is empty/,
  );
});

Deno.test({
  name: "a new project's init script starts it as a daemon, reports, reloads and stops it",
  // --daemon detaches with setsid() through glibc.
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const project = await generate("my-app", `${dir.path}/my-app`);
    // The compiled binary's stand-in: the app under `deno run`, with the start task's flags.
    const { permissions } = await startTask(project);
    const daemon = `${dir.path}/my-app-bin`;
    await Deno.writeTextFile(
      daemon,
      `#!/bin/sh\nexec '${Deno.execPath()}' run ${
        permissions.join(" ")
      } '${project}/main.ts' "$@"\n`,
    );
    await Deno.chmod(daemon, 0o755);
    const pidfile = `${dir.path}/my-app.pid`;
    const env = {
      DAEMON: daemon,
      CONFIG: `${project}/etc/my-app.yml`,
      PIDFILE: pidfile,
      LOCKFILE: `${dir.path}/no-such-folder/my-app`,
    };
    const init = (action: string) =>
      run("sh", [`${project}/etc/my-app.initd`, action], { cwd: dir.path, env });
    try {
      assert.deepEqual(await init("configtest"), {
        code: 0,
        output: `${env.CONFIG} is valid\n`,
      });
      const start = await init("start");
      assert.equal(start.code, 0, start.output);
      assert.equal(start.output, "Starting my-app\n");
      const pid = Number((await Deno.readTextFile(pidfile)).trim());
      assert.ok(pid > 0, "the daemon wrote its pidfile");

      const status = await init("status");
      assert.equal(status.code, 0, status.output);
      assert.match(status.output, new RegExp(`^running as pid ${pid} \\(pidfile ${pidfile}\\)`));
      assert.deepEqual(await init("start"), { code: 0, output: "my-app is already running\n" });
      assert.deepEqual(await init("reload"), {
        code: 0,
        output: `Reloading my-app\nsent SIGHUP to pid ${pid}\n`,
      });
      assert.equal((await init("status")).code, 0, "it still runs after the reload");

      assert.deepEqual(await init("stop"), {
        code: 0,
        output: `Stopping my-app\nstopped pid ${pid}\n`,
      });
      const stopped = await init("status");
      assert.equal(stopped.code, 3, stopped.output);
      assert.match(stopped.output, /^not running/);
      assert.deepEqual(await init("reload"), { code: 7, output: "my-app is not running\n" });
      assert.deepEqual(await init("bogus"), {
        code: 2,
        output:
          `Usage: ${project}/etc/my-app.initd {start|stop|restart|try-restart|reload|force-reload|status|configtest}\n`,
      });
    } finally {
      // Never leave a daemon behind when an assertion failed half-way.
      const pid = Number(await Deno.readTextFile(pidfile).catch(() => ""));
      if (pid > 0) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
  },
});

Deno.test("a project with the longest name and a long flagstaff URL passes fmt and lint", async () => {
  await using dir = await tempDir();
  const name = `a${"-b".repeat(31)}`;
  assert.equal(name.length, 63);
  const flagstaff = `https://flagstaff.example/${"long/".repeat(20)}v0.1.0/lib/mod.ts`;
  const project = await generate(name, `${dir.path}/${name}`, flagstaff);
  const fmt = await run(Deno.execPath(), ["fmt", "--check"], { cwd: project });
  assert.equal(fmt.code, 0, `deno fmt --check:\n${fmt.output}`);
  const lint = await run(Deno.execPath(), ["lint"], { cwd: project });
  assert.equal(lint.code, 0, `deno lint:\n${lint.output}`);
});

Deno.test({
  name: "as root, new refuses a target another user could change or create: nothing is written",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using dir = await tempDir();
    // A folder like /tmp (root's, sticky, everyone may add entries) and one nobody owns.
    await Deno.chmod(dir.path, 0o1777);
    await Deno.mkdir(`${dir.path}/nobodys`, { mode: 0o755 });
    await Deno.chown(`${dir.path}/nobodys`, 65534, 65534);
    const owned = await runCli(["new", "clock", "--dir", `${dir.path}/nobodys`, "--force"]);
    assert.equal(owned.code, 2);
    assert.equal(
      owned.stderr,
      `error: Refusing to write a project into "${dir.path}/nobodys" as root: it belongs to uid ` +
        "65534 (another user could redirect its files through a link; use a folder that only " +
        "root can change)\n",
    );
    assert.deepEqual([...Deno.readDirSync(`${dir.path}/nobodys`)], []);
    const sticky = await runCli(["new", "clock", "--dir", `${dir.path}/clock`]);
    assert.equal(sticky.code, 2);
    assert.match(
      sticky.stderr,
      new RegExp(
        `^error: Refusing to write a project into "${dir.path}/clock" as root: it does not exist, ` +
          `and another user could create it in the folder "${dir.path}"`,
      ),
    );
    assert.deepEqual([...Deno.readDirSync(dir.path)].map((entry) => entry.name), ["nobodys"]);
    // A sticky folder itself, with --force, and nobody's link where `etc/` goes: refused too.
    await using victim = await tempDir();
    const planted = await new Deno.Command("setpriv", {
      args: [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "ln",
        "-s",
        victim.path,
        `${dir.path}/etc`,
      ],
    }).output();
    assert.equal(planted.code, 0, new TextDecoder().decode(planted.stderr));
    const forced = await runCli(["new", "clock", "--dir", dir.path, "--force"]);
    assert.equal(forced.code, 2);
    assert.match(
      forced.stderr,
      new RegExp(
        `^error: Refusing to write a project into "${dir.path}" as root: it is writable by group or others \\(mode 01777\\)`,
      ),
    );
    await Deno.chmod(dir.path, 0o755); // root's own folder now, but nobody's link is still in it
    const linked = await runCli(["new", "clock", "--dir", dir.path, "--force"]);
    assert.equal(linked.code, 2);
    assert.match(
      linked.stderr,
      /: its folder "etc" is a symbolic link of uid 65534 \(another user could/,
    );
    assert.deepEqual([...Deno.readDirSync(victim.path)], []);
  },
});
