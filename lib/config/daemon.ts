/**
 * The `Daemon` section's table, one row per key. The checks that need the
 * system (accounts, log files) are in `system_checks.ts`.
 *
 * To add a key: add a field to {@link DaemonConfig} and its row to
 * {@link DAEMON_KEYS} (the compiler asks for both); the validator, the
 * unknown-key message, the README test and the `flagstaff new` config follow
 * from the row.
 *
 * @module
 */

import { describeValue } from "../core/errors.ts";
import {
  type CheckContext,
  checkSection,
  isNonEmptyString,
  type KeyKind,
  type SectionRows,
  type SectionSchema,
} from "./schema.ts";
import { flag, pathText, seconds } from "./key_kinds.ts";

/** Default `Daemon.stop_timeout`, in seconds. */
export const DEFAULT_STOP_TIMEOUT_S = 10;

/** The `Daemon` section. */
export interface DaemonConfig {
  /** User (name or uid, as written) to run as when started as root; known to the user database. */
  readonly user?: string;
  /** Group (name or gid, as written) to run as when started as root; known to the group database. */
  readonly group?: string;
  /** Absolute path of the pidfile (a relative one in the file is relative to the file's folder). */
  readonly pidfile?: string;
  /** File mode creation mask, e.g. `0o022`, read from the source text as octal (`022`, `22`, `0o22`). */
  readonly umask?: number;
  /** helper's key; accepted. */
  readonly prevent_core?: boolean;
  /** Seconds a stop waits for the running unit and `cleanup()`, at least 0.001. Default 10. */
  readonly stop_timeout: number;
  /** Detach into the background, as `--daemon` does (`-f` overrides). Default false. */
  readonly detach?: boolean;
  /**
   * The schedules' state folder (absolute once loaded: relative to the file's
   * folder); default `defaultStateDir()` (`lib/schedules/state_dir.ts`).
   */
  readonly state_dir?: string;
}

/**
 * A user or group, as written: `user: 0100` is uid 100, not YAML 1.1's octal
 * 64. Null means none. Whether it exists is {@link checkAccounts}' question.
 */
const account: KeyKind<string> = {
  type: "string or id",
  check(value, { path, report, source }) {
    if (value === null) return undefined;
    if (isNonEmptyString(value)) return value;
    const written = typeof value === "string" ? undefined : source?.scalar(path);
    if (written) return written.text;
    if (typeof value === "number" && Number.isInteger(value) && value >= 0) return String(value);
    report(path, `expected a name or numeric id, got ${describeValue(value)}`);
    return undefined;
  },
};

/**
 * A umask from its source text, read as octal as umask(1) reads it: `027`,
 * `27`, `0o27` (or a quoted `"027"`). A digit 8 or 9 or a mode past 0777 is
 * an error showing what was written (YAML 1.1 reads `0999` as 999).
 */
const umask: KeyKind<number> = {
  type: "octal",
  check(value, { path, report, source }) {
    const written = source?.scalar(path);
    const digits = written && /^(?:0[oO])?([0-7]+)$/.exec(written.text)?.[1];
    const mode = digits ? parseInt(digits, 8) : undefined;
    if (mode !== undefined && mode <= 0o777) return mode;
    const found = written?.plain ? written.text : describeValue(value);
    report(path, `expected an octal mode from 0 to 0777 such as 022, got ${found}`);
    return undefined;
  },
};

/** `stop_timeout` is at least 0.001 s, the timer resolution: a shorter wait cannot be honoured. */
const STOP_TIMEOUT = seconds(0.001);

/** The rows of `Daemon`, in the order the unknown-key message lists them. */
export const DAEMON_KEYS = {
  user: {
    ...account,
    absent: "none",
    example: "user: www-data",
    doc: "user to switch to when started as root; must exist: an unknown user is a config " +
      "error (exit 2) for `check`, `run` and reload",
  },
  group: {
    ...account,
    absent: "the user's",
    example: "group: daemon",
    doc: "group to switch to when started as root; must exist (config error, exit 2)",
  },
  pidfile: {
    ...pathText,
    absent: "none",
    example: "pidfile: /run/myapp/myapp.pid",
    doc: "pidfile, locked while running (its folder must exist); relative to the config " +
      "file's folder; `--pidfile` overrides it",
  },
  umask: {
    ...umask,
    absent: "unchanged",
    example: "umask: 027",
    doc: "file mode creation mask, set before the first file is created; read as written, " +
      'in octal (`027`, `27`, `0o27`, `"027"`); a digit 8 or 9 is an error',
  },
  prevent_core: {
    ...flag,
    example: "prevent_core: true",
    doc: "helper's key: accepted, no effect",
  },
  stop_timeout: {
    ...STOP_TIMEOUT,
    default: DEFAULT_STOP_TIMEOUT_S,
    example: "stop_timeout: 5",
    doc: "how long a stop waits for `setup()`, the unit in flight, `cleanup()` and the " +
      "tear-down of actions whose runs are still going before forcing the exit (exit 1), " +
      "even while JavaScript is blocked",
  },
  detach: {
    ...flag,
    absent: "`false`",
    example: "detach: true",
    doc: "detach as `--daemon` does; `-f` overrides it",
  },
  state_dir: {
    ...pathText,
    absent: "see meaning",
    example: "state_dir: /var/lib/myapp",
    doc: "folder of the schedules' state file (last runs for `catch_up`, next runs for " +
      "`status`), made mode 0700 by `Daemon.user`; relative to the config file's folder; " +
      "default `$STATE_DIRECTORY` (systemd's `StateDirectory=`), else `/var/lib/<name>` as " +
      "root, else `$XDG_STATE_HOME/<name>` or `~/.local/state/<name>`",
  },
} as const satisfies SectionRows<DaemonConfig>;

/** The `Daemon` table: its rows; any other key is an error. */
export const DAEMON: SectionSchema = {
  name: "Daemon",
  keys: DAEMON_KEYS,
  others: {
    kind: "refused",
    message: (key, known) => `unknown key "${key}" (expected one of ${known.join(", ")})`,
  },
};

/**
 * Checks the `Daemon` section (missing or null: every default), reporting
 * every problem; a wrong value is left out or at its default. `pidfile`
 * stays as written (the caller resolves it against the config's folder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDaemon } from "./daemon.ts";
 * const problems: string[] = [];
 * const daemon = checkDaemon({ detach: "maybe", colour: "red" }, {
 *   report: (path, message) => problems.push(`${path.join(".")}: ${message}`),
 *   origin: () => "<default>",
 * });
 * assert.deepEqual(daemon, { stop_timeout: 10 });
 * assert.deepEqual(problems, [
 *   'Daemon.colour: unknown key "colour" (expected one of user, group, pidfile, umask, ' +
 *   'prevent_core, stop_timeout, detach, state_dir)',
 *   'Daemon.detach: expected true or false, got "maybe"',
 * ]);
 * ```
 */
export function checkDaemon(
  value: unknown,
  context: Omit<CheckContext, "path" | "section">,
): DaemonConfig {
  return checkSection(DAEMON, value, context) as unknown as DaemonConfig;
}
