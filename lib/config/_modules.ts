/**
 * Checks shared by the keys that name a module to load (`Application.controller`,
 * `Actions.<name>`) and by their integrity pins.
 *
 * @module
 */

import { describeValue } from "../core/errors.ts";
import { integrityProblem } from "../core/integrity.ts";
import { remoteUrlProblem } from "../core/remote_url.ts";
import { isNonEmptyString, type KeyKind } from "./schema.ts";
import { pathProblem } from "./key_kinds.ts";

/**
 * A module to load: a path (relative to the config file) or a URL; an
 * `http:`/`https:` URL must parse and be one flagstaff may fetch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { moduleSpecifier } from "./_modules.ts";
 * const problems: string[] = [];
 * const context = {
 *   path: ["Application", "controller"],
 *   report: (_: unknown, message: string) => problems.push(message),
 *   section: {},
 *   origin: () => "",
 * };
 * assert.equal(moduleSpecifier.check("./controller.ts", context), "./controller.ts");
 * assert.equal(moduleSpecifier.check(7, context), undefined);
 * assert.deepEqual(problems, ["expected a module path or URL, got 7"]);
 * ```
 */
export const moduleSpecifier: KeyKind<string> = {
  type: "string",
  check(value, { path, report }) {
    if (!isNonEmptyString(value)) {
      report(path, `expected a module path or URL, got ${describeValue(value)}`);
      return undefined;
    }
    const problem = moduleUrlProblem(value);
    if (problem) report(path, problem);
    return problem ? undefined : value;
  },
};

/**
 * Why a module path or URL cannot be loaded (a control character such as
 * NUL, a malformed URL, plain http:// off loopback); undefined for a path or
 * a URL that may be fetched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { moduleUrlProblem } from "./_modules.ts";
 * assert.equal(moduleUrlProblem("./a.ts"), undefined);
 * assert.equal(moduleUrlProblem("https://"), 'expected a module path or URL, got an invalid URL "https://"');
 * ```
 */
export function moduleUrlProblem(specifier: string): string | undefined {
  const control = pathProblem(specifier);
  if (control) return control;
  if (!/^https?:/i.test(specifier)) return undefined;
  try {
    return remoteUrlProblem(new URL(specifier));
  } catch {
    return `expected a module path or URL, got an invalid URL "${specifier}"`;
  }
}

/**
 * Why `integrity` cannot pin `module`: not a pin, or `module` is not a URL;
 * undefined when it can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pinProblem } from "./_modules.ts";
 * const pin = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
 * assert.equal(pinProblem(pin, "https://example.com/a.ts"), undefined);
 * assert.equal(
 *   pinProblem(pin, "./a.ts"),
 *   'an integrity pin applies to a module given by URL only, not to "./a.ts"',
 * );
 * ```
 */
export function pinProblem(integrity: unknown, module: unknown): string | undefined {
  return integrityProblem(integrity) ??
    (isNonEmptyString(module) && !/^https?:/i.test(module)
      ? `an integrity pin applies to a module given by URL only, not to "${module}"`
      : undefined);
}
