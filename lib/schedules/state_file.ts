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
 * Reading never fails: a missing, unreadable, oversized, non-regular,
 * corrupt or untrusted file (or entry) means "never ran", and the reason is
 * handed to `onInvalid` for a warning. The folder is reached and checked one
 * step at a time from `/`, never through a path another user could change,
 * and read and written relative to its descriptor only
 * (`lib/os/atomic_file.ts`). It is read only when it, and the file, belong
 * to the user flagstaff runs as (for `status`: the running instance's user)
 * and no other user can write them: every folder on its path is owned by
 * root or that user and not writable by group or others unless sticky (as
 * `/tmp`), a link on the way lies in a folder no other user can write, the
 * folder is that user's and not writable by group or others, the file is a
 * regular file of that user's, not writable by group or others, with one
 * link. Nothing is followed or opened unless it passes: a FIFO does not
 * block, a link does not lead elsewhere. Writing is atomic: a temp file with
 * a random name in the same folder, flushed, renamed over the file (a crash
 * leaves the old or the new file; a link or hard link planted at the path is
 * replaced, not written through). The folder is made mode 0700, the file
 * mode 0600, by the same walk: a folder the rules refuse is never written.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { readPrivateFile, writePrivateFile } from "../os/atomic_file.ts";
import { FileProblem } from "../os/private_folder.ts";
import {
  formatScheduleState,
  MAX_STATE_BYTES,
  type NextRun,
  parseScheduleState,
  type ScheduleState,
} from "./state_format.ts";

/** The state file's name inside the state folder. */
export const SCHEDULE_STATE_FILE = "schedules.json";

/** Why a state file was not used at all (for a warning, or `status`'s note). */
export interface StateProblem {
  /**
   * `"folder"`: the state folder, or a folder or link on its path, is
   * refused or cannot be opened (nothing there can be read or written);
   * `"file"`: the file is refused, unreadable or corrupt.
   */
  readonly subject: "folder" | "file";
  /** The folder's or the file's path. */
  readonly path: string;
  /** Why, to follow the path: `it belongs to uid 65534, not uid 0`, `is not valid JSON`. */
  readonly reason: string;
}

/** What {@link readScheduleState} found. */
export interface ScheduleStateRead extends ScheduleState {
  /** Why the file was not used; undefined when it was, or is missing. */
  readonly problem?: StateProblem;
}

/** Options for {@link readScheduleState}. */
export interface ReadScheduleStateOptions {
  /**
   * Called with a message when the file or an entry is ignored (and taken
   * as "never ran"): `Schedule state "<file>" is not valid JSON; taken as
   * never ran`; not called for a missing file, nor for a refused folder
   * (see `problem`). Default: ignore silently.
   */
  onInvalid?: (reason: string) => void;
  /**
   * The user the folder and file must belong to. Default: the effective
   * user (`status` gives the running instance's).
   */
  owner?: number;
}

/**
 * Reads a state file. Never throws for the file's sake: see the module doc.
 * Needs `--allow-ffi`.
 *
 * @param file The state file's path (absolute).
 * @returns Its content; empty (no pid, no runs) when the file is missing or
 *   unusable (then `problem` says why), without the entries that are unusable.
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
): ScheduleStateRead {
  const empty = (): ScheduleState => ({ pid: undefined, lastRuns: new Map(), nextRuns: [] });
  let whole: string | undefined;
  const invalid = (reason: string) => {
    whole ??= reason;
    options.onInvalid?.(`Schedule state "${file}" ${reason}; taken as never ran`);
  };
  let bytes: Uint8Array | undefined;
  try {
    bytes = readPrivateFile(dirname(file), basename(file), MAX_STATE_BYTES + 1, {
      owner: options.owner,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof FileProblem && error.subject === "folder") {
      return { ...empty(), problem: { subject: "folder", path: dirname(file), reason } };
    }
    const said = /not a regular file/.test(reason)
      ? `is not a regular file (${reason})`
      : error instanceof FileProblem
      ? `is refused: ${reason}`
      : reason;
    invalid(said);
    return { ...empty(), problem: { subject: "file", path: file, reason: said } };
  }
  if (bytes === undefined) return empty();
  const state = parseScheduleState(bytes, invalid);
  if (state) return state;
  return { ...empty(), problem: { subject: "file", path: file, reason: whole ?? "is unusable" } };
}

/** Options for {@link ScheduleStateFile.open}. */
export interface ScheduleStateFileOptions extends Omit<ReadScheduleStateOptions, "owner"> {
  /**
   * Called with the reason when the state folder is refused or cannot be
   * opened (`it belongs to uid 65534, not uid 0`, `the folder "/srv/a" on
   * its path belongs to uid 65534, not root`): nothing is read (never ran),
   * and every write will fail. Default: `onInvalid` with a message naming
   * the folder.
   */
  onFolderRefused?: (reason: string) => void;
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
   * Reads `<dir>/schedules.json` ({@link readScheduleState}, as the
   * effective user: never throws for the file's sake); creates nothing.
   *
   * @param dir The state folder, an absolute path.
   */
  static open(
    dir: string,
    options: ScheduleStateFileOptions = {},
  ): ScheduleStateFile {
    const { lastRuns, problem } = readScheduleState(join(dir, SCHEDULE_STATE_FILE), {
      onInvalid: options.onInvalid,
    });
    if (problem?.subject === "folder") {
      if (options.onFolderRefused) options.onFolderRefused(problem.reason);
      else options.onInvalid?.(`Schedule state folder "${dir}" is refused: ${problem.reason}`);
    }
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
        await writePrivateFile(this.dir, SCHEDULE_STATE_FILE, bytes, { mode: 0o600 });
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
