/**
 * The schedules' state: when each schedule last ran (for `catch_up: true`,
 * like systemd's `Persistent=true`) and, for `status`, which process wrote it
 * and each schedule's next run; one small JSON file, `schedules.json`, in the
 * state folder (`Daemon.state_dir`, by default `defaultStateDir()` of
 * `state_dir.ts`):
 *
 * ```json
 * {
 *   "version": 1,
 *   "pid": 4242,
 *   "lastRuns": { "backup": "2025-06-01T01:00:00.412Z" },
 *   "nextRuns": [
 *     { "name": "backup", "timetable": "cron \"0 3 * * *\" (Europe/Berlin)",
 *       "timezone": "Europe/Berlin", "at": "2025-06-02T01:00:00.000Z" }
 *   ]
 * }
 * ```
 *
 * Reading never fails: a missing, unreadable, oversized, non-regular or
 * corrupt file (or entry) means "never ran", and the reason is handed to
 * `onInvalid` for a warning. Nothing at the path is followed or opened
 * unless it is a regular file (`lib/os/atomic_file.ts`): a FIFO does not
 * block, a link does not lead elsewhere. Writing is atomic: a temp file
 * with a random name in the same folder, flushed, renamed over the file (a
 * crash leaves the old or the new file; a link or hard link planted at the
 * path is replaced, not written through). The folder is made mode 0700, the
 * file mode 0600.
 *
 * @module
 */

import { join } from "node:path";
import { ensurePrivateFolder, readSmallFile, writeFileAtomically } from "../os/atomic_file.ts";

/** The state file's name inside the state folder. */
export const SCHEDULE_STATE_FILE = "schedules.json";

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

/** Options for {@link readScheduleState}. */
export interface ReadScheduleStateOptions {
  /**
   * Called with the reason when the file or an entry is ignored (and taken
   * as "never ran"): `is not valid JSON`, `is not a regular file`, …; not
   * called for a missing file. Default: ignore silently.
   */
  onInvalid?: (reason: string) => void;
}

/**
 * Reads a state file. Never throws for the file's sake: see the module doc.
 * Needs `--allow-ffi`.
 *
 * @param file The state file's path.
 * @returns Its content; empty (no pid, no runs) when the file is missing or
 *   unusable, without the entries that are unusable.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { readScheduleState } from "./state_file.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(readScheduleState(`${dir}/schedules.json`).lastRuns.size, 0);
 * await Deno.writeTextFile(`${dir}/schedules.json`, "{ oops");
 * const reasons: string[] = [];
 * readScheduleState(`${dir}/schedules.json`, { onInvalid: (r) => reasons.push(r) });
 * assert.match(reasons[0], /not valid JSON/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function readScheduleState(
  file: string,
  options: ReadScheduleStateOptions = {},
): ScheduleState {
  const empty = (): ScheduleState => ({ pid: undefined, lastRuns: new Map(), nextRuns: [] });
  const invalid = (reason: string) => {
    options.onInvalid?.(`Schedule state "${file}" ${reason}; taken as never ran`);
  };
  let bytes: Uint8Array | undefined;
  try {
    bytes = readSmallFile(file, MAX_STATE_BYTES + 1);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    invalid(/not a regular file/.test(reason) ? `is not a regular file (${reason})` : reason);
    return empty();
  }
  if (bytes === undefined) return empty();
  return parseScheduleState(bytes, invalid) ?? empty();
}

/**
 * Parses a state file's bytes; undefined (after `invalid(reason)`) when the
 * whole file is unusable. Entries that are unusable are left out, each
 * reported. Pure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseScheduleState } from "./state_file.ts";
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
 * import { formatScheduleState } from "./state_file.ts";
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

/** Options for {@link ScheduleStateFile.open}. */
export interface ScheduleStateFileOptions extends ReadScheduleStateOptions {
  /**
   * The names of the schedules configured now: last runs of other names are
   * dropped at the next write. Default: keep every entry.
   */
  names?: Iterable<string>;
  /** The pid written into the file. Default `Deno.pid`. */
  pid?: number;
}

/**
 * The state file of a running daemon: read once at start, then updated in
 * memory and rewritten (atomically, one write at a time: two schedules
 * firing together never lose each other's entry) on each {@link record} and
 * {@link setNextRuns}. The folder is made (mode 0700) at the first write.
 * Needs `--allow-ffi`.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { ScheduleStateFile } from "./state_file.ts";
 * const dir = await Deno.makeTempDir();
 * const state = ScheduleStateFile.open(`${dir}/app`);
 * assert.equal(state.lastRunMs("backup"), null);
 * await Promise.all([state.record("backup", 1000), state.record("report", 2000)]);
 * const again = ScheduleStateFile.open(`${dir}/app`);
 * assert.equal(again.lastRunMs("backup"), 1000);
 * assert.equal(again.lastRunMs("report"), 2000);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ScheduleStateFile {
  /** The state folder. */
  readonly dir: string;
  /** The state file's path: `<dir>/schedules.json`. */
  readonly file: string;
  readonly #pid: number;
  readonly #lastRuns: Map<string, number>;
  #nextRuns: readonly NextRun[] = [];
  #writing: Promise<void> = Promise.resolve();

  private constructor(dir: string, pid: number, lastRuns: Map<string, number>) {
    this.dir = dir;
    this.file = join(dir, SCHEDULE_STATE_FILE);
    this.#pid = pid;
    this.#lastRuns = lastRuns;
  }

  /**
   * Reads `<dir>/schedules.json` ({@link readScheduleState}: never throws for
   * the file's sake); creates nothing.
   *
   * @param dir The state folder, an absolute path.
   */
  static open(
    dir: string,
    options: ScheduleStateFileOptions = {},
  ): ScheduleStateFile {
    const { lastRuns } = readScheduleState(join(dir, SCHEDULE_STATE_FILE), options);
    if (options.names) {
      const keep = new Set(options.names);
      for (const name of lastRuns.keys()) if (!keep.has(name)) lastRuns.delete(name);
    }
    return new ScheduleStateFile(dir, options.pid ?? Deno.pid, lastRuns);
  }

  /** When schedule `name` last ran (Unix epoch ms), or null when never. */
  lastRunMs(name: string): number | null {
    return this.#lastRuns.get(name) ?? null;
  }

  /**
   * Records that `name` ran at `atMs` and rewrites the file after any write
   * in progress.
   *
   * @param name The schedule's name.
   * @param atMs When its run started, Unix epoch milliseconds.
   * @throws {Error} `Cannot write schedule state "<file>": <reason>`; the
   *   time stays recorded in memory and is written with the next write.
   */
  record(name: string, atMs: number): Promise<void> {
    this.#lastRuns.set(name, atMs);
    return this.#write();
  }

  /**
   * Records that `name` ran at `atMs` in memory only: the next write (or
   * {@link record}, {@link setNextRuns}) puts it on disk.
   */
  remember(name: string, atMs: number): void {
    this.#lastRuns.set(name, atMs);
  }

  /**
   * Replaces the next runs written for `status` and rewrites the file.
   *
   * @throws {Error} As {@link record}.
   */
  setNextRuns(nextRuns: readonly NextRun[]): Promise<void> {
    this.#nextRuns = nextRuns;
    return this.#write();
  }

  /**
   * Rewrites the file with what is in memory.
   *
   * @throws {Error} As {@link record}.
   */
  save(): Promise<void> {
    return this.#write();
  }

  /** Resolves when every write asked for so far has ended (never rejects). */
  settled(): Promise<void> {
    return this.#writing;
  }

  #write(): Promise<void> {
    const write = this.#writing.then(async () => {
      try {
        const bytes = formatScheduleState({
          pid: this.#pid,
          lastRuns: this.#lastRuns,
          nextRuns: this.#nextRuns,
        });
        ensurePrivateFolder(this.dir);
        await writeFileAtomically(this.dir, SCHEDULE_STATE_FILE, bytes, { mode: 0o600 });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`Cannot write schedule state "${this.file}": ${reason}`, {
          cause: error,
        });
      }
    });
    this.#writing = write.catch(() => {});
    return write;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
