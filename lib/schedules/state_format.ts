/**
 * The schedules' state file format, version 1: JSON with the writer's pid,
 * each schedule's last run (for `catch_up`) and its next run (for `status`).
 * {@link parseScheduleState} reads it leniently (a bad entry is "never ran",
 * said through a callback); {@link formatScheduleState} writes it.
 * `state_file.ts` reads and writes the file itself.
 *
 * @module
 */

/** Largest state file read or written, in bytes (64 KiB: some thousand schedules). */
export const MAX_STATE_BYTES = 64 * 1024;

/** The file format version this module reads and writes. */
const VERSION = 1;

/** A schedule's next run, as the running instance planned it (for `status`). */
export interface NextRun {
  /** The schedule's name. */
  readonly name: string;
  /** Its timetable's description: `every 1h`, `cron "0 3 * * *" (Europe/Berlin)`. */
  readonly timetable: string;
  /** The IANA time zone its times are shown in. */
  readonly timezone: string;
  /** When it fires next, jitter included (Unix epoch ms); null when no run is left. */
  readonly atMs: number | null;
}

/** What a state file holds. */
export interface ScheduleState {
  /** The pid of the process that wrote it; undefined when none is recorded. */
  readonly pid: number | undefined;
  /** Schedule name → its last run (Unix epoch ms). */
  readonly lastRuns: Map<string, number>;
  /** Each schedule's next run, in the order configured. */
  readonly nextRuns: readonly NextRun[];
}

/**
 * Parses a state file's bytes; undefined (after `invalid(reason)`) when the
 * whole file is unusable. Entries that are unusable are left out, each
 * reported. Pure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseScheduleState } from "./state_format.ts";
 * const reasons: string[] = [];
 * const state = parseScheduleState(
 *   new TextEncoder().encode('{"version":1,"pid":7,"lastRuns":{"a":"1970-01-01T00:00:01Z","b":3}}'),
 *   (reason) => reasons.push(reason),
 * );
 * assert.equal(state?.pid, 7);
 * assert.deepEqual([...state!.lastRuns], [["a", 1000]]);
 * assert.deepEqual(reasons, ['has no valid time for "b"']);
 * ```
 */
export function parseScheduleState(
  bytes: Uint8Array,
  invalid: (reason: string) => void = () => {},
): ScheduleState | undefined {
  if (bytes.length > MAX_STATE_BYTES) {
    invalid(`is larger than ${MAX_STATE_BYTES} bytes`);
    return undefined;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    invalid("is not valid UTF-8");
    return undefined;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    invalid("is not valid JSON");
    return undefined;
  }
  if (!isRecord(data) || data.version !== VERSION || !isRecord(data.lastRuns)) {
    invalid(`is not a version ${VERSION} state file`);
    return undefined;
  }
  const lastRuns = new Map<string, number>();
  for (const [name, value] of Object.entries(data.lastRuns)) {
    const ms = typeof value === "string" ? Date.parse(value) : NaN;
    if (Number.isFinite(ms)) lastRuns.set(name, ms);
    else invalid(`has no valid time for ${JSON.stringify(name)}`);
  }
  const pid = Number.isSafeInteger(data.pid) && (data.pid as number) > 0
    ? data.pid as number
    : undefined;
  const nextRuns: NextRun[] = [];
  for (const entry of Array.isArray(data.nextRuns) ? data.nextRuns : []) {
    if (
      !isRecord(entry) || typeof entry.name !== "string" || typeof entry.timetable !== "string" ||
      typeof entry.timezone !== "string" || !(entry.at === null || typeof entry.at === "string")
    ) continue;
    const atMs = entry.at === null ? null : Date.parse(entry.at);
    if (atMs !== null && !Number.isFinite(atMs)) continue;
    nextRuns.push({ name: entry.name, timetable: entry.timetable, timezone: entry.timezone, atMs });
  }
  return { pid, lastRuns, nextRuns };
}

/**
 * A state file's text: sorted last runs, next runs in the order given. Pure.
 *
 * @throws {Error} When it would be larger than {@link MAX_STATE_BYTES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatScheduleState } from "./state_format.ts";
 * const text = formatScheduleState({ pid: 7, lastRuns: new Map([["a", 0]]), nextRuns: [] });
 * assert.deepEqual(JSON.parse(new TextDecoder().decode(text)), {
 *   version: 1,
 *   pid: 7,
 *   lastRuns: { a: "1970-01-01T00:00:00.000Z" },
 *   nextRuns: [],
 * });
 * ```
 */
export function formatScheduleState(state: ScheduleState): Uint8Array {
  const lastRuns = [...state.lastRuns].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, ms]) => [name, new Date(ms).toISOString()]);
  const text = JSON.stringify(
    {
      version: VERSION,
      pid: state.pid,
      lastRuns: Object.fromEntries(lastRuns),
      nextRuns: state.nextRuns.map((next) => ({
        name: next.name,
        timetable: next.timetable,
        timezone: next.timezone,
        at: next.atMs === null ? null : new Date(next.atMs).toISOString(),
      })),
    },
    null,
    2,
  );
  const bytes = new TextEncoder().encode(text + "\n");
  if (bytes.length > MAX_STATE_BYTES) {
    throw new Error(`it would be larger than ${MAX_STATE_BYTES} bytes`);
  }
  return bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
