/**
 * flagstaff as PID 1 (a container's init) in a new PID namespace: it reaps
 * many orphans at once, quickly, while the programs it runs itself (`exec`)
 * still report their own exit status.
 */
import assert from "node:assert/strict";
import { delay } from "../lib/core/delay.ts";
import { type CliProcess, eventually, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const IS_ROOT = Deno.uid() === 0;
/** How many orphans the test leaves to PID 1. */
const ORPHANS = 100;
/** The promise: no zombie left a second after the orphans exited. */
const BUDGET_MS = 1_000;
/** Slack on a shared, loaded machine (the old reaper needed ~25 s for 100). */
const MARGIN_MS = 1_000;

/** The pid of the flagstaff inside the namespace (unshare's child), as seen from out here. */
function innerPid(outer: CliProcess): number {
  const { stdout } = new Deno.Command("pgrep", { args: ["-P", String(outer.pid)] }).outputSync();
  const pid = Number(new TextDecoder().decode(stdout).trim());
  assert.ok(Number.isInteger(pid) && pid > 1, `unshare's child: ${pid}`);
  return pid;
}

/**
 * Counts, from inside the namespace (`nsenter`, so flagstaff gets no SIGCHLD
 * from the count itself), the zombies (state Z) and the live orphans.
 */
async function census(inner: number): Promise<{ zombies: number; sleeps: number }> {
  const { code, stdout, stderr } = await new Deno.Command("nsenter", {
    args: ["--target", String(inner), "--pid", "--mount", "ps", "-eo", "stat=,comm="],
  }).output();
  const text = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const rows = text.trim().split("\n").map((row) => row.trim().split(/\s+/));
  return {
    zombies: rows.filter(([stat]) => stat.startsWith("Z")).length,
    sleeps: rows.filter(([stat, comm]) => !stat.startsWith("Z") && comm === "sleep").length,
  };
}

Deno.test({
  name: "as PID 1: 100 orphans exiting at once leave no zombie after 1 s, and exec codes are kept",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await writeFiles(dir.path, {
      // A double fork: each subshell exits at once, so its `sleep` is re-parented to PID 1.
      "spawn.sh": `for i in $(seq ${ORPHANS}); do (sleep 1000 >/dev/null 2>&1 &); done\n`,
      // The orphans all exit now; this program, flagstaff's own child, exits 3 meanwhile.
      "kill.sh": "pkill -x sleep\nexit 3\n",
      "app.yml": `Signals:
  usr1:
    - exec: [sh, ${dir.path}/spawn.sh]
  usr2:
    - exec: [sh, ${dir.path}/kill.sh]
`,
    });
    await using outer = spawnCli(["run", "-c", `${dir.path}/app.yml`], {
      wrapper: ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"],
    });
    await outer.waitFor("Running as PID 1: reaping orphaned processes");
    await outer.waitFor("Running 2 action(s)");
    const inner = innerPid(outer);

    Deno.kill(inner, "SIGUSR1");
    await outer.waitFor(/exec "sh \S+\/spawn\.sh" exited with code 0/);
    // Each `sleep` starts a moment after its subshell exits: wait until all run.
    let zombiesSeen = 0;
    let counts = await eventually(`${ORPHANS} orphaned sleeps`, async () => {
      const now = await census(inner);
      zombiesSeen = Math.max(zombiesSeen, now.zombies);
      return now.sleeps >= ORPHANS ? now : undefined;
    });
    assert.equal(zombiesSeen, 0, "no zombie before the orphans exit");
    assert.deepEqual(counts, { zombies: 0, sleeps: ORPHANS });

    Deno.kill(inner, "SIGUSR2");
    // flagstaff still gets the exit status of the program it ran itself.
    await outer.waitFor(/exec "sh \S+\/kill\.sh" exited with code 3\n/);
    // pkill has returned: the orphans are exiting. Count (every 50 ms, not to load the
    // machine) until no zombie is left, or fail at the deadline.
    const exitedMs = performance.now();
    const seen: string[] = [];
    let elapsedMs = 0;
    while (true) {
      counts = await census(inner);
      elapsedMs = performance.now() - exitedMs;
      seen.push(`${counts.zombies} zombies at ${Math.round(elapsedMs)} ms`);
      if (counts.zombies + counts.sleeps === 0 || elapsedMs >= BUDGET_MS + MARGIN_MS) break;
      await delay(50);
    }
    assert.deepEqual(
      counts,
      { zombies: 0, sleeps: 0 },
      `every orphan reaped within ${BUDGET_MS} ms (+${MARGIN_MS} ms slack): ` +
        [...seen.slice(0, 3), "…", ...seen.slice(-3)].join(", "),
    );

    Deno.kill(inner, "SIGTERM");
    const result = await outer.finished();
    assert.equal(result.code, 0, result.stderr.slice(-1500));
    assert.doesNotMatch(result.stderr, /cannot start|ECHILD|No child process/i);
  },
});
