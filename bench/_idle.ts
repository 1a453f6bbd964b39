/**
 * Idle cost: each subject ticking every 60 s with nothing to do, all three
 * at once (they sleep, so they do not disturb each other), measured from
 * `/proc` over a window that starts 2 s after ready (after start-up's own
 * work): context switches per second and CPU, summed over every thread.
 *
 * @module
 */

import { delay } from "./_clock.ts";
import { type Activity, activity, readMemory, sampleProcess } from "./_proc.ts";
import { atMost, cell, type Row, type Section } from "./_report.ts";
import { type BenchContext, startTickSubject, SUBJECT_IDS, type SubjectId } from "./_subjects.ts";

/** flagstaff's target: context switches per second when idle. */
export const IDLE_SWITCHES_TARGET = 1;

/** Measures idle cost over `windowS` seconds. */
export async function idle(context: BenchContext, windowS: number): Promise<Section> {
  const started = [];
  for (const id of SUBJECT_IDS) started.push({ id, ...await startTickSubject(context, id, 60, 0) });
  const result: Partial<Record<SubjectId, Activity & { rssKb: number }>> = {};
  try {
    await delay(2000);
    const before = started.map((s) => sampleProcess(s.child.pid));
    await delay(windowS * 1000);
    const after = started.map((s) => sampleProcess(s.child.pid));
    for (const [i, s] of started.entries()) {
      result[s.id] = { ...activity(before[i], after[i]), rssKb: readMemory(s.child.pid).rssKb };
    }
  } finally {
    await Promise.all(started.map((s) => s.child.stop()));
  }
  const rows: Row[] = [
    { measure: "context switches per second", cells: {}, target: `≤ ${IDLE_SWITCHES_TARGET}` },
    { measure: "CPU (share of one core)", cells: {} },
    { measure: "threads", cells: {} },
    { measure: "RSS", cells: {} },
  ];
  for (const id of SUBJECT_IDS) {
    const a = result[id]!;
    const perS = a.switches / a.seconds;
    rows[0].cells[id] = id === "flagstaff"
      ? atMost(perS.toFixed(2), perS, IDLE_SWITCHES_TARGET)
      : cell(perS.toFixed(2), perS);
    const share = a.cpuMs / (a.seconds * 1000) * 100;
    rows[1].cells[id] = cell(`${share.toFixed(3)} % (${a.cpuMs.toFixed(1)} ms)`, share);
    rows[2].cells[id] = cell(String(a.threadCount), a.threadCount);
    rows[3].cells[id] = cell(`${(a.rssKb / 1024).toFixed(1)} MB`, a.rssKb / 1024);
  }
  const busy = Object.entries(result.flagstaff!.byThread).filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n}`).join(", ");
  return {
    title: `Idle: wake interval 60 s, nothing to do, ${windowS} s window`,
    rows,
    notes: [
      "Summed over `/proc/PID/task/*/status` (voluntary + involuntary switches) and `schedstat` (CPU); " +
      "flagstaff runs the bench controller, bash `sleep 60 & wait`, the naive loop `setInterval(…, 60000)`.",
      `flagstaff's switches by thread: ${busy || "none"}.`,
    ],
    raw: result,
  };
}
