/**
 * The config's top level: its sections, in the order they are documented,
 * each checked by its own table (`application.ts`, `daemon.ts`,
 * `signals.ts`, `schedules.ts`, `actions.ts`) or, for `Logging`, by
 * `lib/logging/`.
 *
 * @module
 */

import { describeValue } from "../core/errors.ts";
import { checkLoggingSection, type LoggingSection } from "../logging/logging.ts";
import { ACTIONS, checkActions } from "./actions.ts";
import { APPLICATION, checkApplication } from "./application.ts";
import type { ActionSignal } from "../core/signal_table.ts";
import type { ApplicationConfig } from "./application.ts";
import type { DaemonConfig } from "./daemon.ts";
import type { ActionUse } from "./signals.ts";
import type { SchedulesConfig } from "./schedules.ts";
import { checkDaemon, DAEMON } from "./daemon.ts";
import {
  type CheckContext,
  type ConfigKeyDoc,
  isPlainObject,
  keyDocs,
  type SectionSchema,
} from "./schema.ts";
import { pathProblem } from "./key_kinds.ts";
import { checkSchedules, SCHEDULE_ENTRY } from "./schedules.ts";
import { checkSignals, SIGNALS } from "./signals.ts";

/** The sections a config may have, in the order they are documented. */
export const SECTIONS = [
  "Application",
  "Daemon",
  "Logging",
  "Signals",
  "Schedules",
  "Actions",
] as const;

/** Every section of a validated config: a `Config` without its file. */
export interface ConfigSections {
  /** The `Application` section. */
  readonly application: ApplicationConfig;
  /** The `Daemon` section. */
  readonly daemon: DaemonConfig;
  /** The `Logging` section; undefined means the console default. */
  readonly logging?: LoggingSection;
  /** The `Signals` section: actions per signal, in order. */
  readonly signals: Readonly<Partial<Record<ActionSignal, readonly ActionUse[]>>>;
  /** The `Schedules` section: its schedules, in order, names unique. */
  readonly schedules: SchedulesConfig;
  /**
   * The `Actions` section: extra action names mapped to their module, as
   * written: a path (relative to the config file) or URL; or `{module,
   * integrity}`, a URL with its integrity pin (`sha256-<base64>`, `sha384-…`,
   * `sha512-…`).
   */
  readonly actions: Readonly<
    Record<string, string | { readonly module: string; readonly integrity?: string }>
  >;
}

/** `Logging` is one row in the README: its keys are documented in a section of their own. */
const LOGGING_DOC: ConfigKeyDoc = {
  keys: ["Logging"],
  type: "map",
  unit: "",
  default: "console",
  example: "see below",
  doc: "Python `logging.config.dictConfig` shape",
};

/** The tables, in the order the README lists them; `Logging` is documented on its own. */
const TABLES: readonly (SectionSchema | ConfigKeyDoc)[] = [
  APPLICATION,
  DAEMON,
  LOGGING_DOC,
  SIGNALS,
  SCHEDULE_ENTRY,
  ACTIONS,
];

/**
 * Checks a whole parsed config (missing or null: every default), reporting
 * every problem: a document that is not a map, an unknown section (with a
 * hint when only its case is wrong), and each section's problems. A wrong
 * value is left out or at its default. Paths are not resolved yet.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSections } from "./sections.ts";
 * const problems: string[] = [];
 * const config = checkSections({ daemon: {}, Daemon: { detach: true } }, {
 *   report: (path, message) => problems.push(`${path.join(".")}: ${message}`),
 *   origin: () => "<default>",
 * });
 * assert.deepEqual(config.daemon, { detach: true, stop_timeout: 10 });
 * assert.deepEqual(problems, [
 *   'daemon: unknown section "daemon" (sections are case-sensitive: did you mean "Daemon"?)',
 * ]);
 * ```
 */
export function checkSections(
  root: unknown,
  context: Omit<CheckContext, "path" | "section">,
): ConfigSections {
  const { report } = context;
  const sections = root ?? {};
  if (!isPlainObject(sections)) {
    report([], `expected a map of sections (${SECTIONS.join(", ")}), got ${describeValue(root)}`);
    return {
      application: checkApplication(undefined, context),
      daemon: checkDaemon(undefined, context),
      signals: {},
      schedules: [],
      actions: {},
    };
  }
  for (const key of Object.keys(sections)) {
    if (!(SECTIONS as readonly string[]).includes(key)) {
      const hint = SECTIONS.find((s) => s.toLowerCase() === key.toLowerCase());
      report(
        [key],
        hint
          ? `unknown section "${key}" (sections are case-sensitive: did you mean "${hint}"?)`
          : `unknown section "${key}" (expected ${SECTIONS.join(", ")})`,
        "key",
      );
    }
  }
  const application = checkApplication(sections.Application, context);
  const daemon = checkDaemon(sections.Daemon, context);
  let logging: LoggingSection | undefined;
  if (sections.Logging !== undefined && sections.Logging !== null) {
    checkLoggingSection(sections.Logging, (path, message) => report(["Logging", ...path], message));
    checkLogFilenames(sections.Logging, context);
    logging = sections.Logging as LoggingSection;
  }
  const signals = checkSignals(sections.Signals, context);
  const schedules = checkSchedules(sections.Schedules, context);
  const actions = checkActions(sections.Actions, context);
  return { application, daemon, logging, signals, schedules, actions };
}

/**
 * Reports a handler's `filename` with a control character (a NUL ends the
 * path the C library opens): `lib/logging/` checks the rest of each handler.
 */
function checkLogFilenames(
  logging: unknown,
  { report }: Omit<CheckContext, "path" | "section">,
): void {
  const handlers = isPlainObject(logging) ? logging.handlers : undefined;
  if (!isPlainObject(handlers)) return;
  for (const [name, handler] of Object.entries(handlers)) {
    const filename = isPlainObject(handler) ? handler.filename : undefined;
    const problem = typeof filename === "string" ? pathProblem(filename) : undefined;
    if (problem) report(["Logging", "handlers", name, "filename"], problem);
  }
}

/**
 * The README's Configuration table, row by row, from the tables: every key
 * flagstaff reads, with type, unit, default, an example and its meaning, as
 * markdown cells. `tests/readme_test.ts` compares the README with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configKeyDocs } from "./sections.ts";
 * const wake = configKeyDocs().find((doc) => doc.keys[0] === "Application.wake_interval")!;
 * assert.deepEqual([wake.type, wake.unit, wake.default], ["number ≥ 0.01", "seconds", "`60`"]);
 * ```
 */
export function configKeyDocs(): ConfigKeyDoc[] {
  return TABLES.flatMap((table) => "name" in table ? keyDocs(table) : [table]);
}
