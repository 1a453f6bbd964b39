/**
 * Typed errors and the one exit-code table. Every user-facing error has a
 * stable `code` and an exit code from {@link EXIT_CODES}; the README mirrors
 * {@link ERROR_CODES} (a test keeps them in step).
 *
 * @module
 */

/** Process exit codes, as documented in the README. */
export const EXIT_CODES = {
  /** Clean stop, or a command that did what it was asked. */
  ok: 0,
  /** Runtime failure: setup failed, a forced stop, a stop timeout. */
  failure: 1,
  /** Usage or config error: bad argument, invalid or missing config, already running. */
  usage: 2,
  /** `status`, `stop`, `reload`, `signal`: no instance runs (LSB's "program is not running"). */
  notRunning: 3,
  /** `status`, `stop`, `reload`, `signal`: who holds the pidfile cannot be checked (LSB's "status is unknown"). */
  unknown: 4,
} as const;

/** The stable error codes, with their exit code and what they mean. */
export const ERROR_CODES = {
  usage: { exitCode: EXIT_CODES.usage, summary: "Bad command-line argument" },
  config_not_found: { exitCode: EXIT_CODES.usage, summary: "Config file missing or unreadable" },
  config_invalid: { exitCode: EXIT_CODES.usage, summary: "Config file has YAML or schema errors" },
  controller_invalid: {
    exitCode: EXIT_CODES.usage,
    summary: "Controller module cannot be loaded or has no controller",
  },
  permission: { exitCode: EXIT_CODES.usage, summary: "A Deno permission flag is missing" },
  already_running: {
    exitCode: EXIT_CODES.usage,
    summary: "Another instance holds the pidfile's lock",
  },
  pidfile: {
    exitCode: EXIT_CODES.failure,
    summary:
      "The pidfile cannot be written or read, or is refused: not a regular file, changeable by another user (as root), or who holds its lock cannot be told",
  },
  privileges: {
    exitCode: EXIT_CODES.failure,
    summary: "Switching user or group failed, or root could be regained",
  },
  setup_failed: { exitCode: EXIT_CODES.failure, summary: "The controller's setup() threw" },
  run_failed: { exitCode: EXIT_CODES.failure, summary: "The controller's run() threw" },
  forced_stop: {
    exitCode: EXIT_CODES.failure,
    summary: "A second TERM/INT arrived 0.5 s or more after the first, while stopping",
  },
  stop_timeout: {
    exitCode: EXIT_CODES.failure,
    summary: "The running unit or cleanup() outlasted Daemon.stop_timeout",
  },
  stop_failed: {
    exitCode: EXIT_CODES.failure,
    summary: "`stop` sent TERM (and KILL with --force) but the instance still runs",
  },
  invalid_state: {
    exitCode: EXIT_CODES.failure,
    summary: "The app's code asked setState() for a state that does not exist",
  },
  notify: {
    exitCode: EXIT_CODES.failure,
    summary: "A systemd notify message could not be sent (logged once; never ends the app)",
  },
  not_running: {
    exitCode: EXIT_CODES.notRunning,
    summary: "No running instance holds the pidfile",
  },
  unchecked_instance: {
    exitCode: EXIT_CODES.unknown,
    summary:
      "The pidfile's lock is in the name of its pid, but whether that process holds it cannot be checked (its /proc/PID/fd is unreadable: run as root); nothing is signalled",
  },
} as const;

/** A stable error code from {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options for {@link FlagstaffError}. */
export interface FlagstaffErrorOptions {
  /** The error that caused this one. Default: none. */
  cause?: unknown;
}

/**
 * Base of every error flagstaff reports to a user.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FlagstaffError } from "./errors.ts";
 * const error = new FlagstaffError("usage", 'Unknown signal "USR3"');
 * assert.equal(error.exitCode, 2);
 * assert.equal(new FlagstaffError("not_running", "No instance runs").exitCode, 3);
 * assert.equal(error.message, 'Unknown signal "USR3"');
 * ```
 */
export class FlagstaffError extends Error {
  /** The stable code, a key of {@link ERROR_CODES}. */
  readonly code: ErrorCode;

  /**
   * Creates an error with a code and a sentence-case message.
   *
   * @param code A key of {@link ERROR_CODES}; it decides the exit code.
   * @param message What went wrong, naming the file, key or argument, values quoted.
   * @param options `cause`: the underlying error, kept as `Error.cause`.
   */
  constructor(code: ErrorCode, message: string, options: FlagstaffErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "FlagstaffError";
    this.code = code;
  }

  /** The process exit code this error maps to. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }
}

/** Where in a config file a problem was found. */
export interface ConfigIssue {
  /** The config file. */
  file: string;
  /** 1-based line, or 0 when the problem has no place (a missing file). */
  line: number;
  /** 1-based column, or 0. */
  column: number;
  /** The dotted key, e.g. `Daemon.pidfile`; empty for the whole file. */
  key: string;
  /** What was expected and what was found. */
  message: string;
}

/**
 * Formats one issue as `line 12, column 3, key "Daemon.pidfile": expected …`.
 *
 * @param issue The issue; its line, column and key are left out when 0 or empty.
 * @returns One line of text, without the file's name.
 */
export function formatIssue(issue: ConfigIssue): string {
  const parts: string[] = [];
  if (issue.line > 0) parts.push(`line ${issue.line}, column ${issue.column}`);
  if (issue.key) parts.push(`key "${issue.key}"`);
  return parts.length ? `${parts.join(", ")}: ${issue.message}` : issue.message;
}

/**
 * A config file that cannot be used. Carries every problem found, each with
 * file, line, column and key; `message` names the first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "./errors.ts";
 * const error = new ConfigError([{
 *   file: "app.yml", line: 12, column: 3, key: "Daemon.pidfile",
 *   message: "expected a string, got 42",
 * }]);
 * assert.equal(
 *   error.message,
 *   'Cannot load config "app.yml": line 12, column 3, key "Daemon.pidfile": expected a string, got 42',
 * );
 * assert.deepEqual([error.code, error.exitCode, error.line, error.key], [
 *   "config_invalid", 2, 12, "Daemon.pidfile",
 * ]);
 * ```
 */
export class ConfigError extends FlagstaffError {
  /** Every problem found, in file order. */
  readonly issues: readonly ConfigIssue[];

  /**
   * Creates the error from one or more issues (all from one file).
   *
   * @param issues Every problem found, in file order; at least one.
   * @param options `code`: `config_invalid` (the default) or `config_not_found`; `cause`.
   */
  constructor(issues: readonly ConfigIssue[], options: FlagstaffErrorOptions & {
    code?: "config_invalid" | "config_not_found";
  } = {}) {
    const first = issues[0];
    super(
      options.code ?? "config_invalid",
      `Cannot load config "${first.file}": ${formatIssue(first)}`,
      options,
    );
    this.name = "ConfigError";
    this.issues = issues;
  }

  /** The config file. */
  get file(): string {
    return this.issues[0].file;
  }
  /** Line of the first issue. */
  get line(): number {
    return this.issues[0].line;
  }
  /** Column of the first issue. */
  get column(): number {
    return this.issues[0].column;
  }
  /** Key of the first issue. */
  get key(): string {
    return this.issues[0].key;
  }
}

/** Describes a value for an error message: `42`, `"text"`, `a list`, `a map`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return String(value);
}

/**
 * The message of any thrown value: an `Error`'s `message`, else the value as
 * text. With `firstLine`, only its first line (Deno's errors add hints below).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { messageOf } from "./errors.ts";
 * assert.equal(messageOf(new Error("boom\nhint")), "boom\nhint");
 * assert.equal(messageOf("plain", { firstLine: true }), "plain");
 * assert.equal(messageOf(new Error("boom\nhint"), { firstLine: true }), "boom");
 * ```
 */
export function messageOf(error: unknown, options: { firstLine?: boolean } = {}): string {
  const text = error instanceof Error ? error.message : String(error);
  return options.firstLine ? text.split("\n")[0] : text;
}

/**
 * Whether `error` says a Deno permission is missing: `Deno.errors.NotCapable`,
 * or the `TypeError` a refused dynamic import throws ("Requires import access
 * to …").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isMissingPermission } from "./errors.ts";
 * assert.ok(isMissingPermission(new Deno.errors.NotCapable("Requires read access")));
 * assert.ok(isMissingPermission(new TypeError('Requires import access to "https://x"')));
 * assert.ok(!isMissingPermission(new Error("no such file")));
 * ```
 */
export function isMissingPermission(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable ||
    (error instanceof Error && /^Requires \w+ access/.test(error.message));
}

/**
 * The user-facing error for a missing Deno permission: code `permission`
 * (exit 2), naming what needed it and the permission, and pointing at the
 * documented flags. Anything else is returned unchanged.
 *
 * @param error What was thrown.
 * @param what What flagstaff was doing, for the message: `Cannot read config "app.yml"`.
 *   Default: none (the message starts with "Missing permission").
 * @returns A {@link FlagstaffError} `permission` when a permission is missing, else `error`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asPermissionError } from "./errors.ts";
 * const error = asPermissionError(
 *   new Deno.errors.NotCapable('Requires read access to "app.yml", run again with the --allow-read flag'),
 *   'Cannot read config "app.yml"',
 * );
 * assert.equal(
 *   (error as Error).message,
 *   'Cannot read config "app.yml": missing permission: Requires read access to "app.yml"; run with the documented flags (see "Permissions" in the README)',
 * );
 * ```
 */
export function asPermissionError(error: unknown, what?: string): unknown {
  if (error instanceof FlagstaffError || !isMissingPermission(error)) return error;
  const detail = messageOf(error, { firstLine: true }).replace(/, run again with.*$/, "");
  const missing =
    `missing permission: ${detail}; run with the documented flags (see "Permissions" in the README)`;
  return new FlagstaffError(
    "permission",
    what ? `${what}: ${missing}` : missing.charAt(0).toUpperCase() + missing.slice(1),
    { cause: error },
  );
}
