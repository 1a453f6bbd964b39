/**
 * Start-up: exec to ready (`run`) or to exit (`status`, `reload`, `check`,
 * `stop`), repeated, the variants interleaved round-robin so that a machine
 * getting slower or faster during the run touches them all alike. One
 * warm-up round first (compile and module caches warm). Targets are ratios
 * to an empty Deno script measured in the same rounds.
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
  flagstaffArgs,
  ROOT,
  type Started,
  startFlagstaff,
  startLoop,
  type SubjectId,
} from "./_subjects.ts";

/** flagstaff's targets: median exec to ready (or exit), as a multiple of the empty script's. */
export const STARTUP_TARGETS = {
  /** `run -c app.yml` with a tool-mode controller. */
  controller: 2.5,
  /** `run --usr1 print x`, no config. */
  actionsOnly: 2,
  /** `status`, `stop`, `reload`, `check`: exec to exit. */
  command: 2.5,
} as const;

/** An older checkout measured beside this one (`--before=REF`). */
export interface Before {
  /** What it is, for the row titles: the git ref. */
  label: string;
  /** Its root folder, with a trailing slash. */
  root: string;
}

interface Variant {
  measure: string;
  subject: SubjectId;
  /** The target, as a multiple of the baseline. */
  target?: number;
  /** Which baseline the ratio is of: the empty script's exec → ready, or exec → exit. */
  baseline?: "ready" | "exit";
  once(): Promise<number>;
}

async function toReady(start: () => Promise<Started>): Promise<number> {
  const started = await start();
  await started.child.stop();
  return started.readyMs;
}

async function toExit(args: readonly string[], cwd?: string): Promise<number> {
  const child = new BenchChild(Deno.execPath(), args, { cwd });
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
      const elapsed = await variant.once().catch((error) => {
        throw new Error(`${variant.measure}: ${error instanceof Error ? error.message : error}`);
      });
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

/**
 * A flagstaff instance with a pidfile for `status`, `reload` and `stop` to
 * work on: started (untimed) when a round needs it, gone after `stop`.
 */
class Instance {
  #started: Started | undefined;
  constructor(readonly context: BenchContext, readonly config: string, readonly pidfile: string) {}
  async ensure(): Promise<void> {
    if (this.#started && !this.#started.child.exited) return;
    await this.#started?.child.stop();
    this.#started = await startFlagstaff(this.context, [
      "run",
      "-c",
      this.config,
      "--pidfile",
      this.pidfile,
    ]);
  }
  async close(): Promise<void> {
    await this.#started?.child.stop();
  }
}

/** The flagstaff variants, for the checkout at `root`; `suffix` marks an older one's rows. */
function flagstaffVariants(
  context: BenchContext,
  files: { actions: string; controller: string; pidfile: string },
  instance: Instance,
  root: string,
  before?: string,
): Variant[] {
  const title = (text: string) => before ? `${text} [before: ${before}]` : text;
  const target = (value: number) => before ? undefined : value;
  const cli = (...args: string[]) => flagstaffArgs(args, root);
  const run = (args: string[]) => toExit(args, context.dir);
  const pidfile = ["--pidfile", files.pidfile];
  return [
    {
      measure: title("exec → ready: `run -c app.yml`, tool-mode controller (wake_interval 60 s)"),
      subject: "flagstaff",
      target: target(STARTUP_TARGETS.controller),
      baseline: "ready",
      once: () => toReady(() => startFlagstaff(context, ["run", "-c", files.controller], { root })),
    },
    {
      measure: title("exec → ready: `run -c app.yml`, actions only (USR2 → bench action)"),
      subject: "flagstaff",
      baseline: "ready",
      once: () => toReady(() => startFlagstaff(context, ["run", "-c", files.actions], { root })),
    },
    {
      measure: title("exec → ready: `run --usr1 print x` (no config, a built-in action)"),
      subject: "flagstaff",
      target: target(STARTUP_TARGETS.actionsOnly),
      baseline: "ready",
      once: () => toReady(() => startFlagstaff(context, ["run", "--usr1", "print", "x"], { root })),
    },
    {
      measure: title("exec → exit: `status --pidfile FILE` (a running instance)"),
      subject: "flagstaff",
      target: target(STARTUP_TARGETS.command),
      baseline: "exit",
      once: async () => {
        await instance.ensure();
        return await run(cli("status", ...pidfile));
      },
    },
    {
      measure: title("exec → exit: `reload --pidfile FILE` (a running instance)"),
      subject: "flagstaff",
      target: target(STARTUP_TARGETS.command),
      baseline: "exit",
      once: async () => {
        await instance.ensure();
        return await run(cli("reload", ...pidfile));
      },
    },
    {
      measure: title("exec → exit: `check -c app.yml` (the controller's config)"),
      subject: "flagstaff",
      target: target(STARTUP_TARGETS.command),
      baseline: "exit",
      once: () => run(cli("check", "-c", files.controller)),
    },
    {
      measure: title(
        "exec → exit: `stop --pidfile FILE` (a running instance: includes its stop)",
      ),
      subject: "flagstaff",
      target: target(STARTUP_TARGETS.command),
      baseline: "exit",
      once: async () => {
        await instance.ensure();
        return await run(cli("stop", ...pidfile));
      },
    },
  ];
}

/**
 * Measures start-up; `runs` per variant. Targets are ratios to the empty
 * Deno script measured in the same run: the naive loop's exec → ready for
 * `run`, `deno run` of an empty file's exec → exit for the other commands.
 * With `before`, that checkout's rows are measured in the same rounds.
 */
export async function startup(
  context: BenchContext,
  runs: number,
  before?: Before,
): Promise<Section> {
  const files = {
    actions: await actionsConfig(context, 0),
    controller: await controllerConfig(context, 60, 0),
    pidfile: `${context.dir}/startup.pid`,
  };
  const instance = new Instance(context, files.actions, files.pidfile);
  const empty = `${context.dir}/empty.ts`;
  await Deno.writeTextFile(empty, "\n");
  const baselines: Variant[] = [
    {
      measure:
        "exec → ready: the empty Deno script that listens for signals (the baseline of `run`)",
      subject: "deno",
      once: () => toReady(() => startLoop("deno", ["signal", "0"])),
    },
    {
      measure:
        "exec → exit: `deno run` of an empty file, flagstaff's permissions (the baseline of the other commands)",
      subject: "deno",
      once: () => toExit(["run", ...PERMISSION_FLAGS, empty], context.dir),
    },
  ];
  const variants: Variant[] = [
    ...baselines,
    {
      measure:
        "exec → ready: the empty script plus an idle Worker (what flagstaff's hard stop costs)",
      subject: "deno",
      once: () => toReady(() => startLoop("deno", ["signal", "0", "worker"])),
    },
    {
      measure: "exec → ready: the bash loop (`ready` printed once its trap is set)",
      subject: "bash",
      once: () => toReady(() => startLoop("bash", ["signal", "0"])),
    },
    ...flagstaffVariants(context, files, instance, ROOT),
    ...(before ? flagstaffVariants(context, files, instance, before.root, before.label) : []),
  ];
  const compiled = await Deno.stat(COMPILED).then((info) => info.isFile, () => false);
  if (compiled) {
    variants.push({
      measure: "exec → ready: compiled binary `dist/flagstaff run -c app.yml`, actions only",
      subject: "flagstaff",
      baseline: "ready",
      once: () =>
        toReady(() => startFlagstaff(context, ["run", "-c", files.actions], { binary: COMPILED })),
    });
  }
  let times: Map<Variant, number[]>;
  try {
    times = await measure(variants, runs);
  } finally {
    await instance.close();
  }
  const base = {
    ready: summarize(times.get(baselines[0])!).p50,
    exit: summarize(times.get(baselines[1])!).p50,
  };
  const rows: Row[] = [];
  const raw: Record<string, Summary> = {};
  for (const variant of variants) {
    const s = summarize(times.get(variant)!);
    raw[`${variant.subject}: ${variant.measure}`] = s;
    const ratio = variant.baseline ? s.p50 / base[variant.baseline] : undefined;
    const text = ratio === undefined ? spread(s) : `${spread(s)}, ${ratio.toFixed(2)}×`;
    const c: Cell = variant.target !== undefined && ratio !== undefined
      ? atMost(text, ratio, variant.target)
      : cell(text, s.p50);
    rows.push({
      measure: variant.measure,
      cells: { [variant.subject]: c },
      target: variant.target !== undefined ? `median ≤ ${variant.target}× the baseline` : undefined,
    });
  }
  return {
    title: `Start-up: exec to ready (or exit), median (min–max) of ${runs} runs`,
    rows,
    notes: [
      `Ready: ${
        context.ready === "notify"
          ? "flagstaff's `READY=1` on the `NOTIFY_SOCKET` the harness listens on"
          : "flagstaff's ready line on stderr (it does not send `READY=1` yet)"
      }; the loops' \`ready\` line on stdout. Times run from just before spawn to when the harness read it.`,
      "×: the median over the baseline's median from this run: `run` over the empty script's " +
      "exec → ready, the other commands over the empty file's exec → exit.",
      "One warm-up round first, not counted (module and compile caches warm); variants interleaved round-robin.",
      "`status`, `reload` and `stop` work on one running instance (`run -c` actions only, " +
      "`--pidfile`), started again untimed after each `stop`.",
      ...(before
        ? [
          `[before: ${before.label}]: the same rows for that commit, extracted with \`git archive\`, in the same rounds.`,
        ]
        : []),
      compiled
        ? "The compiled binary is `dist/flagstaff` as `deno task compile` left it (it may be older than the source)."
        : "No compiled binary measured: `dist/flagstaff` does not exist (`deno task compile` builds it; " +
          "it cannot here, where `deno compile` cannot download its base binary).",
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
