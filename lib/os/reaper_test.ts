import assert from "node:assert/strict";
import { GRACE_MS, planSweep } from "./reaper.ts";

const REAPER_TS = new URL("./reaper.ts", import.meta.url).href;
const DELAY_TS = new URL("../core/delay.ts", import.meta.url).href;

Deno.test("planSweep() reaps the pids whose grace has passed and waits for the others", () => {
  const table: {
    exited: number[];
    firstSeen: [number, number][];
    nowMs: number;
    reap: number[];
    waiting: [number, number][];
    nextSweepMs: number;
  }[] = [
    // Nothing exited: nothing to do, no sweep due.
    { exited: [], firstSeen: [], nowMs: 0, reap: [], waiting: [], nextSweepMs: Infinity },
    // First seen now: its grace starts now.
    { exited: [5], firstSeen: [], nowMs: 100, reap: [], waiting: [[5, 100]], nextSweepMs: 300 },
    // Still within its grace (199 ms): waits; the earliest grace sets the next sweep.
    {
      exited: [5, 6],
      firstSeen: [[5, 100], [6, 150]],
      nowMs: 299,
      reap: [],
      waiting: [[5, 100], [6, 150]],
      nextSweepMs: 300,
    },
    // Exactly at the end of its grace, and past it: reaped; a new one waits.
    {
      exited: [5, 6, 7],
      firstSeen: [[5, 100], [6, 50]],
      nowMs: 300,
      reap: [5, 6],
      waiting: [[7, 300]],
      nextSweepMs: 500,
    },
    // Deno reaped 5 meanwhile: forgotten, so a reused pid 5 starts a fresh grace later.
    { exited: [], firstSeen: [[5, 100]], nowMs: 400, reap: [], waiting: [], nextSweepMs: Infinity },
    { exited: [5], firstSeen: [], nowMs: 900, reap: [], waiting: [[5, 900]], nextSweepMs: 1100 },
    // A pid listed twice (two threads' lists) is reaped once.
    {
      exited: [8, 8],
      firstSeen: [[8, 0]],
      nowMs: 500,
      reap: [8],
      waiting: [],
      nextSweepMs: Infinity,
    },
  ];
  for (const row of table) {
    const plan = planSweep(row.exited, new Map(row.firstSeen), row.nowMs, 200);
    const context = JSON.stringify(row);
    assert.deepEqual(plan.reap, row.reap, context);
    assert.deepEqual([...plan.waiting], row.waiting, context);
    assert.equal(plan.nextSweepMs, row.nextSweepMs, context);
  }
  assert.equal(planSweep([1], new Map([[1, 0]]), GRACE_MS).reap.length, 1, "default grace");
});

/**
 * A deno process that makes itself a child subreaper (`prctl`), so orphans
 * are re-parented to it as to PID 1, starts the reaper with `force`, leaves
 * `orphans` orphans, kills them all from a program of its own that exits 3,
 * and reports that code and how long until none was left (`ps --ppid`).
 */
const SCRIPT = `
import { startReaper } from "${REAPER_TS}";
import { delay } from "${DELAY_TS}";
const [orphans, source] = [Number(Deno.args[0]), Deno.args[1]];
const prctl = Deno.dlopen("libc.so.6", {
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
});
const PR_SET_CHILD_SUBREAPER = 36;
if (prctl.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) !== 0) throw new Error("prctl");
const run = async (script) => {
  const { code } = await new Deno.Command("sh", { args: ["-c", script] }).output();
  return code;
};
const census = async () => {
  const { stdout } = await new Deno.Command("ps", {
    args: ["--ppid", String(Deno.pid), "-o", "stat=,comm="],
  }).output();
  const rows = new TextDecoder().decode(stdout).trim().split("\\n").map((r) => r.trim().split(/\\s+/));
  return {
    zombies: rows.filter(([s]) => s.startsWith("Z")).length,
    sleeps: rows.filter(([s, c]) => !s.startsWith("Z") && c === "sleep").length,
  };
};
using reaper = startReaper({ force: true, listChildren: source === "children" });
const spawned = await run(
  \`for i in $(seq \${orphans}); do (sleep 1000 >/dev/null 2>&1 &); done\`,
);
let counts = await census();
const started = performance.now();
while (counts.sleeps < orphans) {
  if (performance.now() - started > 30_000) throw new Error(\`only \${counts.sleeps} orphans started\`);
  await delay(20);
  counts = await census();
}
const code = await run(\`pkill -P \${Deno.pid} -x sleep; exit 3\`);
const startMs = performance.now();
while (counts.zombies + counts.sleeps > 0 && performance.now() - startMs < 10_000) {
  await delay(20);
  counts = await census();
}
console.log(JSON.stringify({
  source: reaper.source,
  spawned,
  code,
  elapsedMs: Math.round(performance.now() - startMs),
  counts,
  reaped: reaper.reaped,
}));
`;

async function runSubreaper(orphans: number, source: "children" | "wait") {
  const file = await Deno.makeTempFile({ prefix: "flagstaff-reaper-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, SCRIPT);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-ffi", "--allow-run", file, String(orphans), source],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    return JSON.parse(new TextDecoder().decode(output.stdout));
  } finally {
    await Deno.remove(file);
  }
}

Deno.test({
  name:
    "startReaper() reaps 100 orphans within 1 s from /proc, and Deno's children keep their code",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const result = await runSubreaper(100, "children");
    assert.equal(result.source, "children");
    assert.equal(result.spawned, 0);
    assert.equal(result.code, 3, "Deno still reaps its own child and gets its exit code");
    assert.deepEqual(result.counts, { zombies: 0, sleeps: 0 });
    assert.equal(result.reaped, 100, "only the orphans were reaped by the reaper");
    // 1 s is the promise; 1 s more is slack for a loaded machine.
    assert.ok(result.elapsedMs < 2_000, `all reaped after ${result.elapsedMs} ms`);
  },
});

Deno.test({
  name: "startReaper() without /proc children lists still reaps orphans, one per grace period",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const result = await runSubreaper(3, "wait");
    assert.equal(result.source, "wait");
    assert.equal(result.code, 3);
    assert.deepEqual(result.counts, { zombies: 0, sleeps: 0 });
    assert.equal(result.reaped, 3);
  },
});
