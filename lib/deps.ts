/**
 * The one place that names third-party packages. Every specifier is a full,
 * pinned `npm:` specifier, so `deno run <URL>` needs no import map.
 *
 * @module
 */

export { isMap, isScalar, isSeq, LineCounter, parseDocument } from "npm:yaml@2.9.1";
export type { Document, Node as YamlNode, Pair, Scalar, YAMLMap, YAMLSeq } from "npm:yaml@2.9.1";

export { configure, dispose, getLogger, reset, withFilter } from "npm:@logtape/logtape@2.4.2";
export type {
  Config as LogTapeConfig,
  Filter,
  Logger,
  LoggerConfig,
  LogLevel,
  LogRecord,
  Sink,
  TextFormatter,
} from "npm:@logtape/logtape@2.4.2";

/**
 * `@logtape/file`, loaded only when a file handler is configured: importing
 * it costs start-up time that a console-only process need not pay.
 */
export function loadFileSinks(): Promise<typeof import("npm:@logtape/file@2.3.10")> {
  return import("npm:@logtape/file@2.3.10");
}

export { Command, CommanderError, InvalidArgumentError, Option } from "npm:commander@15.1.0";
