/**
 * helper's errors file: when flagstaff does not run in the foreground, an
 * unhandled error is appended, with time and stack, to `<app>.errors` in the
 * first usable of `/var/log`, `/var/tmp` and `/tmp`.
 *
 * `/var/tmp` and `/tmp` are folders every user can write to, so the file is
 * opened through libc (`lib/os/safe_file.ts`): never through a symbolic link
 * (another user could plant one that points at `/root/.bashrc`), never a
 * FIFO or device, never without `O_NONBLOCK` (an exit never waits on it), and
 * only when it is a regular file owned by the effective user with one link
 * (a hard link to someone else's file is refused). A folder where that fails
 * is skipped for the next; a refusal is logged as a warning. One block is
 * written in a few `write(2)` calls at most, and cut at
 * {@link MAX_ERROR_BLOCK_BYTES}.
 *
 * @module
 */

import { join } from "node:path";
import { FlagstaffError } from "../core/errors.ts";
import { withOwnLibc } from "./_libc.ts";
import type { FileStat } from "./file_stat.ts";
import { EACCES, ENOENT, OsError } from "./os_error.ts";
import { effectiveUid, notOwnFile } from "./own_file.ts";
import {
  closeFd,
  NotRegularFileError,
  O_APPEND,
  O_CREAT,
  O_WRONLY,
  openRegularFile,
  writeAll,
} from "./safe_file.ts";
import { getLogger } from "../deps.ts";

const log = getLogger(["flagstaff", "errors_file"]);

/** Folders tried in order, as helper does. */
export const ERRORS_FILE_DIRS: readonly string[] = ["/var/log", "/var/tmp", "/tmp"];

/**
 * The environment variable that replaces {@link ERRORS_FILE_DIRS}: folders
 * separated by `:`, tried in order (tests point it at temp folders). Read
 * only when deno is allowed to read it.
 */
export const ERRORS_DIRS_ENV = "FLAGSTAFF_ERRORS_DIRS";

/** The most bytes of one error block written; a longer one is cut, with a note. */
export const MAX_ERROR_BLOCK_BYTES = 64 * 1024;

/** Mode of a new errors file, less the umask: the owner writes, the group reads. */
const ERRORS_FILE_MODE = 0o640;

/** Options for {@link appendErrorsFile}. */
export interface AppendErrorsFileOptions {
  /** Folders to try, in order. Default {@link errorsFileDirs}. */
  dirs?: readonly string[];
  /** The time to stamp. Default: now. */
  now?: Date;
}

/**
 * The folders the errors file is tried in: those of `$FLAGSTAFF_ERRORS_DIRS`
 * when it is set and readable, else {@link ERRORS_FILE_DIRS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ERRORS_FILE_DIRS, errorsFileDirs } from "./errors_file.ts";
 * assert.deepEqual(errorsFileDirs({ FLAGSTAFF_ERRORS_DIRS: "/a:/b" }), ["/a", "/b"]);
 * assert.deepEqual(errorsFileDirs({}), ERRORS_FILE_DIRS);
 * ```
 */
export function errorsFileDirs(
  env: Record<string, string | undefined> = readEnv(),
): readonly string[] {
  const dirs = (env[ERRORS_DIRS_ENV] ?? "").split(":").filter((dir) => dir !== "");
  return dirs.length > 0 ? dirs : ERRORS_FILE_DIRS;
}

function readEnv(): Record<string, string | undefined> {
  // Asked first, so that deno never prompts for it.
  const allowed = Deno.permissions.querySync({ name: "env", variable: ERRORS_DIRS_ENV });
  return allowed.state === "granted" ? { [ERRORS_DIRS_ENV]: Deno.env.get(ERRORS_DIRS_ENV) } : {};
}

/**
 * Appends one error block to `<name>.errors` in the first folder where that
 * is safe and works, and returns the file's path, or undefined when no
 * folder would do. Never throws and never blocks on the file.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { appendErrorsFile } from "./errors_file.ts";
 * const dir = await Deno.makeTempDir();
 * const file = await appendErrorsFile("demo", new Error("boom"), { dirs: [dir] });
 * assert.equal(file, `${dir}/demo.errors`);
 * assert.match(await Deno.readTextFile(file!), /Error: boom/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function appendErrorsFile(
  name: string,
  error: unknown,
  options: AppendErrorsFileOptions = {},
): Promise<string | undefined> {
  return Promise.try(() => {
    const bytes = limitBlock(formatErrorBlock(name, error, options.now ?? new Date()));
    for (const dir of options.dirs ?? errorsFileDirs()) {
      const file = join(dir, `${name.replaceAll("/", "_")}.errors`);
      try {
        // Rarely needed: a libc handle of its own, closed right after.
        withOwnLibc(() => appendOwnFile(file, bytes));
        return file;
      } catch (problem) {
        // Not usable here: try the next folder.
        const quiet = problem instanceof OsError && QUIET_ERRNOS.has(problem.errno);
        const message = problem instanceof Error ? problem.message : String(problem);
        if (quiet) log.debug("Errors file {file} not used: {message}", { file, message });
        else log.warn("Errors file {file} not used: {message}", { file, message });
      }
    }
    return undefined;
  }).catch(() => undefined);
}

/** Failures that only mean "not here" (no folder, not ours to write): no warning. */
const ENOTDIR = 20;
const EROFS = 30;
const QUIET_ERRNOS = new Set([ENOENT, EACCES, ENOTDIR, EROFS]);

/**
 * Appends `bytes` to `path`, creating it (mode 0640 less the umask) if
 * missing, when it is safe: see the module doc.
 *
 * @throws {OsError} when it cannot be opened or written; {@link Error} when
 *   it is refused.
 */
function appendOwnFile(path: string, bytes: Uint8Array): void {
  let opened: { fd: number; stat: FileStat };
  try {
    opened = openRegularFile(path, O_WRONLY | O_APPEND | O_CREAT, { mode: ERRORS_FILE_MODE });
  } catch (error) {
    if (error instanceof NotRegularFileError) {
      throw new Error(`Refusing "${path}": ${error.reason}`);
    }
    throw error;
  }
  try {
    const problem = notOwnFile(opened.stat, effectiveUid());
    if (problem) throw new Error(`Refusing "${path}": ${problem}`);
    writeAll(opened.fd, bytes, { maxCalls: 8 });
  } finally {
    closeFd(opened.fd);
  }
}

/** The block as bytes, cut to {@link MAX_ERROR_BLOCK_BYTES} with a closing note. */
function limitBlock(block: string): Uint8Array {
  const bytes = new TextEncoder().encode(block);
  if (bytes.length <= MAX_ERROR_BLOCK_BYTES) return bytes;
  const note = new TextEncoder().encode(`\n[cut at ${MAX_ERROR_BLOCK_BYTES} bytes]\n`);
  const out = new Uint8Array(MAX_ERROR_BLOCK_BYTES);
  out.set(bytes.subarray(0, MAX_ERROR_BLOCK_BYTES - note.length));
  out.set(note, MAX_ERROR_BLOCK_BYTES - note.length);
  return out;
}

/**
 * helper's block: START, time, pid, arguments, the stack, END. A
 * `FlagstaffError` (a refusal flagstaff explains, such as "Already running")
 * is not a crash: its block says `Error` and holds its code and message, not
 * a traceback.
 */
export function formatErrorBlock(name: string, error: unknown, now: Date): string {
  if (error instanceof FlagstaffError) {
    return [
      " [START]".padStart(80, "-"),
      `${name} Error [${now.toISOString()}]`,
      " [INFO]".padStart(80, "-"),
      `Process: ${Deno.pid}`,
      `CLI arguments: ${JSON.stringify(Deno.args)}`,
      `Exit code: ${error.exitCode} (${error.code})`,
      `error: ${error.message}`,
      " [END]".padStart(80, "-"),
      "",
    ].join("\n");
  }
  const stack = error instanceof Error
    ? (error.stack ?? `${error.name}: ${error.message}`)
    : String(error);
  return [
    " [START]".padStart(80, "-"),
    `${name} Exception [${now.toISOString()}]`,
    " [INFO]".padStart(80, "-"),
    `Process: ${Deno.pid}`,
    `CLI arguments: ${JSON.stringify(Deno.args)}`,
    `Traceback:`,
    stack,
    " [END]".padStart(80, "-"),
    "",
  ].join("\n");
}
