/**
 * Memory: RSS after start against the empty Deno script's, and growth under
 * signals that each make a run, to 10,000 signals and on to a longer run that
 * shows whether it levels off. Two flagstaff subjects: actions only (the
 * bench action on USR2) and a tool-mode controller whose USR2 hook appends a
 * line to a file (opening and closing it each time, as a simple hook does;
 * flagstaff logs a line for each call); the empty script for scale.
 *
 * Each signal is sent once the run of the one before has started (its stamp
 * on stdout), so every signal makes a run (none merges with a pending one).
 * RSS is read once the process has been quiet and RSS has stopped moving
 * (the heap settled), at each checkpoint.
 *
 * @module
 */

import type { BenchChild } from "./_child.ts";
import type { Before } from "./_startup.ts";
import { delay } from "./_clock.ts";
import { readMemory } from "./_proc.ts";
import { atMost, cell, type Row, type Section } from "./_report.ts";
import {
  actionsConfig,
  type BenchContext,
  controllerConfig,
  type Started,
  startFlagstaff,
  startLoop,
} from "./_subjects.ts";

/** flagstaff's target: RSS 0.5 s after ready, as a multiple of the empty script's. */
export const RSS_RATIO_TARGET = 1.4;
/** flagstaff's target: RSS growth after 10,000 signals, MiB. */
export const SIGNAL_GROWTH_TARGET_MB = 5;

const mb = (kb: number) => kb / 1024;

/**
 * RSS once it moved less than 64 KiB over a second (at most `timeoutMs`), in
 * KiB; it first waits 1.5 s (flagstaff collects garbage one second after a
 * burst of signals).
 */
async function settledRss(pid: number, timeoutMs = 10_000): Promise<number> {
  const end = performance.now() + timeoutMs;
  await delay(1500);
  let last = readMemory(pid).rssKb;
  while (performance.now() < end) {
    await delay(1000);
    const now = readMemory(pid).rssKb;
    if (Math.abs(now - last) < 64) return now;
    last = now;
  }
  return last;
}

/** RSS 0.5 s after ready, in KiB; stops the process. */
async function rssAfterStart(start: () => Promise<Started>): Promise<number> {
  const { child } = await start();
  try {
    await delay(500);
    return readMemory(child.pid).rssKb;
  } finally {
    await child.stop();
  }
}

/** Sends `count` USR2, each once the run before started (a line starting with `stamp`). */
async function pacedSignals(child: BenchChild, count: number, stamp: string): Promise<void> {
  let cursor = child.stdout.length;
  for (let i = 0; i < count; i++) {
    child.kill("SIGUSR2");
    const line = await child.waitLine((text) => text.startsWith(stamp), {
      from: cursor,
      timeoutMs: 5000,
    });
    cursor = child.stdout.indexOf(line, cursor) + 1;
  }
  // The lines are not needed again: keep the harness's own memory flat.
  child.stdout.length = 0;
}

/** RSS (KiB) at start (settled) and after each checkpoint's count of signals. */
async function growth(
  start: () => Promise<Started>,
  stamp: string,
  checkpoints: readonly number[],
): Promise<{ startKb: number; atKb: number[]; tookS: number }> {
  const { child } = await start();
  try {
    const startKb = await settledRss(child.pid);
    const atKb: number[] = [];
    const began = performance.now();
    let sent = 0;
    for (const checkpoint of checkpoints) {
      await pacedSignals(child, checkpoint - sent, stamp);
      sent = checkpoint;
      atKb.push(await settledRss(child.pid));
    }
    return { startKb, atKb, tookS: (performance.now() - began) / 1000 };
  } finally {
    await child.stop();
  }
}

/** Runs the memory bench: RSS ratios, then growth to each of `checkpoints` signals. */
export async function memory(
  context: BenchContext,
  options: { runs: number; checkpoints: readonly number[]; before?: Before },
): Promise<Section> {
  const { runs, checkpoints, before } = options;
  const appendFile = `${context.dir}/usr2_hook.log`;
  const actions = await actionsConfig(context, 0);
  const controller = await controllerConfig(context, 60, 0, appendFile);
  const starts = {
    empty: () => startLoop("deno", ["signal", "0"]),
    worker: () => startLoop("deno", ["signal", "0", "worker"]),
    actions: () => startFlagstaff(context, ["run", "-c", actions]),
    controller: () => startFlagstaff(context, ["run", "-c", controller]),
    usr1: () => startFlagstaff(context, ["run", "--usr1", "print", "x"]),
  };
  // Medians of `runs` starts each, interleaved.
  const samples: Record<keyof typeof starts, number[]> = {
    empty: [],
    worker: [],
    actions: [],
    controller: [],
    usr1: [],
  };
  for (let i = 0; i < runs; i++) {
    for (const [name, start] of Object.entries(starts)) {
      samples[name as keyof typeof starts].push(await rssAfterStart(start));
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const rss = Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, median(values)]),
  ) as Record<keyof typeof starts, number>;
  const ratioCell = (kb: number) => {
    const ratio = kb / rss.empty;
    return atMost(`${mb(kb).toFixed(1)} MB, ${ratio.toFixed(2)}×`, ratio, RSS_RATIO_TARGET);
  };
  const rows: Row[] = [
    {
      measure:
        "RSS 0.5 s after ready: the empty Deno script that listens for signals (the baseline)",
      cells: { deno: cell(`${mb(rss.empty).toFixed(1)} MB`, mb(rss.empty)) },
    },
    {
      measure:
        "RSS 0.5 s after ready: the empty script plus an idle Worker (flagstaff's hard stop is one)",
      cells: {
        deno: cell(
          `${mb(rss.worker).toFixed(1)} MB, ${(rss.worker / rss.empty).toFixed(2)}×`,
          mb(rss.worker),
        ),
      },
    },
    {
      measure: "RSS 0.5 s after ready: `run -c app.yml`, actions only",
      cells: { flagstaff: ratioCell(rss.actions) },
      target: `≤ ${RSS_RATIO_TARGET}× the baseline`,
    },
    {
      measure: "RSS 0.5 s after ready: `run -c app.yml`, tool-mode controller",
      cells: { flagstaff: ratioCell(rss.controller) },
      target: `≤ ${RSS_RATIO_TARGET}× the baseline`,
    },
    {
      measure: "RSS 0.5 s after ready: `run --usr1 print x`",
      cells: { flagstaff: ratioCell(rss.usr1) },
      target: `≤ ${RSS_RATIO_TARGET}× the baseline`,
    },
  ];
  const raw: Record<string, unknown> = { rssKb: samples };
  const root = before?.root;
  const subjects: {
    id: "deno" | "flagstaff";
    name: string;
    start: () => Promise<Started>;
    stamp: string;
  }[] = [
    { id: "deno", name: "the empty script", start: starts.empty, stamp: "S " },
    {
      id: "flagstaff",
      name: "actions only (bench action on USR2)",
      start: starts.actions,
      stamp: "S ",
    },
    {
      id: "flagstaff",
      name: "controller whose USR2 hook logs a line and appends to a file",
      start: starts.controller,
      stamp: "U ",
    },
  ];
  if (before) {
    subjects.push({
      id: "flagstaff",
      name: `actions only [before: ${before.label}]`,
      start: () => startFlagstaff(context, ["run", "-c", actions], { root }),
      stamp: "S ",
    }, {
      id: "flagstaff",
      name:
        `controller whose USR2 hook logs a line and appends to a file [before: ${before.label}]`,
      start: () => startFlagstaff(context, ["run", "-c", controller], { root }),
      stamp: "U ",
    });
  }
  for (const subject of subjects) {
    const result = await growth(subject.start, subject.stamp, checkpoints);
    raw[subject.name] = result;
    const flag = subject.id === "flagstaff" && !subject.name.includes("[before: ");
    const ten = checkpoints.indexOf(10_000);
    if (ten >= 0) {
      const grown = mb(result.atKb[ten] - result.startKb);
      const text = `${grown.toFixed(1)} MB`;
      rows.push({
        measure: `${subject.name}: RSS growth after 10000 signals, settled`,
        cells: {
          [subject.id]: flag ? atMost(text, grown, SIGNAL_GROWTH_TARGET_MB) : cell(text, grown),
        },
        target: flag ? `≤ ${SIGNAL_GROWTH_TARGET_MB} MB` : undefined,
      });
    }
    rows.push({
      measure: `${subject.name}: RSS settled at ${
        ["0", ...checkpoints.map(String)].join(" / ")
      } signals`,
      cells: {
        [subject.id]: cell(
          [result.startKb, ...result.atKb].map((kb) => mb(kb).toFixed(1)).join(" / ") + " MB",
        ),
      },
    });
    if (checkpoints.length >= 2) {
      const last = checkpoints.length - 1;
      const tail = mb(result.atKb[last] - result.atKb[last - 1]);
      rows.push({
        measure: `${subject.name}: growth from ${checkpoints[last - 1]} to ${
          checkpoints[last]
        } signals (a plateau is about 0)`,
        cells: { [subject.id]: cell(`${tail.toFixed(1)} MB`, tail) },
      });
    }
  }
  return {
    title: "Memory: after start, and under signals that each make a run",
    rows,
    notes: [
      `RSS (VmRSS, 1 MB = 1 MiB) 0.5 s after ready: median of ${runs} starts each, interleaved; ` +
      "×: over the empty script's median from this run.",
      "Growth: each USR2 is sent once the run of the one before has started (its stamp on stdout), " +
      "so every signal makes a run; RSS is read 1.5 s after the last one, once it moved less than " +
      "64 KiB over a second. The empty script (naive loop) is signalled the same way, for scale: " +
      "Deno's own memory outside the JavaScript heap grows too over the first signals.",
    ],
    raw,
  };
}
