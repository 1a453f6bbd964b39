/**
 * Start-up: exec to ready, repeated, the variants interleaved round-robin so
 * that a machine getting slower or faster during the run touches them all
 * alike. One warm-up round first (compile and module caches warm).
 *
 * Also where the time goes: exec to exit of `deno run` on an empty file (the
 * floor), on files that only import one dependency or one flagstaff module,
 * and of `main.ts --version`.
 *
 * @module
 */

import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";
import { BenchChild } from "./_child.ts";
import { wallMs } from "./_clock.ts";
import { atMost, type Cell, cell, ms, type Row, type Section } from "./_report.ts";
import { summarize, type Summary } from "./_stats.ts";
import {
  actionsConfig,
  type BenchContext,
  COMPILED,
  controllerConfig,
  ROOT,
  type Started,
  startFlagstaff,
  startLoop,
  type SubjectId,
} from "./_subjects.ts";

/** flagstaff's target: median exec to ready with a config file, milliseconds. */
export const STARTUP_TARGET_MS = 60;

interface Variant {
  measure: string;
  subject: SubjectId;
  target?: boolean;
  once(): Promise<number>;
}

async function toReady(start: () => Promise<Started>): Promise<number> {
  const started = await start();
  await started.child.stop();
  return started.readyMs;
}

async function toExit(args: readonly string[]): Promise<number> {
  const child = new BenchChild(Deno.execPath(), args);
  const status = await child.status;
  const elapsed = wallMs() - child.spawnedAtMs;
  await child.stop();
  if (!status.success) {
    throw new Error(`deno ${args.join(" ")} failed: ${child.stderr.map((l) => l.text).join("\n")}`);
  }
  return elapsed;
}

async function measure(variants: Variant[], runs: number): Promise<Map<Variant, number[]>> {
  const times = new Map<Variant, number[]>(variants.map((v) => [v, []]));
  for (let round = -1; round < runs; round++) {
    for (const variant of variants) {
      const elapsed = await variant.once();
      if (round >= 0) times.get(variant)!.push(elapsed);
    }
  }
  return times;
}

function spread(s: Summary): string {
  return `${ms(s.p50)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
}

/** The npm specifiers `lib/deps.ts` names, in order. */
async function npmSpecifiers(): Promise<string[]> {
  const source = await Deno.readTextFile(`${ROOT}lib/deps.ts`);
  return [...new Set([...source.matchAll(/"(npm:[^"]+)"/g)].map((m) => m[1]))];
}

/** Measures start-up; `runs` per variant. */
export async function startup(context: BenchContext, runs: number): Promise<Section> {
  const actions = await actionsConfig(context, 0);
  const controller = await controllerConfig(context, 60, 0);
  const variants: Variant[] = [
    {
      measure: "exec → ready: `run -c app.yml`, actions only (USR2 → bench action)",
      subject: "flagstaff",
      target: true,
      once: () => toReady(() => startFlagstaff(context, ["run", "-c", actions])),
    },
    {
      measure: "exec → ready: `run -c app.yml`, controller (wake_interval 60 s)",
      subject: "flagstaff",
      target: true,
      once: () => toReady(() => startFlagstaff(context, ["run", "-c", controller])),
    },
    {
      measure: "exec → ready: no config, `--usr2 print hi` (built-in action)",
      subject: "flagstaff",
      once: () => toReady(() => startFlagstaff(context, ["--usr2", "print", "hi"])),
    },
    {
      measure: "exec → ready: the loop (`ready` printed once its listener is set)",
      subject: "bash",
      once: () => toReady(() => startLoop("bash", ["signal", "0"])),
    },
    {
      measure: "exec → ready: the loop (`ready` printed once its listener is set)",
      subject: "deno",
      once: () => toReady(() => startLoop("deno", ["signal", "0"])),
    },
  ];
  const compiled = await Deno.stat(COMPILED).then((info) => info.isFile, () => false);
  if (compiled) {
    variants.push({
      measure: "exec → ready: compiled binary `dist/flagstaff run -c app.yml`, actions only",
      subject: "flagstaff",
      once: () => toReady(() => startFlagstaff(context, ["run", "-c", actions], COMPILED)),
    });
  }
  const times = await measure(variants, runs);
  const rows: Row[] = [];
  const raw: Record<string, Summary> = {};
  for (const variant of variants) {
    const s = summarize(times.get(variant)!);
    raw[`${variant.subject}: ${variant.measure}`] = s;
    const c: Cell = variant.target
      ? atMost(spread(s), s.p50, STARTUP_TARGET_MS)
      : cell(spread(s), s.p50);
    const existing = rows.find((row) => row.measure === variant.measure);
    if (existing) existing.cells[variant.subject] = c;
    else {
      rows.push({
        measure: variant.measure,
        cells: { [variant.subject]: c },
        target: variant.target ? `median ≤ ${STARTUP_TARGET_MS} ms` : undefined,
      });
    }
  }
  return {
    title: `Start-up: exec to ready, median (min–max) of ${runs} runs`,
    rows,
    notes: [
      `Ready: ${
        context.ready === "notify"
          ? "flagstaff's `READY=1` on the `NOTIFY_SOCKET` the harness listens on"
          : "flagstaff's ready line on stderr (it does not send `READY=1` yet)"
      }; the loops' \`ready\` line on stdout. Times run from just before spawn to when the harness read it.`,
      "One warm-up round first, not counted (module and compile caches warm); variants interleaved round-robin.",
      compiled
        ? "The compiled binary is `dist/flagstaff` as `deno task compile` left it (it may be older than the source)."
        : "No compiled binary measured: `dist/flagstaff` does not exist (`deno task compile` builds it).",
    ],
    raw,
  };
}

/**
 * Where start-up time goes: exec to exit of `deno run` (with flagstaff's
 * permissions) on an empty file, on one-import files, and `--version`.
 */
export async function startupBreakdown(context: BenchContext, runs: number): Promise<Section> {
  const entries: [string, string][] = [["(empty file: the floor)", ""]];
  for (const specifier of await npmSpecifiers()) entries.push([specifier, specifier]);
  for (
    const module of [
      "lib/deps.ts",
      "lib/config/config.ts",
      "lib/logging/logging.ts",
      "lib/runtime/runtime.ts",
      "lib/os/notify.ts",
      "actions/mod.ts",
      "lib/cli/main.ts",
    ]
  ) {
    entries.push([module, `file://${ROOT}${module}`]);
  }
  const variants: Variant[] = [];
  for (const [i, [label, specifier]] of entries.entries()) {
    const file = `${context.dir}/import_${i}.ts`;
    await Deno.writeTextFile(file, specifier ? `import "${specifier}";\n` : "\n");
    variants.push({
      measure: `import ${label}`,
      subject: "flagstaff",
      once: () => toExit(["run", ...PERMISSION_FLAGS, file]),
    });
  }
  variants.push({
    measure: "`main.ts --version` (the whole CLI module graph, no command run)",
    subject: "flagstaff",
    once: () => toExit(["run", ...PERMISSION_FLAGS, `${ROOT}main.ts`, "--version"]),
  });
  const times = await measure(variants, runs);
  const floor = summarize(times.get(variants[0])!).p50;
  const raw: Record<string, Summary> = {};
  const rows: Row[] = variants.map((variant) => {
    const s = summarize(times.get(variant)!);
    raw[variant.measure] = s;
    const extra = variant === variants[0] ? "" : `, +${(s.p50 - floor).toFixed(1)} over the floor`;
    return { measure: variant.measure, cells: { flagstaff: cell(`${ms(s.p50)}${extra}`, s.p50) } };
  });
  return {
    title: `Where start-up goes: \`deno run\` exec to exit, median of ${runs} runs`,
    rows,
    notes: [
      "Each row runs a file that only imports the named module (with everything it imports), " +
      "so the difference to the floor is what loading that module graph costs.",
    ],
    raw,
  };
}
