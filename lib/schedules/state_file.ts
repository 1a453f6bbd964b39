/**
 * Catch-up state (`catch_up: true`, like systemd's `Persistent=true`): when
 * each schedule last ran, in one small JSON file, `schedules.json`, in the
 * state folder (`Daemon.state_dir`, by default {@link defaultStateDir}):
 *
 * ```json
 * { "version": 1, "lastRuns": { "backup": "2025-06-01T03:00:00.412Z" } }
 * ```
 *
 * Reading never fails: a missing, unreadable, oversized, non-regular or
 * corrupt file (or entry) means "never ran", and the reason is handed to
 * `onInvalid` for a warning. Writing is atomic: a temp file with a random
 * name in the same folder, flushed with fsync, renamed over the file (so a
 * crash leaves the old or the new file, never half of one, and a symlink
 * planted at the file's path is replaced, not followed), then the folder is
 * flushed so the rename survives a power cut.
 *
 * @module
 */

import { basename, dirname, isAbsolute, join } from "node:path";
import { FlagstaffError } from "../core/errors.ts";
import type { Timetable } from "./timetable.ts";

/** The state file's name inside the state folder. */
export const SCHEDULE_STATE_FILE = "schedules.json";

/** Largest state file read or written, in bytes (64 KiB: some thousand schedules). */
export const MAX_STATE_BYTES = 64 * 1024;

/** The file format version this module reads and writes. */
const VERSION = 1;

/** What {@link defaultStateDir} reads from the process. */
export interface StateDirContext {
  /** The environment: `STATE_DIRECTORY`, `XDG_STATE_HOME` and `HOME` are read. */
  env: Readonly<Record<string, string | undefined>>;
  /** The effective user id at start (before any switch to `Daemon.user`). */
  euid: number;
}

/**
 * The default state folder of an app, first match wins:
 *
 * 1. `$STATE_DIRECTORY`, set by systemd for a unit with `StateDirectory=`
 *    (the first of its colon-separated paths), used as is;
 * 2. `/var/lib/<app>` when running as root (euid 0);
 * 3. `$XDG_STATE_HOME/<app>` (XDG Base Directory spec; ignored unless absolute);
 * 4. `$HOME/.local/state/<app>`, the spec's default for it.
 *
 * A pure function of its arguments. A process that starts as root and then
 * switches to `Daemon.user` should resolve the folder at start (as root) and
 * hand it to that user, as systemd's `StateDirectory=` with `User=` does.
 *
 * @param appName The app's name: a single file name (no `/`, not `.` or `..`).
 * @param context The environment and effective uid.
 * @returns An absolute path.
 * @throws {FlagstaffError} `config_invalid` when `appName` is not a file
 *   name, or no rule applies (not root, neither `XDG_STATE_HOME` nor `HOME`
 *   absolute): the message says to set `Daemon.state_dir`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultStateDir } from "./state_file.ts";
 * assert.equal(defaultStateDir("demo", { env: {}, euid: 0 }), "/var/lib/demo");
 * assert.equal(
 *   defaultStateDir("demo", { env: { HOME: "/home/ann" }, euid: 1000 }),
 *   "/home/ann/.local/state/demo",
 * );
 * assert.equal(
 *   defaultStateDir("demo", { env: { STATE_DIRECTORY: "/var/lib/demo:/var/lib/x" }, euid: 0 }),
 *   "/var/lib/demo",
 * );
 * ```
 */
export function defaultStateDir(appName: string, context: StateDirContext): string {
  if (
    typeof appName !== "string" || appName === "" || appName === "." || appName === ".." ||
    /[/\0]/.test(appName)
  ) {
    throw new FlagstaffError(
      "config_invalid",
      `Cannot choose a state folder: the app name ${
        JSON.stringify(appName)
      } is not a file name; set Daemon.state_dir`,
    );
  }
  const { env, euid } = context;
  const systemd = env.STATE_DIRECTORY?.split(":")[0];
  if (systemd && isAbsolute(systemd)) return systemd;
  if (euid === 0) return join("/var/lib", appName);
  const xdg = env.XDG_STATE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, appName);
  const home = env.HOME;
  if (home && isAbsolute(home)) return join(home, ".local", "state", appName);
  throw new FlagstaffError(
    "config_invalid",
    "Cannot choose a state folder: not root, and neither XDG_STATE_HOME nor HOME is an " +
      "absolute path; set Daemon.state_dir",
  );
}

/**
 * Whether a schedule with `catch_up: true` should run once at start: it
 * never ran (no record), or a run time passed since its last run, that is
 * `timetable.nextAfter(lastRunMs) <= nowMs` (for `every: 1h` anchored on the
 * hour: a full hour began since it last ran; for a cron: a due time was
 * missed). A last run in the future (the clock was set back) counts as "just
 * ran". Compared with "the last run is older than one period", this does not
 * miss a run when the last one started a little after its due time.
 *
 * @param lastRunMs When it last ran (Unix epoch milliseconds, as recorded
 *   when it fired), or null when it never ran.
 * @param timetable Its run times.
 * @param nowMs The wall clock now, Unix epoch milliseconds.
 * @returns True when it should run once now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { everyTimetable } from "./every.ts";
 * import { isCatchUpDue } from "./state_file.ts";
 * const hourly = everyTimetable({ periodMs: 3_600_000 });
 * const at = (iso: string) => Date.parse(iso);
 * assert.equal(isCatchUpDue(null, hourly, at("2025-06-01T10:20:00Z")), true);
 * assert.equal(isCatchUpDue(at("2025-06-01T10:00:02Z"), hourly, at("2025-06-01T10:59:00Z")), false);
 * assert.equal(isCatchUpDue(at("2025-06-01T10:00:02Z"), hourly, at("2025-06-01T11:00:01Z")), true);
 * ```
 */
export function isCatchUpDue(
  lastRunMs: number | null,
  timetable: Pick<Timetable, "nextAfter">,
  nowMs: number,
): boolean {
  if (lastRunMs === null) return true;
  if (lastRunMs >= nowMs) return false;
  const next = timetable.nextAfter(lastRunMs);
  return next !== null && next <= nowMs;
}

/** Options for {@link readScheduleState}. */
export interface ReadScheduleStateOptions {
  /**
   * Called with the reason when the file or an entry is ignored (and taken
   * as "never ran"): `not valid JSON`, `is not a regular file`, …; not called
   * for a missing file. Default: ignore silently.
   */
  onInvalid?: (reason: string) => void;
}

/**
 * Reads the last run of each schedule. Never throws for the file's sake:
 * see the module doc.
 *
 * @param file The state file's path.
 * @returns Schedule key → last run in Unix epoch milliseconds; empty when
 *   the file is missing or unusable, without the entries that are unusable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readScheduleState, writeScheduleState } from "./state_file.ts";
 * const dir = await Deno.makeTempDir();
 * const file = `${dir}/schedules.json`;
 * assert.equal((await readScheduleState(file)).size, 0); // missing: never ran
 * await writeScheduleState(file, new Map([["backup", Date.parse("2025-06-01T03:00:00Z")]]));
 * assert.deepEqual(await readScheduleState(file), new Map([["backup", 1748746800000]]));
 * await Deno.writeTextFile(file, "{ oops");
 * const reasons: string[] = [];
 * assert.equal((await readScheduleState(file, { onInvalid: (r) => reasons.push(r) })).size, 0);
 * assert.match(reasons[0], /not valid JSON/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readScheduleState(
  file: string,
  options: ReadScheduleStateOptions = {},
): Promise<Map<string, number>> {
  const lastRuns = new Map<string, number>();
  const invalid = (reason: string) => {
    options.onInvalid?.(`Schedule state "${file}" ${reason}; taken as never ran`);
    return lastRuns;
  };
  let text: string;
  try {
    // lstat first: opening a FIFO would block, and a symlink is not ours.
    const info = await Deno.lstat(file);
    if (!info.isFile) return invalid("is not a regular file");
    if (info.size > MAX_STATE_BYTES) return invalid(`is larger than ${MAX_STATE_BYTES} bytes`);
    const bytes = await readBounded(file, MAX_STATE_BYTES + 1);
    if (bytes.length > MAX_STATE_BYTES) return invalid(`is larger than ${MAX_STATE_BYTES} bytes`);
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return lastRuns;
    if (error instanceof TypeError) return invalid("is not valid UTF-8");
    return invalid(`cannot be read: ${error instanceof Error ? error.message : error}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return invalid("is not valid JSON");
  }
  if (!isRecord(data) || data.version !== VERSION || !isRecord(data.lastRuns)) {
    return invalid(`is not a version ${VERSION} state file`);
  }
  for (const [key, value] of Object.entries(data.lastRuns)) {
    const ms = typeof value === "string" ? Date.parse(value) : NaN;
    if (Number.isFinite(ms)) lastRuns.set(key, ms);
    else invalid(`has no valid time for "${key}"`);
  }
  return lastRuns;
}

/**
 * Writes the last run of each schedule, atomically (see the module doc),
 * creating the folder (mode 0755, like systemd's `StateDirectory=`) when it
 * is missing. The file gets mode 0644 (less the umask): it holds times only.
 *
 * @param file The state file's path.
 * @param lastRuns Schedule key → last run, Unix epoch milliseconds.
 * @throws {Error} `Cannot write schedule state "<file>": <reason>` when the
 *   folder cannot be created or written, or the state would be larger than
 *   {@link MAX_STATE_BYTES}; the old file is then untouched and no temp file
 *   is left. A failed write should be logged, not stop the daemon.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeScheduleState } from "./state_file.ts";
 * const dir = await Deno.makeTempDir();
 * await writeScheduleState(`${dir}/state/schedules.json`, new Map([["a", 0]]));
 * assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/state/schedules.json`)), {
 *   version: 1,
 *   lastRuns: { a: "1970-01-01T00:00:00.000Z" },
 * });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeScheduleState(
  file: string,
  lastRuns: ReadonlyMap<string, number>,
): Promise<void> {
  const entries = [...lastRuns].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, ms]) => [key, new Date(ms).toISOString()]);
  const text = JSON.stringify({ version: VERSION, lastRuns: Object.fromEntries(entries) }, null, 2);
  const bytes = new TextEncoder().encode(text + "\n");
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${crypto.randomUUID()}.tmp`);
  let created = false;
  try {
    if (bytes.length > MAX_STATE_BYTES) {
      throw new Error(`it would be larger than ${MAX_STATE_BYTES} bytes`);
    }
    await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
    const handle = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
    created = true;
    try {
      for (let done = 0; done < bytes.length;) done += await handle.write(bytes.subarray(done));
      await handle.sync();
    } finally {
      handle.close();
    }
    await Deno.rename(temp, file);
    created = false;
  } catch (error) {
    if (created) await Deno.remove(temp).catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot write schedule state "${file}": ${reason}`, { cause: error });
  }
  await syncDir(dir);
}

/** Options for {@link ScheduleStateFile.open}. */
export interface ScheduleStateFileOptions extends ReadScheduleStateOptions {
  /**
   * The keys of the schedules configured now: entries for other keys are
   * dropped at the next write. Default: keep every entry.
   */
  keys?: Iterable<string>;
}

/**
 * The state file of a running daemon: read once at start, then updated in
 * memory and rewritten on each {@link record}, one write at a time (two
 * schedules firing together never lose each other's entry).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ScheduleStateFile } from "./state_file.ts";
 * const dir = await Deno.makeTempDir();
 * const state = await ScheduleStateFile.open(`${dir}/schedules.json`);
 * assert.equal(state.lastRunMs("backup"), null);
 * await Promise.all([state.record("backup", 1000), state.record("report", 2000)]);
 * const again = await ScheduleStateFile.open(`${dir}/schedules.json`);
 * assert.equal(again.lastRunMs("backup"), 1000);
 * assert.equal(again.lastRunMs("report"), 2000);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ScheduleStateFile {
  /** The state file's path. */
  readonly file: string;
  readonly #lastRuns: Map<string, number>;
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string, lastRuns: Map<string, number>) {
    this.file = file;
    this.#lastRuns = lastRuns;
  }

  /**
   * Reads `file` ({@link readScheduleState}: never throws for the file's sake).
   *
   * @param file The state file's path, e.g. `join(stateDir, SCHEDULE_STATE_FILE)`.
   */
  static async open(
    file: string,
    options: ScheduleStateFileOptions = {},
  ): Promise<ScheduleStateFile> {
    const lastRuns = await readScheduleState(file, options);
    if (options.keys) {
      const keep = new Set(options.keys);
      for (const key of lastRuns.keys()) if (!keep.has(key)) lastRuns.delete(key);
    }
    return new ScheduleStateFile(file, lastRuns);
  }

  /** When schedule `key` last ran (Unix epoch ms), or null when never. */
  lastRunMs(key: string): number | null {
    return this.#lastRuns.get(key) ?? null;
  }

  /**
   * Records that `key` ran at `atMs` and rewrites the file after any write
   * in progress.
   *
   * @param key The schedule's key.
   * @param atMs When it fired, Unix epoch milliseconds.
   * @throws {Error} As {@link writeScheduleState}; the time stays recorded
   *   in memory and is written with the next record.
   */
  record(key: string, atMs: number): Promise<void> {
    this.#lastRuns.set(key, atMs);
    const write = this.#writing.then(() => writeScheduleState(this.file, this.#lastRuns));
    this.#writing = write.catch(() => {});
    return write;
  }
}

async function readBounded(file: string, limit: number): Promise<Uint8Array> {
  const handle = await Deno.open(file, { read: true });
  try {
    const buffer = new Uint8Array(limit);
    let length = 0;
    while (length < limit) {
      const n = await handle.read(buffer.subarray(length));
      if (n === null) break;
      length += n;
    }
    return buffer.subarray(0, length);
  } finally {
    handle.close();
  }
}

/** fsync a folder so a rename in it is durable; a no-op where folders cannot be synced. */
async function syncDir(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some file systems (and platforms) cannot fsync a folder: the data is
    // synced; only the rename's durability is left to the file system.
  } finally {
    handle?.close();
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
