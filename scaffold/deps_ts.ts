/**
 * `deps.ts` of a new project: the one file that names flagstaff's URL, as
 * flagstaff's own `lib/deps.ts` names its packages. A full URL, since the
 * project has no import map (`deno run <URL>` would not read one); re-exported
 * with `export … from`, which `deno lint`'s `no-import-prefix` rule allows.
 * One name per line, so `deno fmt` never re-wraps a line whatever the URL's
 * length.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `deps.ts`. */
export function depsTs(vars: TemplateVars): string {
  return `/**
 * The one place that names flagstaff, by full URL: change it here to move to another version.
 * Actions import its types only (\`import type\`), so they load no second copy of flagstaff.
 *
 * @module
 */

export { Controller } from "${vars.flagstaff}";
export { start } from "${vars.flagstaff}";
export type { ActionContext } from "${vars.flagstaff}";
export type { Config } from "${vars.flagstaff}";
`;
}
