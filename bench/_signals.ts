/**
 * Signal to action, honesty under load, and memory under signals, for each
 * subject running the bench action on USR2 (flagstaff: `bench/actions/stamp.ts`;
 * the loops: the same stamps). A run writes `S <ms>` when it starts and
 * `E <ms>` when it ends.
 *
 * The harness notes the time just before `Deno.kill(pid, "SIGUSR2")` and
 * just after it returns. Latency runs from the first (an upper bound: the
 * signal cannot have left earlier); a signal is honoured by a run that
 * starts after the second (a lower bound on when it arrived: a run that
 * started before cannot have seen it).
 *
 * @module
 */

import type { BenchChild } from "./_child.ts";
import { delay, sleepUntil, wallMs } from "./_clock.ts";
import { readMemory } from "./_proc.ts";
import { atMost, cell, ms, type Row, type Section } from "./_report.ts";
import { summarize, type Summary } from "./_stats.ts";
import { type BenchContext, startSignalSubject, SUBJECT_IDS, type SubjectId } from "./_subjects.ts";

/** flagstaff's target: p99 signal to action, milliseconds. */
export const LATENCY_P99_TARGET_MS = 1;
/** flagstaff's target: RSS growth after the signal storm, MiB. */
export const RSS_GROWTH_TARGET_MB = 5;

interface Send {
  before: number;
  after: number;
}

/** Run starts (`S`) and ends (`E`) on stdout from line `from`. */
function runs(
  child: BenchChild,
  from = 0,
): { starts: number[]; ends: number[]; maxOverlap: number } {
  const starts: number[] = [];
  const ends: number[] = [];
  let depth = 0;
  let maxOverlap = 0;
  for (const line of child.stdout.slice(from)) {
    if (line.text.startsWith("S ")) {
      starts.push(Number(line.text.slice(2)));
      maxOverlap = Math.max(maxOverlap, ++depth);
    } else if (line.text.startsWith("E ")) {
      ends.push(Number(line.text.slice(2)));
      depth--;
    }
  }
  return { starts, ends, maxOverlap };
}

function send(child: BenchChild): Send {
  const before = wallMs();
  child.kill("SIGUSR2");
  return { before, after: wallMs() };
}

/** Waits until no run is in flight and nothing new was written for `quietMs`. */
async function settle(child: BenchChild, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = wallMs() + timeoutMs;
  while (wallMs() < deadline && !child.exited) {
    const seen = child.stdout.length;
    const { starts, ends } = runs(child);
    await delay(quietMs);
    if (child.stdout.length === seen && starts.length === ends.length) return;
  }
}

/**
 * Latency of `count` signals to each subject, `spacingMs` apart per subject,
 * action of 0 ms. The subjects run side by side and take turns (subject `j`
 * of `n` is signalled `j × spacingMs / n` after the first), so a slow patch
 * of the machine falls on all of them alike. The harness waits on timers, not
 * spinning, to leave the CPU to the subjects; the spacing is kept on absolute
 * deadlines and is late by at most about a millisecond.
 */
async function latencyAll(context: BenchContext, count: number, spacingMs: number) {
  const children: BenchChild[] = [];
  try {
    for (const id of SUBJECT_IDS) children.push((await startSignalSubject(context, id, 0)).child);
    await delay(300);
    const sends: Send[][] = children.map(() => []);
    const t0 = wallMs() + 20;
    for (let i = 0; i < count; i++) {
      for (const [j, child] of children.entries()) {
        await sleepUntil(t0 + (i + j / children.length) * spacingMs, false);
        sends[j].push(send(child));
      }
    }
    await delay(200);
    return children.map((child, j) => {
      const { starts } = runs(child);
      const latencies: number[] = [];
      let missing = 0;
      for (const [i, s] of sends[j].entries()) {
        const next = sends[j][i + 1]?.before ?? Infinity;
        const start = starts.find((t) => t >= s.before && t < next);
        if (start === undefined) missing++;
        else latencies.push(start - s.before);
      }
      return {
        latency: summarize(latencies),
        samplesMs: latencies.map((ms) => Math.round(ms * 1000) / 1000),
        first: latencies[0],
        missing,
        killUs: summarize(sends[j].map((s) => (s.after - s.before) * 1000)),
      };
    });
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

/** `count` signals sent `spacingMs` apart (0: as fast as possible), action of `actionMs`. */
async function loadOf(
  context: BenchContext,
  id: SubjectId,
  count: number,
  spacingMs: number,
  actionMs: number,
  measureMemory: boolean,
) {
  const { child } = await startSignalSubject(context, id, actionMs);
  await using _ = child;
  await delay(500);
  const memoryStart = measureMemory ? readMemory(child.pid) : undefined;
  const sends: Send[] = [];
  const began = wallMs();
  if (spacingMs === 0) {
    for (let i = 0; i < count; i++) sends.push(send(child));
  } else {
    for (let i = 0; i < count; i++) {
      await sleepUntil(began + i * spacingMs);
      sends.push(send(child));
    }
  }
  const sentMs = wallMs() - began;
  const last = sends.at(-1)!;
  // The final signal's run: one that starts after it arrived.
  let honoured = true;
  try {
    await child.wait(
      () => runs(child).starts.some((t) => t > last.after),
      Math.max(5000, actionMs * 20),
      "final run",
    );
  } catch {
    honoured = false;
  }
  await settle(child, Math.max(200, actionMs * 3), 30_000);
  const survived = !child.exited;
  const memoryEnd = measureMemory && survived ? readMemory(child.pid) : undefined;
  const { starts, maxOverlap } = runs(child);
  // How long each signal waited for a run that starts after it.
  const waits: number[] = [];
  let unhonoured = 0;
  for (const s of sends) {
    const start = starts.find((t) => t > s.after);
    if (start === undefined) unhonoured++;
    else waits.push(start - s.after);
  }
  return {
    runs: starts.length,
    survived,
    honoured,
    unhonoured,
    maxOverlap,
    sentMs,
    wait: summarize(waits),
    memoryStart,
    memoryEnd,
  };
}

/**
 * `count` signals, each sent 0–`windowUs` µs (uniformly drawn) after the run
 * before it started, action of `actionMs`: a lost signal is one that no new
 * run (after the one seen) starting after `kill()` began follows within a
 * second (then an uncounted signal restarts the chain). The start of
 * `kill()` is the bound here, not its end: a subject that is awake may start
 * the run before `kill()` has returned to the harness, and no run other than
 * the one this signal asks for is due at that moment.
 */
async function raceOf(
  context: BenchContext,
  id: SubjectId,
  count: number,
  windowUs: number,
  actionMs: number,
) {
  const { child } = await startSignalSubject(context, id, actionMs);
  await using _ = child;
  let lost = 0;
  const offsetsUs: number[] = [];
  let cursor = 0;
  // The run the first signal follows.
  const kick = async () => {
    const s = send(child);
    const line = await child.waitLine(
      (text) => text.startsWith("S ") && Number(text.slice(2)) > s.after,
      { from: cursor, timeoutMs: 5000 },
    );
    cursor = child.stdout.indexOf(line) + 1;
    return Number(line.text.slice(2));
  };
  let runStart = await kick();
  for (let i = 0; i < count; i++) {
    await sleepUntil(runStart + Math.random() * windowUs / 1000);
    const s = send(child);
    offsetsUs.push((s.before - runStart) * 1000);
    try {
      const line = await child.waitLine(
        (text) => text.startsWith("S ") && Number(text.slice(2)) > s.before,
        { from: cursor, timeoutMs: 1000 },
      );
      cursor = child.stdout.indexOf(line, cursor) + 1;
      runStart = Number(line.text.slice(2));
    } catch {
      if (child.exited) {
        lost += count - i;
        break;
      }
      lost++;
      cursor = child.stdout.length;
      runStart = await kick();
    }
  }
  return { lost, offsetUs: summarize(offsetsUs), survived: !child.exited };
}

function mb(kb: number | undefined): number {
  return kb === undefined ? NaN : kb / 1024;
}

/** Options for {@link signals}. */
export interface SignalBenchOptions {
  /** Signals in the latency test (spaced 20 ms). */
  latencyCount: number;
  /** Signals in the storm (as fast as possible, 50 ms action). */
  stormCount: number;
  /** Signals 5 ms apart (50 ms action). */
  spacedCount: number;
  /** Signals sent just after a run started. */
  raceCount: number;
}

/** Signal to action, honesty under load, memory: three sections. */
export async function signals(
  context: BenchContext,
  options: SignalBenchOptions,
): Promise<Section[]> {
  const latency: Row[] = [
    { measure: "p50", cells: {} },
    { measure: "p90", cells: {} },
    { measure: "p99", cells: {} },
    { measure: "max", cells: {} },
    { measure: "first signal", cells: {} },
    { measure: "signals with no run before the next one", cells: {} },
  ];
  latency[2].target = `≤ ${LATENCY_P99_TARGET_MS} ms`;
  latency[5].target = "0";
  const load: Row[] = [];
  const memory: Row[] = [
    { measure: "RSS 0.5 s after ready (the target is in the memory section)", cells: {} },
    { measure: "peak RSS (VmHWM) after start", cells: {} },
    {
      measure: `RSS after ${options.stormCount} signals (storm below), settled`,
      cells: {},
    },
    { measure: "growth", cells: {}, target: `≤ ${RSS_GROWTH_TARGET_MB} MB` },
  ];
  const raw: Record<string, unknown> = {};
  const row = (measure: string, target?: string) => {
    let found = load.find((r) => r.measure === measure);
    if (!found) load.push(found = { measure, cells: {}, target });
    return found;
  };
  const killUs: number[] = [];
  const latencies = await latencyAll(context, options.latencyCount, 20);
  for (const [j, id] of SUBJECT_IDS.entries()) {
    const l = latencies[j];
    killUs.push(l.killUs.p50);
    const flag = id === "flagstaff";
    latency[0].cells[id] = cell(ms(l.latency.p50), l.latency.p50);
    latency[1].cells[id] = cell(ms(l.latency.p90), l.latency.p90);
    latency[2].cells[id] = flag
      ? atMost(ms(l.latency.p99), l.latency.p99, LATENCY_P99_TARGET_MS)
      : cell(ms(l.latency.p99), l.latency.p99);
    latency[3].cells[id] = cell(ms(l.latency.max), l.latency.max);
    latency[4].cells[id] = cell(ms(l.first), l.first);
    latency[5].cells[id] = flag ? atMost(String(l.missing), l.missing, 0) : cell(String(l.missing));

    const storm = await loadOf(context, id, options.stormCount, 0, 50, true);
    const spaced = await loadOf(context, id, options.spacedCount, 5, 50, false);
    const race = await raceOf(context, id, options.raceCount, 300, 2);
    raw[id] = { latency: l, storm, spaced, race };

    const yes = (ok: boolean) => ok ? "yes" : "NO";
    const stormName = `${options.stormCount} USR2 as fast as possible, 50 ms action`;
    row(`${stormName}: runs (max overlapping)`).cells[id] = cell(
      `${storm.runs} (${storm.maxOverlap})`,
      storm.runs,
    );
    row(`${stormName}: survived`, "yes").cells[id] = flag
      ? { text: yes(storm.survived), met: storm.survived }
      : cell(yes(storm.survived));
    row(`${stormName}: final signal honoured`, "yes").cells[id] = flag
      ? { text: yes(storm.honoured), met: storm.honoured }
      : cell(yes(storm.honoured));
    const spacedName = `${options.spacedCount} USR2 5 ms apart, 50 ms action`;
    row(`${spacedName}: runs (max overlapping)`).cells[id] = cell(
      `${spaced.runs} (${spaced.maxOverlap})`,
      spaced.runs,
    );
    row(`${spacedName}: final signal honoured`, "yes").cells[id] = flag
      ? { text: yes(spaced.honoured && spaced.survived), met: spaced.honoured && spaced.survived }
      : cell(yes(spaced.honoured && spaced.survived));
    row(`${spacedName}: longest wait from a signal to a run that starts after it`)
      .cells[id] = cell(ms(spaced.wait.max), spaced.wait.max);
    const raceName =
      `${options.raceCount} USR2 each 0–300 µs after the previous run started, 2 ms action`;
    row(`${raceName}: lost`, "0").cells[id] = flag
      ? atMost(String(race.lost), race.lost, 0)
      : cell(String(race.lost), race.lost);
    row(`${raceName}: achieved offset p50 / p90`).cells[id] = cell(
      `${race.offsetUs.p50.toFixed(0)} / ${race.offsetUs.p90.toFixed(0)} µs`,
    );

    const start = storm.memoryStart;
    const end = storm.memoryEnd;
    memory[0].cells[id] = cell(`${mb(start?.rssKb).toFixed(1)} MB`, mb(start?.rssKb));
    memory[1].cells[id] = cell(`${mb(start?.hwmKb).toFixed(1)} MB`, mb(start?.hwmKb));
    memory[2].cells[id] = cell(`${mb(end?.rssKb).toFixed(1)} MB`, mb(end?.rssKb));
    const growth = mb(end?.rssKb) - mb(start?.rssKb);
    memory[3].cells[id] = flag
      ? atMost(`${growth.toFixed(1)} MB`, growth, RSS_GROWTH_TARGET_MB)
      : cell(`${growth.toFixed(1)} MB`, growth);
  }
  return [
    {
      title: `Signal to action: ${options.latencyCount} USR2 spaced 20 ms, action of 0 ms`,
      rows: latency,
      notes: [
        "From just before `Deno.kill()` in the harness to the action's start stamp, both on " +
        `wall-clock time (see the clock note above); \`kill()\` itself took ${
          killUs.map((u) => u.toFixed(1)).join(" / ")
        } µs (p50, per subject), the most the figures can be over.`,
        "The three run side by side and are signalled in turn (one every 6.7 ms), so noise falls on all alike.",
        "bash stamps with `$EPOCHREALTIME` (no fork); its trap runs when `wait` is interrupted.",
      ],
      raw: Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [k, (v as { latency: unknown }).latency]),
      ),
    },
    {
      title: "Honesty under load",
      rows: load,
      notes: [
        "Honoured: a run starts after the signal was sent (after `kill()` returned). " +
        "The kernel merges a signal that is already pending, so runs are fewer than signals for every subject; " +
        "what must never happen is a last signal with no run after it.",
        "Overlapping: runs in flight at once (the naive loop starts one per delivery; bash runs a trap " +
        "again between the commands of the trap in flight).",
        "Race: the harness sees a run's `S` stamp on the pipe, then sends the next signal a random " +
        "0–300 µs after that stamp (later when the line arrived late: see the achieved offsets); " +
        "lost = no new run starting after `kill()` began within 1 s (here the start of `kill()` is " +
        "the bound: an awake subject may start the run before `kill()` returns, and no other run is due).",
      ],
      raw: Object.fromEntries(
        Object.entries(raw).map(([k, v]) => {
          const { storm, spaced, race } = v as Record<string, unknown>;
          return [k, { storm, spaced, race }];
        }),
      ),
    },
    {
      title: "Memory (the storm's process)",
      rows: memory,
      notes: [
        "`/proc/PID/status`: VmRSS 0.5 s after ready, and once the storm's runs have ended and " +
        "output has been quiet; 1 MB = 1 MiB.",
      ],
    },
  ];
}

export type { Summary };
