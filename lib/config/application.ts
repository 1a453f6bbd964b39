/**
 * The `Application` section's table: flagstaff's keys, one row each. Every
 * other key is the app's own, handed over untouched.
 *
 * To add a key: add a field to {@link ApplicationConfig} and its row to
 * {@link APPLICATION_KEYS} (the compiler asks for both); the validator, the
 * README test and the `flagstaff new` config follow from the row.
 *
 * @module
 */

import { moduleSpecifier, pinProblem } from "./_modules.ts";
import {
  type CheckContext,
  checkSection,
  type KeyKind,
  type SectionRows,
  type SectionSchema,
} from "./schema.ts";
import { seconds } from "./key_kinds.ts";

/** Default `Application.wake_interval`, in seconds (helper's). */
export const DEFAULT_WAKE_INTERVAL_S = 60;

/** The `Application` section: flagstaff's keys plus the app's own, untouched. */
export interface ApplicationConfig {
  /** Seconds between `process()` calls; fractions allowed. Default 60. */
  readonly wake_interval: number;
  /** Module (path relative to the config file, or URL) whose default export is the controller. */
  readonly controller?: string;
  /** Integrity pin (`sha256-<base64>`, `sha384-…`, `sha512-…`) of a `controller` given by URL. */
  readonly controller_integrity?: string;
  /** Any other key belongs to the app. */
  readonly [key: string]: unknown;
}

/** `controller_integrity`: a pin, and only beside a `controller` given by URL. */
const controllerPin: KeyKind<string> = {
  type: "string",
  check(value, { path, report, section }) {
    const problem = section.controller === undefined
      ? `an integrity pin needs "Application.controller", a URL`
      : pinProblem(value, section.controller);
    if (problem) report(path, problem);
    return problem ? undefined : value as string;
  },
};

/**
 * `wake_interval` is at least 0.01 s (100 ticks a second): timers have whole
 * millisecond resolution and each tick costs the loop a timer, a `process()`
 * call and its logging; below 10 ms that cost is a large share of the
 * interval and, on a loaded machine, every tick overruns, which is a busy
 * loop rather than a schedule.
 */
const WAKE_INTERVAL = seconds(0.01);

/** The rows of `Application`, in the order the docs list them. */
export const APPLICATION_KEYS = {
  wake_interval: {
    ...WAKE_INTERVAL,
    default: DEFAULT_WAKE_INTERVAL_S,
    example: "wake_interval: 0.5",
    doc: `time between \`process()\` calls; fractions allowed, at least ${WAKE_INTERVAL.minS}; ` +
      "no upper bound (a long one is waited out as written)",
  },
  controller: {
    ...moduleSpecifier,
    absent: "none",
    example: "controller: ./controller.ts",
    doc: "controller module: a path (relative to the config file) or URL; " +
      "`--controller` overrides it",
  },
  controller_integrity: {
    ...controllerPin,
    absent: "none",
    example: "controller_integrity: sha256-…",
    doc: "integrity pin (SRI `sha256-`/`sha384-`/`sha512-<base64>`) of a URL `controller`, " +
      "checked on every load; a mismatch refuses it (exit 2)",
  },
} as const satisfies SectionRows<ApplicationConfig>;

/** The `Application` table: its rows, and every other key kept for the app. */
export const APPLICATION: SectionSchema = {
  name: "Application",
  keys: APPLICATION_KEYS,
  others: {
    kind: "kept",
    doc: {
      keys: ["Application.*"],
      type: "any",
      unit: "",
      default: "",
      example: "`greeting: hello`",
      doc: "every other key is the app's, handed over untouched as `config.application`",
    },
  },
};

/**
 * Checks the `Application` section (missing or null: every default),
 * reporting every problem; a wrong value is left out or at its default, the
 * app's keys are kept as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkApplication } from "./application.ts";
 * const problems: string[] = [];
 * const application = checkApplication({ wake_interval: 0, greeting: "hi" }, {
 *   report: (path, message) => problems.push(`${path.join(".")}: ${message}`),
 *   origin: () => "<default>",
 * });
 * assert.deepEqual(application, { wake_interval: 60, greeting: "hi" });
 * assert.deepEqual(problems, [
 *   "Application.wake_interval: expected a positive number of seconds, got 0",
 * ]);
 * ```
 */
export function checkApplication(
  value: unknown,
  context: Omit<CheckContext, "path" | "section">,
): ApplicationConfig {
  return checkSection(APPLICATION, value, context) as ApplicationConfig;
}
