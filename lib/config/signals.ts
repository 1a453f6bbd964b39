/**
 * The `Signals` section's table: one row per signal that takes actions (from
 * `lib/core/signal_table.ts`), all of one kind, a list of actions.
 *
 * Action arguments are strings as written: a plain scalar gives its source
 * text (`0755`, `yes`, `12:30`, `1.10` and `~` stay as written), a quoted or
 * block scalar its string value, through anchors, aliases and merge keys
 * alike. A scalar with a tag gives its value when that is a number, boolean
 * or string (`!!int 0755` gives `493`), else its text (`!!timestamp
 * 2001-12-14`, `!!binary aGk=`). A whole value that is empty or null
 * (`stop:`, `stop: ~`) means no arguments.
 *
 * @module
 */

import { describeValue } from "../core/errors.ts";
import { ACTION_SIGNALS, type ActionSignal } from "../core/signal_table.ts";
import {
  type CheckContext,
  checkSection,
  type ConfigSource,
  isPlainObject,
  type KeyKind,
  type KeyPath,
  type KeyRow,
  type Report,
  type SectionSchema,
} from "./schema.ts";
import { secondsProblem } from "./key_kinds.ts";

/** One use of an action for a signal, from the config or the command line. */
export interface ActionUse {
  /** The action's name, e.g. `print`. */
  readonly name: string;
  /** Its arguments, as strings: from a config, each word as written (`0755` stays `"0755"`). */
  readonly args: readonly string[];
  /** Seconds a run may take before its signal aborts it (at least 0.001); none by default. */
  readonly timeout?: number;
  /**
   * Where it was given, for messages: `--usr1`, `--every 5m`, or
   * `app.yml line 12 (Signals.usr1[0])`.
   */
  readonly origin: string;
}

/** The `Signals` section as validated: actions per signal, in order. */
export type SignalsConfig = Readonly<Partial<Record<ActionSignal, readonly ActionUse[]>>>;

/** An action's `timeout` is at least 0.001 s, the timer resolution. */
export const MIN_TIMEOUT_S = 0.001;

/** What an action's name may be: letters, digits, `_` and `-`, not starting with a digit or `-`. */
export const ACTION_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * A list of actions: `name`, `{name: arg}`, `{name: [args]}`, each map with
 * an optional `timeout` in seconds. Null means none given (the default
 * applies); each wrong entry is reported and left out. `Signals` and
 * `Schedules[].run` share it.
 */
export const actionList: KeyKind<readonly ActionUse[]> = {
  type: "list",
  check(list, { path, report, source, origin }) {
    if (list === null) return undefined;
    if (!Array.isArray(list)) {
      report(path, `expected a list of actions, got ${describeValue(list)}`);
      return undefined;
    }
    const uses: ActionUse[] = [];
    list.forEach((item, i) => {
      const at = [...path, i];
      const use = actionUse(item, at, {
        origin: `${origin(at)} (${path.join(".")}[${i}])`,
        report,
        source,
      });
      if (use) uses.push(use);
    });
    return uses;
  },
};

/**
 * One entry of an action list, given the file's syntax tree to read its
 * arguments as written (without one, the built-in default, they are the
 * parsed values as strings); undefined, after reporting why, when it is wrong.
 */
function actionUse(
  item: unknown,
  path: KeyPath,
  { origin, report, source }: { origin: string; report: Report; source?: ConfigSource },
): ActionUse | undefined {
  if (typeof item === "string") {
    if (ACTION_NAME.test(item)) return { name: item, args: [], origin };
    report(path, `expected an action name, got ${describeValue(item)}`);
    return undefined;
  }
  if (!isPlainObject(item)) {
    report(
      path,
      `expected an action name or a map like {print: "hi"}, got ${describeValue(item)}`,
    );
    return undefined;
  }
  const names = Object.keys(item).filter((k) => k !== "timeout");
  if (names.length !== 1) {
    report(
      path,
      `expected one action name beside "timeout", got ${
        names.length ? names.map((n) => `"${n}"`).join(", ") : "none"
      }`,
    );
    return undefined;
  }
  const name = names[0];
  const raw = item[name];
  const words = raw === null || raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  // A scalar with a tag (`!!timestamp`, `!!binary`) is a word too: its text as written.
  const scalar = (w: unknown) =>
    typeof w !== "object" || w === null || w instanceof Date || w instanceof Uint8Array;
  if (!words.every(scalar)) {
    report(
      [...path, name],
      `expected a word or a list of words as arguments, got ${describeValue(raw)}`,
    );
    return undefined;
  }
  const timeout = item.timeout;
  const problem = timeout === undefined ? undefined : secondsProblem(timeout, MIN_TIMEOUT_S);
  if (problem) {
    report([...path, "timeout"], problem);
    return undefined;
  }
  return {
    name,
    args: source?.words([...path, name]) ?? words.map((w) => String(w)),
    timeout: timeout as number | undefined,
    origin,
  };
}

/** The one row every signal shares (the README documents them in one line). */
const SIGNAL_ROW: KeyRow<readonly ActionUse[]> = {
  ...actionList,
  absent: "the default",
  example: "usr1: [{print: hi}]",
  doc: "actions for that signal, in order: `name`, `{name: arg}`, `{name: [args]}`, each with " +
    `an optional \`timeout\` (seconds, ≥ ${MIN_TIMEOUT_S}); arguments are strings as ` +
    "written (`exec: [chmod, 0755, f]` passes `0755`, `print: yes` prints `yes`); an empty or " +
    "null value means no arguments; `usr1: []` runs nothing on USR1 (it replaces the default)",
};

const SIGNAL_KEYS = Object.keys(ACTION_SIGNALS);

/** The `Signals` table: a row per signal that takes actions; any other key is an error. */
export const SIGNALS: SectionSchema = {
  name: "Signals",
  keys: Object.fromEntries(SIGNAL_KEYS.map((key) => [key, SIGNAL_ROW])),
  others: {
    kind: "refused",
    message: (key, known) =>
      `unknown signal "${key}" (expected ${known.slice(0, -1).join(", ")} or ${known.at(-1)})`,
  },
};

/**
 * Checks the `Signals` section (missing or null: none), reporting every
 * problem; a wrong entry is left out. Returns the actions per signal name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSignals } from "./signals.ts";
 * const problems: string[] = [];
 * const signals = checkSignals({ usr1: ["reload", { print: "hi", timeout: 0 }], usr3: [] }, {
 *   report: (path, message) => problems.push(`${path.join(".")}: ${message}`),
 *   origin: () => "<default>",
 * });
 * assert.deepEqual(signals, {
 *   SIGUSR1: [{ name: "reload", args: [], origin: "<default> (Signals.usr1[0])" }],
 * });
 * assert.deepEqual(problems, [
 *   'Signals.usr3: unknown signal "usr3" (expected hup, usr1 or usr2)',
 *   "Signals.usr1.1.timeout: expected a positive number of seconds, got 0",
 * ]);
 * ```
 */
export function checkSignals(
  value: unknown,
  context: Omit<CheckContext, "path" | "section">,
): SignalsConfig {
  const checked = checkSection(SIGNALS, value, context);
  return Object.fromEntries(
    Object.entries(checked).map(([key, uses]) => [ACTION_SIGNALS[key], uses]),
  ) as SignalsConfig;
}
