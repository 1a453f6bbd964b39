/**
 * The one clock of the benchmarks: wall-clock milliseconds as
 * `performance.timeOrigin + performance.now()`, read the same way by the
 * harness and by every Deno child (the bench action, the tick controller,
 * the naive loop); bash stamps with `$EPOCHREALTIME`, the same realtime clock
 * at microsecond resolution.
 *
 * `timeOrigin` is read from the realtime clock when a process starts and
 * `now()` runs on the monotonic clock from there, so two processes agree to
 * within how far the realtime clock was stepped or slewed between their
 * starts. {@link clockOffsetMs} measures that for the harness against
 * `Temporal.Now.instant()` (realtime, read afresh) and the report states it.
 *
 * @module
 */

/** Wall-clock milliseconds, sub-microsecond resolution. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * How far {@link wallMs} is from the realtime clock read now, in
 * milliseconds: the median of `samples` bracketed reads.
 */
export function clockOffsetMs(samples = 21): number {
  const offsets: number[] = [];
  Temporal.Now.instant(); // the first call initialises Temporal: keep it out of the sample
  for (let i = 0; i < samples; i++) {
    const before = wallMs();
    const realtime = Number(Temporal.Now.instant().epochNanoseconds) / 1e6;
    const after = wallMs();
    offsets.push((before + after) / 2 - realtime);
  }
  offsets.sort((a, b) => a - b);
  return offsets[Math.floor(offsets.length / 2)];
}

/**
 * Waits until `deadlineMs` (on {@link wallMs}). With `spin`, a timer for most
 * of the way (so the harness keeps reading its children's output), then a
 * short busy-wait for sub-millisecond accuracy; without, a timer alone, which
 * fires up to about a millisecond late but leaves the CPU to the children.
 */
export async function sleepUntil(deadlineMs: number, spin = true): Promise<void> {
  const remaining = deadlineMs - wallMs();
  if (!spin) {
    if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
    return;
  }
  if (remaining > 2) await new Promise((resolve) => setTimeout(resolve, remaining - 1.5));
  while (wallMs() < deadlineMs) {
    // spin
  }
}

/** Waits `ms` milliseconds on a timer. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
