/**
 * What the command line prints, and how an error becomes an exit code. The
 * CLI (and `main.ts`) are the only parts of flagstaff that print; the rest
 * logs.
 *
 * @module
 */

import {
  asPermissionError,
  ConfigError,
  EXIT_CODES,
  FlagstaffError,
  messageOf,
} from "../core/errors.ts";

const encoder = new TextEncoder();

/** Writes `text` to `stream` whole, synchronously (nothing is lost at exit). */
export function write(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

/** Writes to stdout. */
export function out(text: string): void {
  write(Deno.stdout, text);
}

/**
 * Turns what a command threw into what a user is shown: a missing Deno
 * permission becomes the `permission` error; several problems stay several.
 */
export function userError(error: unknown): unknown {
  if (error instanceof AggregateError) {
    return new AggregateError(error.errors.map(userError), error.message);
  }
  return asPermissionError(error);
}

/** The exit code of an error from {@link userError}: its code's, the highest of several, else 1. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof AggregateError) return Math.max(...error.errors.map(exitCodeOf));
  return error instanceof FlagstaffError ? error.exitCode : EXIT_CODES.failure;
}

/**
 * Prints a user-facing error on stderr as `error: …` (one line per problem of
 * a config); with `verbose`, the stack of an unexpected error and the cause
 * chain follow.
 */
export function printError(error: unknown, verbose: boolean): void {
  if (error instanceof AggregateError) {
    for (const each of error.errors) printError(each, verbose);
    return;
  }
  if (error instanceof ConfigError && error.issues.length > 1) {
    for (const issue of error.issues) {
      write(Deno.stderr, `error: ${new ConfigError([issue]).message}\n`);
    }
  } else {
    write(Deno.stderr, `error: ${messageOf(error)}\n`);
  }
  if (!verbose) return;
  if (!(error instanceof FlagstaffError) && error instanceof Error && error.stack) {
    write(Deno.stderr, `${error.stack}\n`);
  }
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause !== undefined) {
    write(
      Deno.stderr,
      `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`,
    );
    cause = cause instanceof Error ? cause.cause : undefined;
  }
}
