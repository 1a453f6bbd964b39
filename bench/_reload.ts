/**
 * Memory across reloads: flagstaff with three actions from an actions folder
 * (unchanged between reloads) gets `count` HUPs, each sent once the previous
 * reload has finished (its "Config reloaded" line), and RSS is read from
 * `/proc` at start, after a warm-up and at the end. Before content-keyed
 * imports, every reload imported every action module anew (1,000 reloads:
 * +200 MB, and it never stopped growing). Now the first reloads grow RSS while
 * V8 sized its heap for the garbage a reload makes (parsing YAML, building
 * the new action set), about 70 MB before levelling off, until flagstaff
 * began to collect it after each reload (`lib/runtime/heap.ts`).
 *
 * @module
 */

import { readMemory } from "./_proc.ts";
import { atMost, cell, type Row, type Section } from "./_report.ts";
import { type BenchContext, ROOT, startFlagstaff } from "./_subjects.ts";

/** flagstaff's target: RSS growth over the reloads, MiB. */
export const RELOAD_GROWTH_TARGET_MB = 10;

const mb = (kb: number) => kb / 1024;

/** Runs the reload bench: `count` reloads after `warmUp` reloads. */
export async function reloads(
  context: BenchContext,
  count: number,
  warmUp = count,
): Promise<Section> {
  const folder = `${context.dir}/reload`;
  await Deno.mkdir(`${folder}/actions`, { recursive: true });
  for (const name of ["one", "two", "three"]) {
    await Deno.copyFile(`${ROOT}bench/actions/stamp.ts`, `${folder}/actions/${name}.ts`);
  }
  const config = `${folder}/app.yml`;
  await Deno.writeTextFile(
    config,
    "Signals:\n  usr1: [{one: 0}, {two: 0}]\n  usr2: [{three: 0}]\n",
  );
  const started = await startFlagstaff(context, ["run", "-c", config]);
  const child = started.child;
  try {
    let seen = 0;
    const reload = async () => {
      child.kill("SIGHUP");
      seen++;
      const target = seen;
      await child.wait(
        () => child.stderr.filter((l) => l.text.includes("Config reloaded")).length >= target,
        30_000,
        `reload ${target}`,
      );
    };
    const atStart = readMemory(child.pid);
    for (let i = 0; i < warmUp; i++) await reload();
    const before = readMemory(child.pid);
    const began = performance.now();
    for (let i = 0; i < count; i++) await reload();
    const tookS = (performance.now() - began) / 1000;
    const after = readMemory(child.pid);
    const growth = mb(after.rssKb - before.rssKb);
    const first = mb(before.rssKb - atStart.rssKb);
    const rows: Row[] = [
      {
        measure: "RSS when ready",
        cells: { flagstaff: cell(`${mb(atStart.rssKb).toFixed(1)} MB`, mb(atStart.rssKb)) },
      },
      {
        measure: `RSS growth over the first ${warmUp} reloads`,
        cells: { flagstaff: atMost(`${first.toFixed(1)} MB`, first, RELOAD_GROWTH_TARGET_MB) },
        target: `≤ ${RELOAD_GROWTH_TARGET_MB} MB`,
      },
      {
        measure: `RSS growth over ${count} more reloads`,
        cells: { flagstaff: atMost(`${growth.toFixed(1)} MB`, growth, RELOAD_GROWTH_TARGET_MB) },
        target: `≤ ${RELOAD_GROWTH_TARGET_MB} MB`,
      },
      {
        measure: "reloads per second (each followed by a full garbage collection)",
        cells: { flagstaff: cell((count / tookS).toFixed(0), count / tookS) },
      },
    ];
    return {
      title: `Memory across reloads: ${count} HUPs, three unchanged actions from an actions folder`,
      rows,
      notes: [
        'Each HUP is sent once the previous reload logged "Config reloaded"; RSS from /proc/PID/status (VmRSS).',
      ],
      raw: { atStart, before, after, count, warmUp, tookS },
    };
  } finally {
    await child.stop();
  }
}
