/**
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
import { type BenchContext, startTickSubject, SUBJECT_IDS, type SubjectId } from "./_subjects.ts";

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

async function sequence<T>(tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (const task of tasks) results.push(await task());
  return results;
}

/** Runs each case for each subject: side by side when the ticks are idle, else one at a time. */
export async function schedule(
  context: BenchContext,
  cases: readonly ScheduleCase[],
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
  return {
    title: "Wake schedule",
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
    ],
    raw,
  };
}
