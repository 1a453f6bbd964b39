/**
 * The one place that names third-party packages. Every specifier is a full,
 * pinned `npm:` specifier, so `deno run <URL>` needs no import map.
 *
 * Only LogTape is imported eagerly (every module logs). js-yaml,
 * @logtape/file and croner are loaded on first use through the `load…()`
 * functions: a command that does not need them should not pay for loading
 * them, and a package that imports `node:` modules (@logtape/file) or is
 * CommonJS pays for Deno's Node compatibility layer, tens of milliseconds
 * (`bench/results/latest.md`, "Where start-up goes"). Their types are
 * re-exported as types only, which load nothing.
 *
 * @module
 */

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

export type { ScalarEvent as YamlScalarEvent } from "npm:js-yaml@5.5.0";

/** The `js-yaml` package (its event parser and YAML 1.1 schema). */
export type YamlModule = typeof import("npm:js-yaml@5.5.0");
/** The `@logtape/file` package. */
export type FileSinkModule = typeof import("npm:@logtape/file@2.3.10");
/** The `croner` package (cron expressions and time zones; ESM, no dependencies). */
export type CronerModule = typeof import("npm:croner@10.0.1");

/**
 * Loads `js-yaml`: one ESM file without imports, about 4 ms over an empty
 * `deno run` (the `yaml` package it replaced resolved to its CommonJS build
 * under Deno and cost about 35 ms, most of it Node compatibility start-up).
 */
export function loadYaml(): Promise<YamlModule> {
  return import("npm:js-yaml@5.5.0");
}

/** Loads `@logtape/file` (it imports `node:fs`: about 40 ms). */
export function loadFileSinks(): Promise<FileSinkModule> {
  return import("npm:@logtape/file@2.3.10");
}

/**
 * Loads `croner`, which does all calendar arithmetic for `cron:` schedules
 * (`lib/schedules/calendar.ts`). It is plain ESM without dependencies or
 * `node:` imports: about 2 ms and 5 MiB of peak memory over an empty
 * `deno run` (median of 60 paired runs: 21 ms against 19 ms wall; 2 ms
 * measured around the `import()` itself).
 */
export function loadCroner(): Promise<CronerModule> {
  return import("npm:croner@10.0.1");
}
