/**
 * What a user's module that failed to load did wrong, in the words of one
 * error line plus where: Deno's own message (a syntax error, a missing
 * import, a top-level throw), the module's file, line and column, and Deno's
 * code frame when it gave one.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** A location line of Deno's: `    at file:///srv/app/c.ts:1:42`, or in a stack, `at fn (file:…:3:7)`. */
const LOCATION = /^\s*at (?:async )?(?:[^(]*\()?((?:file|https?|data):[^\s)]*?):(\d+):(\d+)\)?$/;
/** A line of Deno's code frame: `  |`, `1 | export …`, `  |   ~`. */
const FRAME = /^\s*\d*\s\|/;
/** Terminal colour codes, which Deno puts in some messages when its stderr is a terminal. */
// deno-lint-ignore no-control-regex
const COLOUR = /\x1b\[[0-9;]*m/g;
/** flagstaff's own code, never the place a user's module went wrong. */
const OWN_CODE = new URL("../../", import.meta.url).href;

/**
 * Describes why importing a user's module failed: the first line of the
 * error's message, then `at <path>:<line>:<column>` (from the message's own
 * location line, else from the first frame of the stack outside flagstaff's
 * own code), then Deno's code
 * frame lines, if any. A `data:` URL (a module fetched by URL) is shown as
 * `data:…`.
 *
 * @param error What `import()` threw (or a top-level throw of the module).
 * @returns One line, or that line and the code frame's lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { moduleErrorText } from "./module_error.ts";
 * const error = new TypeError(
 *   "SyntaxError: Expression expected\n  |\n1 | let x = ;\n  |         ~\n    at file:///srv/c.ts:1:9",
 * );
 * assert.equal(
 *   moduleErrorText(error),
 *   "SyntaxError: Expression expected (at /srv/c.ts:1:9)\n  |\n1 | let x = ;\n  |         ~",
 * );
 * assert.equal(moduleErrorText("no"), "no");
 * ```
 */
export function moduleErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const lines = error.message.replace(COLOUR, "").split("\n");
  const frame = lines.slice(1).filter((line) => FRAME.test(line));
  const locate = (text: string[]) =>
    text.map((line) => LOCATION.exec(line)).find((found) =>
      found !== null && !found[1].startsWith(OWN_CODE)
    );
  const said = locate(lines.slice(1));
  // Not in Deno's message: the module threw while it ran (its top level), so its class counts.
  const thrown = said
    ? undefined
    : locate((error.stack ?? "").replace(COLOUR, "").split("\n").slice(1));
  const location = said ?? thrown;
  const where = location ? ` (at ${shown(location[1])}:${location[2]}:${location[3]})` : "";
  const first = lines[0].replace(/\.$/, "");
  const named = thrown && !first.startsWith(`${error.name}:`) ? `${error.name}: ${first}` : first;
  return [named + where, ...frame].join("\n");
}

function shown(url: string): string {
  if (url.startsWith("file:")) {
    try {
      return fileURLToPath(url);
    } catch {
      return url;
    }
  }
  return url.startsWith("data:") ? "data:…" : url;
}
