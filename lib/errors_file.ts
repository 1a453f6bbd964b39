/**
 * helper's errors file: when flagstaff does not run in the foreground, an
 * unhandled error is appended, with time and stack, to `<app>.errors` in the
 * first writable of `/var/log`, `/var/tmp` and `/tmp`.
 *
 * @module
 */

import { join } from "node:path";

/** Folders tried in order, as helper does. */
export const ERRORS_FILE_DIRS: readonly string[] = ["/var/log", "/var/tmp", "/tmp"];

/** Options for {@link appendErrorsFile}. */
export interface AppendErrorsFileOptions {
  /** Folders to try, in order. Default {@link ERRORS_FILE_DIRS}. */
  dirs?: readonly string[];
  /** The time to stamp. Default: now. */
  now?: Date;
}

/**
 * Appends one error block to `<name>.errors` in the first folder where that
 * works, and returns the file's path, or undefined when no folder was writable.
 *
 * @example
 * ```ts
 * import { appendErrorsFile } from "./errors_file.ts";
 * const dir = await Deno.makeTempDir();
 * const file = await appendErrorsFile("demo", new Error("boom"), { dirs: [dir] });
 * console.assert(file === `${dir}/demo.errors`);
 * console.assert((await Deno.readTextFile(file!)).includes("Error: boom"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function appendErrorsFile(
  name: string,
  error: unknown,
  options: AppendErrorsFileOptions = {},
): Promise<string | undefined> {
  const block = formatErrorBlock(name, error, options.now ?? new Date());
  for (const dir of options.dirs ?? ERRORS_FILE_DIRS) {
    const file = join(dir, `${name}.errors`);
    try {
      await Deno.writeTextFile(file, block, { append: true, mode: 0o640 });
      return file;
    } catch {
      // Not writable here: try the next folder.
    }
  }
  return undefined;
}

/** helper's block: START, time, pid, arguments, the stack, END. */
export function formatErrorBlock(name: string, error: unknown, now: Date): string {
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
