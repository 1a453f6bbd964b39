/**
 * The sinks that handlers become: stderr/stdout written with `writeSync`,
 * files through `@logtape/file` (opened at once, or on the first record for
 * `delay: true`), and nothing for `NullHandler`.
 *
 * @module
 */

import { loadFileSinks } from "../deps.ts";
import type { Sink, TextFormatter } from "../deps.ts";
import { messageOf } from "../core/errors.ts";
import { HANDLER_CLASSES, STREAMS } from "./_defaults.ts";
import type { HandlerSection, RotatingFileHandlerSection } from "./section.ts";

/** A sink that may hold a file open. */
export type OwnedSink = Sink & Partial<Disposable>;

/**
 * A sink writing each formatted record to stderr or stdout with `writeSync`,
 * looked up at each call, so that no line is lost or reordered at exit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getWriteSyncSink } from "./_sinks.ts";
 * const sink = getWriteSyncSink("stdout", () => "");
 * assert.equal(typeof sink, "function");
 * ```
 */
export function getWriteSyncSink(stream: "stdout" | "stderr", formatter: TextFormatter): Sink {
  const encoder = new TextEncoder();
  return (record) => {
    const bytes = encoder.encode(formatter(record));
    const target = stream === "stdout" ? Deno.stdout : Deno.stderr;
    for (let written = 0; written < bytes.length;) {
      written += target.writeSync(bytes.subarray(written));
    }
  };
}

/** `@logtape/file`, once a file handler needed it (see `loadFileSinks`). */
let fileSinks: Awaited<ReturnType<typeof loadFileSinks>> | undefined;

/**
 * Loads `@logtape/file` if any of `handlers` writes a file; call it before
 * {@link buildSink} builds a file handler.
 *
 * @example
 * ```ts
 * import { loadFileSinksFor } from "./_sinks.ts";
 * await loadFileSinksFor([{ class: "console" }]); // Loads nothing.
 * ```
 */
export async function loadFileSinksFor(handlers: Iterable<HandlerSection>): Promise<void> {
  if ([...handlers].some((handler) => HANDLER_CLASSES[handler.class].endsWith("file"))) {
    fileSinks ??= await loadFileSinks();
  }
}

/**
 * Builds the sink of one handler (named `name`, for messages), formatting
 * with `formatter`. A file handler calls `prepareFile(path)` right before its
 * file is opened. Without `delay` the file is opened now, and throws what
 * opening throws; a file to truncate (`mode: w`) is pushed onto `truncate`
 * for the caller to truncate once every sink is built. With `delay` the file
 * is opened (and truncated) on the first record; while that fails, each
 * record throws an error naming the handler and file, which LogTape's meta
 * logger prints to stderr.
 *
 * `@logtape/file`'s own `lazy` option is not used for `delay`: it runs no
 * hook before the open (where `prepareFile` must run), its rotating sink has
 * no such option, and its error would not name the handler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildSink, loadFileSinksFor } from "./_sinks.ts";
 * const dir = await Deno.makeTempDir();
 * const handler = { class: "file", filename: `${dir}/app.log`, delay: true } as const;
 * const opened: string[] = [];
 * await loadFileSinksFor([handler]);
 * const sink = buildSink("late", handler, (record) => `${record.message[0]}\n`, {
 *   prepareFile: (path) => opened.push(path),
 *   truncate: [],
 * });
 * assert.deepEqual(opened, []);
 * sink({ category: [], level: "info", message: ["hi"], rawMessage: "hi", timestamp: 0, properties: {} });
 * sink[Symbol.dispose]?.();
 * assert.deepEqual(opened, [`${dir}/app.log`]);
 * assert.equal(await Deno.readTextFile(`${dir}/app.log`), "hi\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function buildSink(
  name: string,
  handler: HandlerSection,
  formatter: TextFormatter,
  options: { prepareFile?: (path: string) => void; truncate: string[] },
): OwnedSink {
  const kind = HANDLER_CLASSES[handler.class];
  if (kind === "null") return () => {};
  if (kind === "stream") {
    return getWriteSyncSink(
      STREAMS[("stream" in handler && handler.stream) || "stderr"],
      formatter,
    );
  }
  const { filename: path, mode, delay, maxBytes = 0, backupCount = 0 } =
    handler as RotatingFileHandlerSection;
  // Python opens a rotating file in append mode whenever maxBytes is set.
  const truncate = mode === "w" && !(kind === "rotating_file" && maxBytes > 0);
  const open = (): OwnedSink => {
    const { getFileSink, getRotatingFileSink } = fileSinks!;
    const unbuffered = { formatter, bufferSize: 0, flushInterval: 0 };
    return kind === "rotating_file" && maxBytes > 0 && backupCount > 0
      // Python rolls over when the file would reach maxBytes; LogTape when it would exceed it.
      ? getRotatingFileSink(path, { ...unbuffered, maxSize: maxBytes - 1, maxFiles: backupCount })
      : getFileSink(path, unbuffered);
  };
  if (!delay) {
    options.prepareFile?.(path);
    if (truncate) options.truncate.push(path);
    return open();
  }
  let inner: OwnedSink | undefined;
  const sink: OwnedSink = (record) => {
    if (inner === undefined) {
      try {
        options.prepareFile?.(path);
        if (truncate) Deno.truncateSync(path, 0);
        inner = open();
      } catch (error) {
        const failure = new Error(`Handler "${name}" cannot open "${path}": ${messageOf(error)}`);
        failure.stack = `Error: ${failure.message}`; // One line on stderr, not a stack.
        throw failure;
      }
    }
    inner(record);
  };
  sink[Symbol.dispose] = () => inner?.[Symbol.dispose]?.();
  return sink;
}
