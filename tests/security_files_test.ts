/**
 * Files in folders other users can write to, attacked for real by a second
 * user (`nobody`, through `setpriv`): pidfiles that `stop` and `signal` must
 * not trust, stale pidfiles another user locks to keep the daemon from
 * starting, and an errors file that must not be written through a link.
 * Root only: the attacks need a second user and the rules are root's.
 */
import assert from "node:assert/strict";
import { HelperProcess } from "./_helper_process.ts";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";
import { dirname } from "node:path";
import {
  type CliProcess,
  type Finished,
  runCli,
  spawnCli,
  tempDir,
  writeFiles,
} from "./_helpers.ts";

const PROBE = new URL("./fixtures/probe_controller.ts", import.meta.url).pathname;
const IS_ROOT = Deno.uid() === 0;
const NOBODY = 65534;
const ADVICE =
  "another user could make root signal any process (keep it in a root-owned folder such as /run/NAME/)";
/** How long a CLI run may take before it counts as hung. */
const HANG_MS = 20_000;

/** `setpriv` arguments that run a command as `nobody`. */
const AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];

/** A root process that flagstaff must never signal. */
function victim(): HelperProcess {
  return new HelperProcess(["sh", "-c", "echo started; exec sleep 600"]);
}

/**
 * Writes `content` to `path` and holds an exclusive flock on it, as `user`
 * (`flock -x` keeps it while its command, `cat`, runs). The lock's holder is
 * the shell's pid (`flock` execs in its place); `$$` in `content` is that pid.
 */
async function lockedFile(
  path: string,
  content: string,
  user: "root" | "nobody",
): Promise<HelperProcess> {
  const script =
    `printf '%s\\n' "${content}" > '${path}' && exec flock -x '${path}' -c 'echo locked; exec cat'`;
  const proc = new HelperProcess([...(user === "nobody" ? AS_NOBODY : []), "sh", "-c", script]);
  await proc.waitFor("locked");
  return proc;
}

async function asNobody(...argv: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(AS_NOBODY[0], {
    args: [...AS_NOBODY.slice(1), ...argv],
    stderr: "piped",
  }).output();
  assert.equal(code, 0, `as nobody: ${argv.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

/** A temp folder others can traverse, with an app config whose controller is the probe. */
async function workDir(): Promise<AsyncDisposable & { path: string; config: string }> {
  const dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  await writeFiles(dir.path, {
    "app.yml": `Application:
  wake_interval: 0.05
  controller: ${PROBE}
Logging:
  formatters: {plain: {format: '%(levelname)s %(name)s: %(message)s'}}
  handlers: {file: {class: file, filename: ${dir.path}/app.log, formatter: plain}}
  root: {level: INFO, handlers: [file]}
`,
  });
  return Object.assign(dir, { config: `${dir.path}/app.yml` });
}

/** A folder like /tmp: world-writable with the sticky bit, owned by root. */
async function stickyFolder(path: string): Promise<string> {
  await Deno.mkdir(path);
  await Deno.chmod(path, 0o1777);
  return path;
}

/** Runs the CLI, failing (not hanging) when it does not finish in {@link HANG_MS}. */
async function cli(args: string[]): Promise<Finished> {
  await using child = spawnCli(args);
  const result = await child.finished(HANG_MS);
  assert.notEqual(result.signal, "SIGKILL", `flagstaff ${args.join(" ")} hung:\n${result.stderr}`);
  return result;
}

/** Every command that reads the pidfile, and what each must say. */
function commands(pidfile: string, config: string): string[][] {
  return [
    ["stop", "--force", "--timeout", "0.5", "--pidfile", pidfile],
    ["signal", "--pidfile", pidfile, "TERM"],
    ["reload", "--pidfile", pidfile],
    ["status", "--pidfile", pidfile],
    ["run", "-c", config, "--pidfile", pidfile],
  ];
}

async function assertRefused(args: string[], message: string): Promise<void> {
  const result = await cli(args);
  assert.deepEqual(
    [result.code, result.stdout, result.stderr],
    [1, "", `error: ${message}\n`],
    args.join(" "),
  );
}

Deno.test({
  name:
    "as root, stop --force refuses a pidfile another user planted, and the process it names lives",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    // Like /tmp, where nobody creates the file; and a folder nobody owns.
    const sticky = await stickyFolder(`${dir.path}/tmp`);
    const owned = `${dir.path}/owned`;
    await Deno.mkdir(owned);
    await Deno.chown(owned, NOBODY, NOBODY);
    const cases: [string, string][] = [
      [`${sticky}/app.pid`, "it is owned by uid 65534, not root"],
      [`${owned}/app.pid`, `its folder "${owned}" is owned by uid 65534, not root`],
    ];
    for (const [pidfile, why] of cases) {
      await using sleeper = victim();
      await sleeper.waitFor("started");
      // nobody writes root's process's pid into the pidfile and holds its lock.
      await using _attacker = await lockedFile(pidfile, String(sleeper.pid), "nobody");
      for (const args of commands(pidfile, dir.config)) {
        await assertRefused(args, `Refusing pidfile "${pidfile}": ${why}: ${ADVICE}`);
      }
      assert.equal(await sleeper.endsBy("SIGUSR1"), true, "the named process was never signalled");
    }
  },
});

/**
 * Holds a flock on the existing file `path` as `user`, opened read-only
 * (`flock -s`/`-x` keeps it while its command, `cat`, runs): anyone who can
 * read a pidfile can do this. Waits until it holds it.
 */
async function lockAs(
  path: string,
  user: "root" | "nobody",
  exclusive: boolean,
): Promise<HelperProcess> {
  const argv = ["flock", exclusive ? "-x" : "-s", path, "-c", "echo locked; exec cat"];
  const proc = new HelperProcess([...(user === "nobody" ? AS_NOBODY : []), ...argv]);
  await proc.waitFor("locked");
  return proc;
}

/** `flagstaff run` with a pidfile and one action, as in the README; logs go to stderr. */
function runWithPidfile(pidfile: string): CliProcess {
  return spawnCli(["run", "--pidfile", pidfile, "--usr1", "print", "x"]);
}

const RUNNING = /Running 1 action\(s\)/;

/**
 * What `status`, `stop`, `signal` and `reload` say of a pidfile that names
 * `pid` and whose instance does not run: all agree, and signal nothing.
 */
async function assertNotRunning(pidfile: string, pid: number): Promise<void> {
  const stale = `pidfile ${pidfile} is stale: pid ${pid} holds no lock`;
  const expected: [string[], number, string, string][] = [
    [["status", "--pidfile", pidfile], 3, `not running (${stale})\n`, ""],
    [
      ["signal", "--pidfile", pidfile, "TERM"],
      3,
      "",
      `error: Not running (pidfile "${pidfile}" is stale: pid ${pid} holds no lock)\n`,
    ],
    [
      ["reload", "--pidfile", pidfile],
      3,
      "",
      `error: Not running (pidfile "${pidfile}" is stale: pid ${pid} holds no lock)\n`,
    ],
    [["stop", "--pidfile", pidfile], 0, `not running (pidfile ${pidfile})\n`, ""],
  ];
  for (const [args, code, stdout, stderr] of expected) {
    const result = await cli(args);
    assert.deepEqual([result.code, result.stdout, result.stderr], [code, stdout, stderr], args[0]);
  }
}

/** Starts flagstaff on the stale `pidfile` and checks that status, then stop, see it run. */
async function assertStartsOver(pidfile: string, stalePid: number): Promise<void> {
  await using next = runWithPidfile(pidfile);
  await next.waitFor(RUNNING, { stream: "stderr" });
  assert.match(
    next.stderr,
    new RegExp(`Replaced stale pidfile ${pidfile} \\(pid ${stalePid} no longer runs\\)`),
  );
  assert.equal(await Deno.readTextFile(pidfile), `${next.pid}\n`);
  const status = await cli(["status", "--pidfile", pidfile]);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, new RegExp(`^running as pid ${next.pid} \\(pidfile ${pidfile}\\)`));
  const stop = await cli(["stop", "--pidfile", pidfile]);
  assert.deepEqual([stop.code, stop.stdout, stop.stderr], [0, `stopped pid ${next.pid}\n`, ""]);
  assert.equal((await next.finished()).code, 0);
  assert.deepEqual(
    [...Deno.readDirSync(dirname(pidfile))].filter((entry) => entry.name.includes("app.pid")),
    [],
    "stop removed the pidfile; no temp or lock file is left",
  );
}

Deno.test({
  name:
    "another user's lock on a killed instance's pidfile keeps nobody from starting: status, stop and run agree",
  ignore: !IS_ROOT,
  async fn() {
    // The review's repro (nobody, shared), the same from root, and an exclusive lock.
    const cases: ["root" | "nobody", boolean][] = [
      ["nobody", false],
      ["root", false],
      ["nobody", true],
    ];
    for (const [user, exclusive] of cases) {
      await using dir = await workDir();
      const pidfile = `${dir.path}/app.pid`;
      let killedPid: number;
      {
        await using first = runWithPidfile(pidfile);
        await first.waitFor(RUNNING, { stream: "stderr" });
        killedPid = first.pid;
        first.kill("SIGKILL");
        await first.finished();
      }
      await using _locker = await lockAs(pidfile, user, exclusive);
      await assertNotRunning(pidfile, killedPid);
      await assertStartsOver(pidfile, killedPid);
    }
  },
});

Deno.test({
  name:
    "a pidfile that names one process while another holds its lock is stale: nothing is signalled, run replaces it",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    const pidfile = `${dir.path}/app.pid`;
    await using sleeper = victim();
    await sleeper.waitFor("started");
    await using holder = await lockedFile(pidfile, String(sleeper.pid), "root");
    await assertNotRunning(pidfile, sleeper.pid);
    await assertStartsOver(pidfile, sleeper.pid);
    assert.equal(await sleeper.endsBy("SIGUSR1"), true, "the named process was never signalled");
    assert.equal(await holder.endsBy("SIGUSR1"), true, "nor the holder");
  },
});

Deno.test({
  name: "two flagstaff run started at once: exactly one runs, and the other names it",
  ignore: !IS_ROOT,
  async fn() {
    for (const start of ["no pidfile", "a stale pidfile another user locks"]) {
      await using dir = await workDir();
      const pidfile = `${dir.path}/app.pid`;
      await using _locker = start === "no pidfile" ? undefined : await (async () => {
        await Deno.writeTextFile(pidfile, "4194304\n");
        return await lockAs(pidfile, "nobody", false);
      })();
      await using a = runWithPidfile(pidfile);
      await using b = runWithPidfile(pidfile);
      const outcome = /Already running as pid|Running 1 action\(s\)/;
      await Promise.all([
        a.waitFor(outcome, { stream: "stderr" }),
        b.waitFor(outcome, { stream: "stderr" }),
      ]);
      const winners = [a, b].filter((run) => RUNNING.test(run.stderr));
      assert.equal(winners.length, 1, `${start}: ${a.stderr}\n---\n${b.stderr}`);
      const [winner, loser] = winners[0] === a ? [a, b] : [b, a];
      const refused = await loser.finished();
      assert.deepEqual([refused.code, refused.stdout, refused.stderr], [
        2,
        "",
        `error: Already running as pid ${winner.pid} (pidfile "${pidfile}")\n`,
      ], start);
      const status = await cli(["status", "--pidfile", pidfile]);
      assert.match(status.stdout, new RegExp(`^running as pid ${winner.pid} `), start);
      await winner.signal("TERM");
      assert.equal((await winner.finished()).code, 0, start);
    }
  },
});

Deno.test({
  name: "a symbolic link at the pidfile path is refused, and the instance it points at lives",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    const sticky = await stickyFolder(`${dir.path}/tmp`);
    const real = `${dir.path}/real.pid`;
    // Another service's pidfile, locked by its own pid, as a running flagstaff's is.
    await using service = await lockedFile(real, "$$", "root");
    assert.equal((await Deno.readTextFile(real)).trim(), String(service.pid));
    const status = await cli(["status", "--pidfile", real]);
    assert.match(status.stdout, new RegExp(`^running as pid ${service.pid} `), "it is trusted");
    const pidfile = `${sticky}/app.pid`;
    await asNobody("ln", "-s", real, pidfile);
    for (const args of commands(pidfile, dir.config)) {
      await assertRefused(
        args,
        `Refusing pidfile "${pidfile}": it is a symbolic link, not a regular file (flagstaff never follows one)`,
      );
    }
    assert.equal(await service.endsBy("SIGUSR1"), true, "the service was never signalled");
  },
});

Deno.test({
  name: "status, stop and run do not hang on a FIFO at the pidfile path",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    const sticky = await stickyFolder(`${dir.path}/tmp`);
    const pidfile = `${sticky}/app.pid`;
    await asNobody("mkfifo", "-m", "666", pidfile);
    for (const args of commands(pidfile, dir.config)) {
      await assertRefused(args, `Refusing pidfile "${pidfile}": it is a FIFO, not a regular file`);
    }
  },
});

/** Runs the CLI under GNU time; returns its result and its peak RSS in KiB. */
async function cliWithPeakRss(args: string[]): Promise<Finished & { peakKiB: number }> {
  await using dir = await tempDir();
  const report = `${dir.path}/rss`;
  await using child = spawnCli(args, {
    wrapper: ["/usr/bin/time", "-f", "%M", "-o", report],
  });
  const result = await child.finished(HANG_MS);
  // GNU time writes "Command exited with non-zero status N" first when it is not 0.
  const lines = (await Deno.readTextFile(report)).trim().split("\n");
  return { ...result, peakKiB: Number(lines.at(-1)) };
}

Deno.test({
  name: "a locked 100 MB pidfile is read a few bytes at most",
  ignore: !IS_ROOT || !(await Deno.stat("/usr/bin/time").then(() => true, () => false)),
  async fn() {
    await using dir = await workDir();
    const small = `${dir.path}/small.pid`;
    await using _smallHolder = await lockedFile(small, "garbage", "root");
    const pidfile = `${dir.path}/app.pid`;
    await using _holder = await lockedFile(pidfile, "12345", "root");
    await Deno.truncate(pidfile, 100 * 1024 * 1024);
    const status = await cliWithPeakRss(["status", "--pidfile", pidfile]);
    assert.deepEqual([status.code, status.stdout, status.stderr], [
      3,
      `not running (pidfile ${pidfile} is stale)\n`,
      "",
    ]);
    // The same command on a small garbage pidfile: the big one must cost no more.
    const baseline = await cliWithPeakRss(["status", "--pidfile", small]);
    assert.equal(baseline.code, 3);
    const marginKiB = 40 * 1024;
    assert.ok(
      status.peakKiB < baseline.peakKiB + marginKiB,
      `status read the file: ${status.peakKiB} KiB at peak, ${baseline.peakKiB} KiB on a small file`,
    );
  },
});

Deno.test({
  name:
    "a detached run whose setup() throws writes its errors file, never through another user's link",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    const shared = await stickyFolder(`${dir.path}/var-tmp`);
    const fallback = `${dir.path}/fallback`;
    await Deno.mkdir(fallback);
    const target = `${dir.path}/root-file`;
    await Deno.writeTextFile(target, "root's\n");
    // The app is named after its config file: a unique name, so that a run that ignores
    // FLAGSTAFF_ERRORS_DIRS (the old code) leaves a file that is found and removed below.
    const name = `flagstaff_test_${crypto.randomUUID().slice(0, 8)}`;
    const config = `${dir.path}/${name}.yml`;
    await Deno.writeTextFile(
      config,
      (await Deno.readTextFile(dir.config)).replace(
        "Application:\n",
        "Application:\n  setup_throws: true\n",
      ),
    );
    // nobody plants the errors file as a link to a file of root's.
    await asNobody("ln", "-s", target, `${shared}/${name}.errors`);
    try {
      const result = await runCli(["run", "-c", config, "-d"], {
        env: { FLAGSTAFF_ERRORS_DIRS: `${shared}:${fallback}` },
        // The detached child gets --allow-env when the parent has it (see selfCommand()).
        permissions: PERMISSION_FLAGS.map((flag) =>
          flag.startsWith("--allow-env=") ? "--allow-env" : flag
        ),
      });
      assert.deepEqual([result.code, result.stdout, result.stderr], [
        1,
        "",
        "error: setup() failed: setup exploded\n",
      ]);
      assert.equal(await Deno.readTextFile(target), "root's\n", "the link's target is untouched");
      const text = await Deno.readTextFile(`${fallback}/${name}.errors`);
      assert.match(text, new RegExp(`${name} Exception \\[\\d{4}-`));
      assert.match(text, /Error: setup exploded\n\s+at .*probe_controller\.ts/);
    } finally {
      for (const folder of ["/var/log", "/var/tmp", "/tmp"]) {
        await Deno.remove(`${folder}/${name}.errors`).catch(() => {});
      }
    }
  },
});
