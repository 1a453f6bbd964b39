/**
 * The sinks that handlers become: stderr or stdout written with `writeSync`,
 * files through `@logtape/file` (opened at once, or on the first record for
 * `delay: true`), and nothing for `NullHandler`.
 *
 * @module
 */

import { loadFileSinks } from "../deps.ts";
import type { Sink, TextFormatter } from "../deps.ts";
import { messageOf } from "../core/errors.ts";
import { HANDLER_CLASSES, STREAMS } from "./_tables.ts";
import type { HandlerSection, RotatingFileHandlerSection } from "./section.ts";

/** A sink that may hold a file open. */
export type OwnedSink = Sink & Partial<Disposable>;

/** What {@link buildSink} needs besides the handler. */
export interface BuildSinkOptions {
  /** Makes each line, with its newline. */
  formatter: TextFormatter;
  /** Checks a log file's path right before it is opened; throws to refuse it. Default: none. */
  prepareFile?: (path: string) => void;
  /** Where paths to truncate once every sink is built (`mode: w`, no `delay`) are pushed. */
  truncate: string[];
}

/** `@logtape/file`, loaded by the first file handler (see `loadFileSinks`). */
let fileSinks: Awaited<ReturnType<typeof loadFileSinks>> | undefined;

/**
 * Builds the sink of one handler (`name` is for messages), writing lines
 * made by `options.formatter`. A stream handler
 * writes each line with `writeSync` to the stream looked up at each call, so
 * that no line is lost or reordered at exit. A file handler calls
 * `prepareFile(path)` right before its file is opened. Without `delay` the
 * file is opened now, and this rejects with what opening throws; a file to
 * truncate (`mode: w`) is pushed onto `truncate`, for the caller to truncate
 * once every sink is built. With `delay` the file is opened (and truncated)
 * on the first record; while that fails, each record throws a one-line error
 * naming the handler and file, which LogTape's meta logger prints to stderr.
 *
 * `@logtape/file`'s `lazy` option does not serve `delay`: it runs no hook
 * before the open (where `prepareFile` must run), the rotating sink lacks it,
 * and its error would not name the handler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildSink } from "./_sinks.ts";
 * const dir = await Deno.makeTempDir();
 * const prepared: string[] = [];
 * const sink = await buildSink("late", { class: "file", filename: `${dir}/a.log`, delay: true }, {
 *   formatter: (record) => `${record.message[0]}\n`,
 *   prepareFile: (path) => prepared.push(path),
 *   truncate: [],
 * });
 * assert.deepEqual(prepared, []);
 * sink({ category: [], level: "info", message: ["hi"], rawMessage: "hi", timestamp: 0, properties: {} });
 * sink[Symbol.dispose]?.();
 * assert.deepEqual(prepared, [`${dir}/a.log`]);
 * assert.equal(await Deno.readTextFile(`${dir}/a.log`), "hi\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function buildSink(
  name: string,
  handler: HandlerSection,
  options: BuildSinkOptions,
): Promise<OwnedSink> {
  const { formatter } = options;
  const kind = HANDLER_CLASSES[handler.class];
  if (kind === "null") return () => {};
  if (kind === "stream") {
    const stream = STREAMS[("stream" in handler && handler.stream) || "stderr"];
    const encoder = new TextEncoder();
    return (record) => {
      const bytes = encoder.encode(formatter(record));
      const target = stream === "stdout" ? Deno.stdout : Deno.stderr;
      for (let written = 0; written < bytes.length;) {
        written += target.writeSync(bytes.subarray(written));
      }
    };
  }
  const { getFileSink, getRotatingFileSink } = fileSinks ??= await loadFileSinks();
  const { filename: path, mode, delay, maxBytes = 0, backupCount = 0 } =
    handler as RotatingFileHandlerSection;
  // Python opens a rotating file in append mode whenever maxBytes is set.
  const truncate = mode === "w" && !(kind === "rotating_file" && maxBytes > 0);
  const open = (): OwnedSink => {
    options.prepareFile?.(path);
    const unbuffered = { formatter, bufferSize: 0, flushInterval: 0 };
    return kind === "rotating_file" && maxBytes > 0 && backupCount > 0
      // Python rolls over when the file would reach maxBytes; LogTape when it would exceed it.
      ? getRotatingFileSink(path, { ...unbuffered, maxSize: maxBytes - 1, maxFiles: backupCount })
      : getFileSink(path, unbuffered);
  };
  if (!delay) {
    if (truncate) options.truncate.push(path);
    return open();
  }
  let inner: OwnedSink | undefined;
  const sink: OwnedSink = (record) => {
    try {
      if (inner === undefined && truncate) {
        options.prepareFile?.(path);
        Deno.truncateSync(path, 0);
      }
      inner ??= open();
    } catch (error) {
      const failure = new Error(`Handler "${name}" cannot open "${path}": ${messageOf(error)}`);
      failure.stack = `Error: ${failure.message}`; // One line on stderr, not a stack.
      throw failure;
    }
    inner(record);
  };
  sink[Symbol.dispose] = () => inner?.[Symbol.dispose]?.();
  return sink;
}
