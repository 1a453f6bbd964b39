/**
 * Writes flagstaff's one permission list (`lib/cli/permissions.ts`) into the
 * places that cannot import it: the `deno.json` tasks that run flagstaff and
 * the README's command lines. `deno task sync` runs it after a change to the
 * list; `tests/readme_test.ts` fails while a copy differs.
 *
 * (Deno 2.9 can read permission sets from `deno.json`, but prints an
 * "experimental feature" warning on every run: not on a user's screen.)
 *
 * @module
 */

import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";

const ROOT = new URL("..", import.meta.url);
/** A run of `--allow-*` flags ending in a scoped `--allow-env=…`, as the copies spell it. */
const FLAGS_RUN = /--allow-read --allow-write(?: --allow-[a-z]+)* --allow-env=[^\s"`]*/g;

async function rewrite(path: string): Promise<boolean> {
  const url = new URL(path, ROOT);
  const text = await Deno.readTextFile(url);
  const next = text.replaceAll(FLAGS_RUN, PERMISSION_FLAGS.join(" "));
  if (next === text) return false;
  await Deno.writeTextFile(url, next);
  return true;
}

if (import.meta.main) {
  for (const path of ["deno.json", "README.md"]) {
    console.log(`${path}: ${await rewrite(path) ? "updated" : "already in step"}`);
  }
}
