/**
 * The wake schedule, and schedules.
 *
 * Schedules: flagstaff with `--every 1s stamp 0` (`bench/actions/stamp.ts`
 * writes `S <ms>` when each run starts). Each run is due at a whole second
 * of the wall clock (`every:` is anchored on the epoch); its drift is its
 * start minus that second. The target is on the 30th run: absolute
 * deadlines do not accumulate error.
 *
 * The wake schedule: `count` ticks every `intervalS`, each tick busy for 0 %
 * or 30 % of the interval (a CPU busy-wait in every subject, as real work;
 * it holds off the subject's timers while it runs). Each tick writes `T <ms>`
 * when it starts.
 *
 * - flagstaff: the bench controller (`bench/_tick_controller.ts`).
 * - bash: stamp, busy-wait, `sleep INTERVAL & wait`: work plus sleep.
 * - naive Deno: `setInterval(process, INTERVAL)`.
 *
 * Drift is the last tick against the ideal schedule `first + n × interval`;
 * jitter the standard deviation of the periods.
 *
 * @module
 */

import { atMost, cell, ms, type Row, type Section } from "./_report.ts";
import { mean, percentile, stddev } from "./_stats.ts";
import {
  type BenchContext,
  ROOT,
  startFlagstaff,
  startTickSubject,
  SUBJECT_IDS,
  type SubjectId,
} from "./_subjects.ts";

/** flagstaff's target: |drift| of the last tick, milliseconds. */
export const DRIFT_TARGET_MS = 2;

/** One schedule case. */
export interface ScheduleCase {
  /** Seconds between ticks. */
  intervalS: number;
  /** Share of the interval each tick is busy, 0–1. */
  busy: number;
  /** Ticks to collect. */
  count: number;
}

async function ticksOf(context: BenchContext, id: SubjectId, c: ScheduleCase) {
  const intervalMs = c.intervalS * 1000;
  const { child } = await startTickSubject(context, id, c.intervalS, intervalMs * c.busy);
  await using _ = child;
  const stamps = () =>
    child.stdout.filter((l) => l.text.startsWith("T ")).map((l) => Number(l.text.slice(2)));
  await child.wait(
    () => stamps().length >= c.count,
    c.count * intervalMs * 2 + 10_000,
    `${c.count} ticks`,
  );
  const ticks = stamps().slice(0, c.count);
  const periods = ticks.slice(1).map((t, i) => t - ticks[i]);
  const deviations = ticks.map((t, i) => t - (ticks[0] + i * intervalMs));
  const errors = deviations.slice(1).map(Math.abs);
  return {
    meanPeriodMs: mean(periods),
    driftMs: deviations.at(-1)!,
    errorP50Ms: percentile(errors, 50),
    errorMaxMs: Math.max(...errors),
    jitterMs: stddev(periods),
    ticks,
  };
}

/** `--every 1s`: the start of each of `count` runs against its whole second. */
async function everyRuns(context: BenchContext, count: number) {
  const file = `${context.dir}/every.yml`;
  await Deno.writeTextFile(
    file,
    [
      "Daemon:",
      `  state_dir: ${context.dir}/state`,
      "Actions:",
      `  stamp: ${ROOT}bench/actions/stamp.ts`,
      "",
    ].join("\n"),
  );
  const { child } = await startFlagstaff(context, [
    "run",
    "-c",
    file,
    "--every",
    "1s",
    "stamp",
    "0",
  ]);
  await using _ = child;
  const stamps = () =>
    child.stdout.filter((l) => l.text.startsWith("S ")).map((l) => Number(l.text.slice(2)));
  await child.wait(() => stamps().length >= count, count * 1000 * 2 + 10_000, `${count} runs`);
  const runs = stamps().slice(0, count);
  // Due at the whole second at or before the start (a run is never early).
  const drifts = runs.map((t) => t - Math.floor(t / 1000) * 1000);
  return {
    driftMs: drifts.at(-1)!,
    driftP50Ms: percentile(drifts, 50),
    driftMaxMs: Math.max(...drifts),
    runs,
  };
}

/** The `--every 1s` rows: flagstaff only (the other subjects have no schedules). */
async function everySection(context: BenchContext, count: number) {
  const r = await everyRuns(context, count);
  const rows: Row[] = [
    {
      measure: `\`--every 1s\`, ${count} runs: drift of run ${count} (start − its whole second)`,
      cells: { flagstaff: atMost(ms(r.driftMs), r.driftMs, DRIFT_TARGET_MS) },
      target: `≤ ${DRIFT_TARGET_MS} ms`,
    },
    {
      measure: `\`--every 1s\`, ${count} runs: drift median / max`,
      cells: { flagstaff: cell(`${ms(r.driftP50Ms)} / ${ms(r.driftMaxMs)}`, r.driftMaxMs) },
    },
  ];
  return { rows, raw: r };
}

async function sequence<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (const task of tasks) results.push(await task());
  return results;
}

/** Runs each case for each subject: side by side when the ticks are idle, else one at a time. */
export async function schedule(
  context: BenchContext,
  cases: readonly ScheduleCase[],
  everyCount = 30,
): Promise<Section> {
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  for (const c of cases) {
    const label = `${c.count} ticks at ${c.intervalS} s, process() ${c.busy * 100} %`;
    const period: Row = { measure: `${label}: mean period`, cells: {} };
    const drift: Row = {
      measure: `${label}: drift of the last tick`,
      cells: {},
      target: `≤ ${DRIFT_TARGET_MS} ms`,
    };
    const jitter: Row = { measure: `${label}: jitter (stddev of periods)`, cells: {} };
    const error: Row = {
      measure: `${label}: |tick − (first + n × interval)|, median / max`,
      cells: {},
    };
    // Idle between ticks, the subjects cannot disturb each other: run them side by side.
    // Busy, they could (two cores): one at a time.
    const results = c.busy === 0
      ? await Promise.all(SUBJECT_IDS.map((id) => ticksOf(context, id, c)))
      : await sequence(SUBJECT_IDS.map((id) => () => ticksOf(context, id, c)));
    for (const [j, id] of SUBJECT_IDS.entries()) {
      const r = results[j];
      raw[`${id}: ${label}`] = r;
      period.cells[id] = cell(ms(r.meanPeriodMs), r.meanPeriodMs);
      drift.cells[id] = id === "flagstaff"
        ? atMost(ms(r.driftMs), Math.abs(r.driftMs), DRIFT_TARGET_MS)
        : cell(ms(r.driftMs), r.driftMs);
      jitter.cells[id] = cell(ms(r.jitterMs), r.jitterMs);
      error.cells[id] = cell(`${ms(r.errorP50Ms)} / ${ms(r.errorMaxMs)}`, r.errorMaxMs);
    }
    rows.push(period, drift, jitter, error);
  }
  if (everyCount > 0) {
    const every = await everySection(context, everyCount);
    rows.push(...every.rows);
    raw[`flagstaff: --every 1s, ${everyCount} runs`] = every.raw;
  }
  return {
    title: "Wake schedule and schedules",
    rows,
    notes: [
      "Drift: last tick minus (first tick + (n−1) × interval); positive is late. The first tick is " +
      "the reference: when it ran late (flagstaff's runs right after set-up), the others look early by as much. " +
      "Busy: a CPU busy-wait for that share of the interval inside each tick.",
      "At 0 % the three subjects run side by side (they sleep between ticks); at 30 % one at a time " +
      "(three busy-waits on two cores would delay each other's timers).",
      "Jitter of a fixed-rate schedule counts a late tick twice (the period before it is long, the one " +
      "after it short, as the schedule catches up); `setInterval` counts it once and keeps the delay as drift.",
      "bash sleeps the interval after the work, so each period is interval + work + the fork of `sleep`; " +
      "`setInterval` and flagstaff keep a fixed rate.",
      "`--every 1s`: a schedule's runs are due at whole seconds of the wall clock; drift is each " +
      "run's start (stamped by the action) minus its second, so it cannot be hidden by a late " +
      "first run. Only flagstaff has schedules.",
    ],
    raw,
  };
}
