/**
 * The sinks that handlers become: stderr or stdout, files through
 * `@logtape/file` (opened at once, or on the first record for `delay: true`),
 * and nothing for `NullHandler`.
 *
 * @module
 */

import { resolve } from "node:path";
import { loadFileSinks } from "../deps.ts";
import type { Sink, TextFormatter } from "../deps.ts";
import { messageOf } from "../core/errors.ts";
import { handlerKind, STREAMS } from "./_tables.ts";
import type { HandlerSection, RotatingFileHandlerSection } from "./section.ts";

/** A sink that may hold a file open. */
export type OwnedSink = Sink & Partial<Disposable>;

/**
 * A sink writing each line with `writeSync` to the stream looked up at each
 * call, so that no line is lost or reordered at exit.
 */
export function streamSink(stream: "stdout" | "stderr", formatter: TextFormatter): Sink {
  const encoder = new TextEncoder();
  return (record) => {
    const bytes = encoder.encode(formatter(record));
    const target = stream === "stdout" ? Deno.stdout : Deno.stderr;
    for (let written = 0; written < bytes.length;) {
      written += target.writeSync(bytes.subarray(written));
    }
  };
}

/** What {@link buildSink} needs besides the handler. */
export interface BuildSinkOptions {
  /** Makes each line, with its newline. */
  formatter: TextFormatter;
  /** Checks a log file's path right before it is opened; throws to refuse it. Default: none. */
  prepareFile?: (path: string) => void;
  /** Where paths to truncate once every sink is built (`mode: w`, no `delay`) are pushed. */
  truncate: string[];
}

/**
 * Builds the sink of one handler (`name` is for messages). A file handler
 * calls `prepareFile(path)` right before its file is opened (`path` made
 * absolute, `..` resolved as written, as it is opened). Without `delay`
 * the file is opened now, and this rejects with what opening throws; a file
 * to truncate (`mode: w`) is pushed onto `truncate`, for the caller to
 * truncate once every sink is built. With `delay` the file is opened (and
 * truncated) on the first record; while that fails, each record throws a
 * one-line error naming the handler and file, which LogTape's meta logger
 * prints to stderr. (`@logtape/file`'s `lazy` runs no hook before its open,
 * and its rotating sink has none.)
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
  { formatter, prepareFile, truncate }: BuildSinkOptions,
): Promise<OwnedSink> {
  const kind = handlerKind(handler.class);
  if (kind === "null") return () => {};
  if (kind === "stream") {
    return streamSink(STREAMS[("stream" in handler && handler.stream) || "stderr"], formatter);
  }
  const { getFileSink, getRotatingFileSink } = await loadFileSinks();
  const { filename, mode, delay, maxBytes = 0, backupCount = 0 } =
    handler as RotatingFileHandlerSection;
  // The path checked is the path opened: `..` resolved as written, as `prepareFile` walks it.
  const path = resolve(filename);
  const rotates = kind === "rotating_file" && maxBytes > 0;
  const open = (): OwnedSink => {
    prepareFile?.(path);
    const unbuffered = { formatter, bufferSize: 0, flushInterval: 0 };
    return rotates && backupCount > 0
      // Python rolls over when the file would reach maxBytes; LogTape when it would exceed it.
      ? getRotatingFileSink(path, { ...unbuffered, maxSize: maxBytes - 1, maxFiles: backupCount })
      : getFileSink(path, unbuffered);
  };
  // Python opens a rotating file in append mode whenever maxBytes is set.
  const truncates = mode === "w" && !rotates;
  if (!delay) {
    if (truncates) truncate.push(path);
    return open();
  }
  let inner: OwnedSink | undefined;
  const sink: OwnedSink = (record) => {
    try {
      if (inner === undefined && truncates) {
        prepareFile?.(path);
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
