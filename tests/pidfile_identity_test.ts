/**
 * Whom `status`, `stop`, `reload`, `signal` and `run` take for the pidfile's
 * instance, attacked for real as root with a second user (`nobody`, through
 * `setpriv`): a lock a dead process took and its child kept (inherited), a
 * lock whose taker lives on without holding it (a reused pid), a hard link
 * to another service's pidfile, and a symbolic link on the pidfile's folder
 * path. Root only: the attacks need a second user and the rules are root's.
 */
import assert from "node:assert/strict";
import { HelperProcess } from "./_helper_process.ts";
import { type CliProcess, type Finished, spawnCli, tempDir } from "./_helpers.ts";

const IS_ROOT = Deno.uid() === 0;
const NOBODY = 65534;
const ADVICE =
  "another user could make root signal any process (keep it in a root-owned folder such as /run/NAME/)";
/** How long a CLI run or a helper's line may take before it counts as hung. */
const HANG_MS = 20_000;
/** `setpriv` arguments that run a command as `nobody`. */
const AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];
const RUNNING = /Running 1 action\(s\)/;

/**
 * Opens the file `argv[1]` read-only and takes its exclusive flock (anyone
 * who can read a pidfile can), then forks a child that keeps the
 * descriptor. With `argv[2]` `exit`, the locker ends at once; with `close`,
 * it closes its own descriptor and stays. Both print their pid
 * (`locker N`, `holder N`), report each signal they get (`N got signal S`),
 * end on USR1, and otherwise stay until their stdin closes.
 */
const INHERIT_LOCK = `
import fcntl, os, signal, sys
def say(text):
    os.write(1, (text + "\\n").encode())
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
def report(signum, frame):
    say(f"{os.getpid()} got signal {signum}")
    if signum == signal.SIGUSR1:
        os._exit(0)
def listen():
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(s, report)
if os.fork() == 0:
    listen()
    say(f"holder {os.getpid()}")
    sys.stdin.read()
    os._exit(0)
if sys.argv[2] == "exit":
    say(f"locker {os.getpid()}")
    os._exit(0)
os.close(fd)
listen()
say(f"locker {os.getpid()}")
sys.stdin.read()
`;

/** Runs {@link INHERIT_LOCK} on `path` as `user`; resolves once both processes said their pid. */
async function inheritLock(
  path: string,
  user: "root" | "nobody",
  locker: "exit" | "close",
): Promise<HelperProcess & { locker: number; holder: number }> {
  const argv = ["/usr/bin/python3", "-c", INHERIT_LOCK, path, locker];
  const proc = new HelperProcess(user === "nobody" ? [...AS_NOBODY, ...argv] : argv);
  try {
    const lockerPid = Number((await proc.waitFor(/^locker (\d+)$/m))[1]);
    const holderPid = Number((await proc.waitFor(/^holder (\d+)$/m))[1]);
    if (locker === "exit") await proc.child.status;
    return Object.assign(proc, { locker: lockerPid, holder: holderPid });
  } catch (error) {
    await proc[Symbol.asyncDispose]();
    throw error;
  }
}

/**
 * Asserts that `proc`'s process `pid` got no signal so far, and still runs:
 * it reports the USR1 sent now, and ends by it.
 */
async function assertNeverSignalled(proc: HelperProcess, pid: number, what: string): Promise<void> {
  assert.doesNotMatch(proc.output, new RegExp(`^${pid} got signal`, "m"), `${what} was signalled`);
  Deno.kill(pid, "SIGUSR1");
  await proc.waitFor(new RegExp(`^${pid} got signal 10$`, "m"));
}

/** A temp folder others can traverse. */
async function workDir(): Promise<AsyncDisposable & { path: string }> {
  const dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  return dir;
}

/** Runs the CLI, failing (not hanging) when it does not finish in {@link HANG_MS}. */
async function cli(args: string[]): Promise<Finished> {
  await using child = spawnCli(args);
  const result = await child.finished(HANG_MS);
  assert.notEqual(result.signal, "SIGKILL", `flagstaff ${args.join(" ")} hung:\n${result.stderr}`);
  return result;
}

/** `flagstaff run` with a pidfile and one action; `--hup print got-hup` shows a reload. */
function runWithPidfile(pidfile: string): CliProcess {
  return spawnCli(["run", "--pidfile", pidfile, "--hup", "print", "got-hup"]);
}

/** A root flagstaff that ran with `pidfile` and was killed with KILL: the file is left, stale. */
async function killedInstance(pidfile: string): Promise<void> {
  await using first = runWithPidfile(pidfile);
  await first.waitFor(RUNNING, { stream: "stderr" });
  first.kill("SIGKILL");
  await first.finished();
}

/**
 * What `status`, `stop`, `signal` and `reload` say of `pidfile` whose lock
 * is in the name of `pid` but not that process's own (`found`): not running,
 * all agree, and nothing is signalled.
 */
async function assertLockNotHeld(pidfile: string, pid: number, found: string): Promise<void> {
  const why = `its lock is in the name of pid ${pid}, but ${found}; another process holds it ` +
    `through an inherited descriptor: find it with "fuser -v ${pidfile}"`;
  const error = `error: Not running (pidfile "${pidfile}" is stale: ${why})\n`;
  const expected: [string[], number, string, string][] = [
    [
      ["status", "--pidfile", pidfile],
      3,
      `not running (pidfile ${pidfile} is stale: ${why})\n`,
      "",
    ],
    [["signal", "--pidfile", pidfile, "TERM"], 3, "", error],
    [["reload", "--pidfile", pidfile], 3, "", error],
    [
      ["stop", "--force", "--timeout", "1", "--pidfile", pidfile],
      0,
      `not running (pidfile ${pidfile}: ${why})\n`,
      "",
    ],
  ];
  for (const [args, code, stdout, stderr] of expected) {
    const result = await cli(args);
    assert.deepEqual([result.code, result.stdout, result.stderr], [code, stdout, stderr], args[0]);
  }
}

/** `run` replaces the stale `pidfile` (warning of the lock), and status and stop see the new one. */
async function assertStartsOver(pidfile: string, stalePid: number, found: string): Promise<void> {
  await using next = runWithPidfile(pidfile);
  await next.waitFor(RUNNING, { stream: "stderr" });
  assert.ok(
    next.stderr.includes(
      `The stale pidfile ${pidfile} was locked in the name of pid ${stalePid}, but ${found}: ` +
        "another process holds its lock through an inherited descriptor",
    ),
    next.stderr,
  );
  assert.equal(await Deno.readTextFile(pidfile), `${next.pid}\n`);
  const status = await cli(["status", "--pidfile", pidfile]);
  assert.match(status.stdout, new RegExp(`^running as pid ${next.pid} \\(pidfile ${pidfile}\\)`));
  const stop = await cli(["stop", "--pidfile", pidfile]);
  assert.deepEqual([stop.code, stop.stdout, stop.stderr], [0, `stopped pid ${next.pid}\n`, ""]);
  assert.equal((await next.finished()).code, 0);
}

Deno.test({
  name:
    "a killed instance's pidfile locked by nobody whose child kept the lock: not running, nothing signalled, run starts over",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    const pidfile = `${dir.path}/app.pid`;
    await killedInstance(pidfile);
    assert.equal(
      (await Deno.stat(pidfile)).mode! & 0o777,
      0o644,
      "anyone can read it, and lock it",
    );
    // nobody opens the pidfile read-only, locks it, forks a child that keeps it, and ends.
    await using helper = await inheritLock(pidfile, "nobody", "exit");
    // Stands for nobody forking until it got the killed instance's pid: the pid in the file is
    // now the locker's, which /proc/locks names as the holder, and which no longer runs.
    await Deno.writeTextFile(pidfile, `${helper.locker}\n`);
    const found = `pid ${helper.locker} no longer runs`;
    await assertLockNotHeld(pidfile, helper.locker, found);
    await assertStartsOver(pidfile, helper.locker, found);
    await assertNeverSignalled(helper, helper.holder, "the child that holds the lock");
  },
});

Deno.test({
  name:
    "a pidfile whose lock is in the name of a live root process that does not hold it: that process is never signalled",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    const pidfile = `${dir.path}/app.pid`;
    await killedInstance(pidfile);
    // A root process took the lock, handed it to a child and closed its own descriptor: as a
    // process that reused the pid of the lock's dead taker, it runs and holds nothing.
    await using helper = await inheritLock(pidfile, "root", "close");
    await Deno.writeTextFile(pidfile, `${helper.locker}\n`);
    const comm = (await Deno.readTextFile(`/proc/${helper.locker}/comm`)).trimEnd();
    const found = `pid ${helper.locker} (${
      JSON.stringify(comm)
    }) runs, but none of its open files holds the lock`;
    await assertLockNotHeld(pidfile, helper.locker, found);
    await assertNeverSignalled(helper, helper.locker, "the process named in the pidfile");
    await assertNeverSignalled(helper, helper.holder, "the child that holds the lock");
  },
});

Deno.test({
  name:
    "a hard link to a running daemon's pidfile is refused by every command, and the daemon is never signalled",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    await Deno.mkdir(`${dir.path}/run`);
    const victimPidfile = `${dir.path}/run/victim.pid`;
    await using victim = runWithPidfile(victimPidfile);
    await victim.waitFor(RUNNING, { stream: "stderr" });
    const sticky = `${dir.path}/tmp`;
    await Deno.mkdir(sticky);
    await Deno.chmod(sticky, 0o1777);
    const pidfile = `${sticky}/attpt.pid`;
    // As root: stands for nobody on a host where fs.protected_hardlinks is 0.
    await Deno.link(victimPidfile, pidfile);
    const refused = `error: Refusing pidfile "${pidfile}": it has 2 hard links: another name of ` +
      "it may be another service's pidfile, whose pid would be reported and signalled " +
      "(flagstaff makes a pidfile with one link)\n";
    for (
      const args of [
        ["status", "--pidfile", pidfile],
        ["reload", "--pidfile", pidfile],
        ["signal", "--pidfile", pidfile, "TERM"],
        ["stop", "--force", "--timeout", "1", "--pidfile", pidfile],
        ["run", "--pidfile", pidfile, "--usr1", "print", "x"],
      ]
    ) {
      const result = await cli(args);
      assert.deepEqual([result.code, result.stdout, result.stderr], [1, "", refused], args[0]);
    }
    assert.doesNotMatch(victim.stdout, /got-hup/, "the victim was never reloaded");
    await victim.signal("HUP");
    await victim.waitFor("got-hup", { stream: "stdout" });
    await Deno.remove(pidfile);
    const status = await cli(["status", "--pidfile", victimPidfile]);
    assert.match(status.stdout, new RegExp(`^running as pid ${victim.pid} `), "it still runs");
    await victim.signal("TERM");
    assert.equal((await victim.finished()).code, 0);
  },
});

Deno.test({
  name:
    "as root, a symbolic link another user made on the pidfile's folder path is refused; root's own link is followed",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    // A folder nobody owns, holding a root-owned folder with a root service's locked pidfile.
    const theirs = `${dir.path}/att`;
    await Deno.mkdir(`${theirs}/elsewhere`, { recursive: true });
    await Deno.chown(theirs, NOBODY, NOBODY);
    const real = `${theirs}/elsewhere/app.pid`;
    await using service = new HelperProcess([
      "sh",
      "-c",
      `printf '%s\\n' "$$" > '${real}' && exec flock -x '${real}' -c 'echo locked; exec cat'`,
    ]);
    await service.waitFor(/^locked$/m);
    const sticky = `${dir.path}/tmp`;
    await Deno.mkdir(sticky);
    await Deno.chmod(sticky, 0o1777);
    const link = `${sticky}/lnkdir`;
    const made = await new Deno.Command(AS_NOBODY[0], {
      args: [...AS_NOBODY.slice(1), "ln", "-s", `${theirs}/elsewhere`, link],
    }).output();
    assert.equal(made.code, 0, "nobody makes the link");
    const pidfile = `${link}/app.pid`;
    const refused = `error: Refusing pidfile "${pidfile}": "${link}" is a symbolic link in ` +
      `"${sticky}", a folder other users can change: ${ADVICE}\n`;
    for (
      const args of [
        ["status", "--pidfile", pidfile],
        ["reload", "--pidfile", pidfile],
        ["signal", "--pidfile", pidfile, "TERM"],
        ["stop", "--force", "--timeout", "1", "--pidfile", pidfile],
        ["run", "--pidfile", pidfile, "--usr1", "print", "x"],
      ]
    ) {
      const result = await cli(args);
      assert.deepEqual([result.code, result.stdout, result.stderr], [1, "", refused], args[0]);
    }
    // The same file by its own path: a folder on the way is nobody's, who could swap what is below.
    const direct = await cli(["status", "--pidfile", real]);
    assert.deepEqual([direct.code, direct.stdout, direct.stderr], [
      1,
      "",
      `error: Refusing pidfile "${real}": the folder "${theirs}" on its path belongs to uid 65534, not root: ${ADVICE}\n`,
    ]);
    service.child.kill("SIGUSR1");
    assert.equal((await service.child.status).signal, "SIGUSR1", "the service was never signalled");
    // A link root made in a folder only root can change is followed.
    await Deno.mkdir(`${dir.path}/real`);
    await Deno.symlink(`${dir.path}/real`, `${dir.path}/run`);
    await using instance = runWithPidfile(`${dir.path}/run/app.pid`);
    await instance.waitFor(RUNNING, { stream: "stderr" });
    const status = await cli(["status", "--pidfile", `${dir.path}/run/app.pid`]);
    assert.match(status.stdout, new RegExp(`^running as pid ${instance.pid} `));
    await instance.signal("TERM");
    assert.equal((await instance.finished()).code, 0);
  },
});

/** A DENO_DIR nobody can use: a copy of this Deno's npm cache (runs stay offline). */
async function denoDirForNobody(): Promise<AsyncDisposable & { path: string }> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] })
    .output();
  assert.equal(code, 0, "deno info --json");
  const npmCache = JSON.parse(new TextDecoder().decode(stdout)).npmCache as string;
  const dir = await workDir();
  const copied = await new Deno.Command("cp", { args: ["-r", npmCache, `${dir.path}/npm`] })
    .output();
  assert.equal(copied.code, 0, "cp the npm cache");
  const owned = await new Deno.Command("chown", { args: ["-R", "nobody:nogroup", dir.path] })
    .output();
  assert.equal(owned.code, 0, "chown the DENO_DIR");
  return dir;
}

Deno.test({
  name:
    "as another user, who cannot check that the pid holds the lock itself: status says unknown (4), reload signals nothing (4)",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await workDir();
    await using denoDir = await denoDirForNobody();
    const pidfile = `${dir.path}/app.pid`;
    // A root service's pidfile, locked by its own pid, as a running flagstaff's is.
    await using service = new HelperProcess([
      "sh",
      "-c",
      `printf '%s\\n' "$$" > '${pidfile}' && exec flock -x '${pidfile}' -c 'echo locked; exec cat'`,
    ]);
    await service.waitFor(/^locked$/m);
    const pid = service.child.pid;
    const why = `the lock of pidfile "${pidfile}" is in its name, but whether it holds it itself ` +
      `cannot be checked: cannot read "/proc/${pid}/fd": permission denied (errno 13) (root can check it)`;
    const asNobody = { wrapper: AS_NOBODY, env: { DENO_DIR: denoDir.path } };
    const expected: [string[], number, string, string][] = [
      [["status", "--pidfile", pidfile], 4, `unknown: pid ${pid} may run: ${why}\n`, ""],
      [["reload", "--pidfile", pidfile], 4, "", `error: Not signalling pid ${pid}: ${why}\n`],
      [["stop", "--pidfile", pidfile], 4, "", `error: Not signalling pid ${pid}: ${why}\n`],
    ];
    for (const [args, code, stdout, stderr] of expected) {
      await using child = spawnCli(args, asNobody);
      const result = await child.finished(HANG_MS);
      assert.deepEqual(
        [result.code, result.stdout, result.stderr],
        [code, stdout, stderr],
        args[0],
      );
    }
    const root = await cli(["status", "--pidfile", pidfile]);
    assert.match(root.stdout, new RegExp(`^running as pid ${pid} `), "root can check it");
    service.child.kill("SIGUSR1");
    assert.equal((await service.child.status).signal, "SIGUSR1", "the service was never signalled");
  },
});

Deno.test({
  name: "a pidfile path with .. after another user's link: the path checked is the path used",
  ignore: !IS_ROOT,
  async fn() {
    await using shared = await tempDir(); // like /tmp: root's, sticky
    await Deno.chmod(shared.path, 0o1777);
    await using safe = await tempDir(); // root's, 0700: holds a file of root's
    await Deno.mkdir(`${safe.path}/sub`);
    await Deno.writeTextFile(`${safe.path}/dd.pid`, "IMPORTANT ROOT DATA\n");
    // nobody's link in the shared folder, into root's folder.
    const made = await new Deno.Command(AS_NOBODY[0], {
      args: [...AS_NOBODY.slice(1), "ln", "-s", `${safe.path}/sub`, `${shared.path}/l2`],
    }).output();
    assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
    await using app = spawnCli([
      "run",
      "--pidfile",
      `${shared.path}/l2/../dd.pid`,
      "--usr2",
      "print",
      "x",
    ]);
    await app.waitFor(RUNNING);
    // `..` is taken as written: the pidfile is the shared folder's, never root's file behind the link.
    assert.equal((await Deno.readTextFile(`${shared.path}/dd.pid`)).trim(), String(app.pid));
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /Replaced stale pidfile/);
    assert.equal(await Deno.readTextFile(`${safe.path}/dd.pid`), "IMPORTANT ROOT DATA\n");
  },
});
