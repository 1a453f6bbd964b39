/**
 * Process-level benchmarks (`deno task bench`): real processes timed from
 * outside, flagstaff next to what a user would write instead (a bash `trap`
 * loop and a naive Deno loop), in the same run so that ratios hold on a noisy
 * machine. Writes `bench/results/latest.md` and `bench/results/latest.json`.
 * Figures, not pass/fail: nothing here fails the tests; targets are marked.
 *
 * ```sh
 * deno task bench            # everything, about 8 minutes on 2 cores
 * deno task bench --quick    # fewer repeats, shorter schedules and signal runs, about 2 minutes
 * deno task bench --only=startup,signals   # sections: startup, breakdown, signals, memory, reload, schedule, idle
 * deno task bench --before=main --only=startup   # also start-up of another commit, in the same rounds
 * ```
 *
 * Needs `--allow-all` (it runs deno and bash, reads `/proc`, listens on a
 * notify socket through FFI).
 *
 * @module
 */

import { clockOffsetMs } from "./_clock.ts";
import { idle } from "./_idle.ts";
import { memory } from "./_memory.ts";
import { type Results, type Section, toMarkdown } from "./_report.ts";
import { reloads } from "./_reload.ts";
import { schedule, type ScheduleCase } from "./_schedule.ts";
import { signals } from "./_signals.ts";
import { type Before, startup, startupBreakdown } from "./_startup.ts";
import { type BenchContext, probeReady, ROOT } from "./_subjects.ts";

const SECTIONS = [
  "startup",
  "breakdown",
  "signals",
  "memory",
  "reload",
  "schedule",
  "idle",
] as const;
type SectionName = typeof SECTIONS[number];

interface Plan {
  startupRuns: number;
  breakdownRuns: number;
  latencyCount: number;
  stormCount: number;
  spacedCount: number;
  raceCount: number;
  schedules: ScheduleCase[];
  idleS: number;
  reloadCount: number;
  memoryRuns: number;
  memoryCheckpoints: number[];
}

const FULL: Plan = {
  startupRuns: 15,
  breakdownRuns: 7,
  latencyCount: 300,
  stormCount: 10_000,
  spacedCount: 200,
  raceCount: 1000,
  schedules: [
    { intervalS: 0.1, busy: 0, count: 30 },
    { intervalS: 0.1, busy: 0.3, count: 30 },
    { intervalS: 1, busy: 0, count: 30 },
    { intervalS: 1, busy: 0.3, count: 30 },
  ],
  idleS: 20,
  reloadCount: 1000,
  memoryRuns: 5,
  memoryCheckpoints: [10_000, 20_000, 50_000, 100_000],
};

const QUICK: Plan = {
  startupRuns: 5,
  breakdownRuns: 3,
  latencyCount: 100,
  stormCount: 10_000,
  spacedCount: 60,
  raceCount: 200,
  schedules: [
    { intervalS: 0.1, busy: 0, count: 30 },
    { intervalS: 0.1, busy: 0.3, count: 30 },
  ],
  idleS: 5,
  reloadCount: 200,
  memoryRuns: 3,
  memoryCheckpoints: [10_000, 20_000],
};

async function commandOutput(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await new Deno.Command(command, { args, stderr: "null" }).output();
    return new TextDecoder().decode(stdout).trim();
  } catch {
    return "unknown";
  }
}

async function machine(): Promise<Record<string, string | number>> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/^model name\s*:\s*(.*)$/m)?.[1];
  return {
    machine:
      `${Deno.build.target}, ${navigator.hardwareConcurrency} cores (${cpu ?? "unknown CPU"}), ` +
      `${(Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1)} GiB, kernel ${Deno.osRelease()}`,
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    bash: (await commandOutput("bash", ["--version"])).split("\n")[0],
    load: Deno.loadavg().map((l) => l.toFixed(2)).join(" ") + " (1/5/15 min, at start)",
  };
}

function parseArgs(
  args: readonly string[],
): { quick: boolean; only: Set<SectionName>; before?: string } {
  let quick = false;
  let only = new Set<SectionName>(SECTIONS);
  let before: string | undefined;
  for (const arg of args) {
    if (arg === "--quick") quick = true;
    else if (arg.startsWith("--before=")) before = arg.slice("--before=".length);
    else if (arg.startsWith("--only=")) {
      const names = arg.slice("--only=".length).split(",");
      const unknown = names.filter((n) => !SECTIONS.includes(n as SectionName));
      if (unknown.length) {
        throw new Error(
          `Unknown section(s) ${unknown.join(", ")}: expected ${SECTIONS.join(", ")}`,
        );
      }
      only = new Set(names as SectionName[]);
    } else {
      throw new Error(
        `Unknown argument "${arg}": expected --quick, --only=SECTION,... or --before=REF`,
      );
    }
  }
  return { quick, only, before };
}

/** Extracts commit `ref` of this repository into `dir` (`git archive`), for `--before`. */
async function checkout(ref: string, dir: string): Promise<Before> {
  await Deno.mkdir(dir, { recursive: true });
  const archive = await new Deno.Command("bash", {
    args: ["-c", 'git -C "$1" archive "$2" | tar -x -C "$3"', "bash", ROOT, ref, dir],
    stderr: "piped",
  }).output();
  if (!archive.success) {
    throw new Error(`Cannot extract "${ref}": ${new TextDecoder().decode(archive.stderr).trim()}`);
  }
  const commit = await commandOutput("git", ["-C", ROOT, "rev-parse", "--short", ref]);
  return { label: `${ref} (${commit})`, root: `${dir}/` };
}

async function main(args: readonly string[]): Promise<void> {
  const { quick, only, before: beforeRef } = parseArgs(args);
  const plan = quick ? QUICK : FULL;
  const began = performance.now();
  const startedAt = new Date().toISOString();
  const dir = await Deno.makeTempDir({ prefix: "flagstaff_bench_" });
  const log = (text: string) =>
    console.error(`[${((performance.now() - began) / 1000).toFixed(0)} s] ${text}`);
  try {
    const context: BenchContext = { dir, ready: "line" };
    const before = beforeRef ? await checkout(beforeRef, `${dir}/before`) : undefined;
    if (before) log(`before: ${before.label}`);
    const probe = await probeReady(context);
    context.ready = probe.via;
    log(`readiness: ${probe.via} (${probe.why})`);
    const offset = clockOffsetMs();
    const sections: Section[] = [];
    // A section that fails (a subject that does not start, say) is reported, and the others still run.
    const measure = async (name: SectionName, what: string, run: () => Promise<Section[]>) => {
      if (!only.has(name)) return;
      log(what);
      try {
        sections.push(...await run());
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`${what} failed: ${message}`);
        sections.push({
          title: `${what}: FAILED`,
          rows: [],
          notes: [message.replaceAll("\n", " ")],
        });
      }
    };
    await measure(
      "startup",
      "start-up",
      async () => [await startup(context, plan.startupRuns, before)],
    );
    await measure(
      "breakdown",
      "start-up breakdown",
      async () => [await startupBreakdown(context, plan.breakdownRuns)],
    );
    await measure("signals", "signals: latency, load, memory", () => signals(context, plan));
    await measure("memory", "memory after start and under signals", async () => [
      await memory(context, {
        runs: plan.memoryRuns,
        checkpoints: plan.memoryCheckpoints,
        before,
      }),
    ]);
    await measure("reload", "memory across reloads", async () => [
      await reloads(context, plan.reloadCount),
    ]);
    await measure(
      "schedule",
      "wake schedule",
      async () => [await schedule(context, plan.schedules)],
    );
    await measure("idle", "idle", async () => [await idle(context, plan.idleS)]);
    const results: Results = {
      machine: await machine(),
      startedAt,
      durationS: (performance.now() - began) / 1000,
      mode: quick ? "quick" : "full",
      method: {
        readiness: `${
          probe.via === "notify" ? "READY=1 on NOTIFY_SOCKET" : "ready line on stderr"
        } (${probe.why})`,
        clock:
          "wall-clock ms as performance.timeOrigin + performance.now() in every Deno process, " +
          `$EPOCHREALTIME in bash; the harness's clock is ${
            (offset * 1000).toFixed(1)
          } µs from the realtime clock`,
      },
      sections,
    };
    const markdown = toMarkdown(results);
    await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
    await Deno.writeTextFile(`${ROOT}bench/results/latest.md`, markdown);
    await Deno.writeTextFile(
      `${ROOT}bench/results/latest.json`,
      JSON.stringify(results, null, 2) + "\n",
    );
    console.log(markdown);
    log("wrote bench/results/latest.md and latest.json");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.stack : error}`);
    Deno.exit(1);
  }
  Deno.exit(0);
}
