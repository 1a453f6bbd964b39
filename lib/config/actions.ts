/**
 * The `Actions` section's table: the user names each entry (an action name),
 * and one row checks every entry: a module path (relative to the config
 * file) or URL, or `{module, integrity}` to pin a URL module.
 *
 * @module
 */

import { describeValue } from "../core/errors.ts";
import { moduleUrlProblem, pinProblem } from "./_modules.ts";
import { ACTION_NAME } from "./signals.ts";
import {
  type CheckContext,
  checkSection,
  isNonEmptyString,
  isPlainObject,
  type KeyKind,
  type SectionSchema,
} from "./schema.ts";

/** An `Actions` entry, as written: a path or URL, or a URL with its integrity pin. */
export type ActionModule = string | { readonly module: string; readonly integrity?: string };

/**
 * The `Actions` section as validated: extra action names mapped to their
 * module, as written: a path (relative to the config file) or URL; or
 * `{module, integrity}`, a URL with its integrity pin (`sha256-<base64>`,
 * `sha384-…`, `sha512-…`).
 */
export type ActionsConfig = Readonly<Record<string, ActionModule>>;

/** An entry: a module, or `{module, integrity}`; wrong ones are reported and left out. */
const actionModule: KeyKind<ActionModule> = {
  type: "string or map",
  check(given, { path, report }) {
    if (isNonEmptyString(given)) {
      const problem = moduleUrlProblem(given);
      if (problem) report(path, problem);
      return problem ? undefined : given;
    }
    if (!isPlainObject(given)) {
      report(path, `expected a module path or URL, got ${describeValue(given)}`);
      return undefined;
    }
    let ok = true;
    for (const key of Object.keys(given)) {
      if (key !== "module" && key !== "integrity") {
        report([...path, key], `unknown key "${key}" (expected module, integrity)`, "key");
        ok = false;
      }
    }
    const { module, integrity } = given;
    if (!isNonEmptyString(module)) {
      report(
        module === undefined ? path : [...path, "module"],
        `expected a module path or URL as "module", got ${describeValue(module)}`,
      );
      ok = false;
    } else {
      const problem = moduleUrlProblem(module);
      if (problem) report([...path, "module"], problem);
      ok &&= !problem;
    }
    if (integrity !== undefined) {
      const problem = pinProblem(integrity, module);
      if (problem) report([...path, "integrity"], problem);
      ok &&= !problem;
    }
    if (!ok) return undefined;
    return integrity === undefined
      ? { module: module as string }
      : { module: module as string, integrity: integrity as string };
  },
};

/** The `Actions` table: every key is an action name the user chooses, checked by one row. */
export const ACTIONS: SectionSchema = {
  name: "Actions",
  keys: {},
  others: {
    kind: "named",
    label: "<name>",
    name: ACTION_NAME,
    nameMessage: (name) =>
      `expected an action name (letters, digits, _ and -), got ${describeValue(name)}`,
    row: {
      ...actionModule,
      absent: "none",
      example: "greet: ./greet.ts",
      doc: "an extra action: a module path (relative to the config file) or URL, or " +
        "`{module: https://…, integrity: sha256-…}` to pin a URL module",
    },
  },
};

/**
 * Checks the `Actions` section (missing or null: none), reporting every
 * problem; a wrong entry is left out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkActions } from "./actions.ts";
 * const problems: string[] = [];
 * const actions = checkActions({ notify: "./notify.ts", "b@d": "./x.ts", ok: 7 }, {
 *   report: (path, message) => problems.push(`${path.join(".")}: ${message}`),
 *   origin: () => "<default>",
 * });
 * assert.deepEqual(actions, { notify: "./notify.ts" });
 * assert.deepEqual(problems, [
 *   'Actions.b@d: expected an action name (letters, digits, _ and -), got "b@d"',
 *   "Actions.ok: expected a module path or URL, got 7",
 * ]);
 * ```
 */
export function checkActions(
  value: unknown,
  context: Omit<CheckContext, "path" | "section">,
): ActionsConfig {
  return checkSection(ACTIONS, value, context) as ActionsConfig;
}
