/**
 * A full garbage collection on demand, after a reload.
 *
 * A reload makes garbage (the YAML document, the config, the old action set,
 * the new modules' source); V8 collects it lazily and meanwhile grows its
 * heap: 1,000 reloads in a row grew RSS by about 70 MB before it levelled off,
 * although nothing was leaked (the heap in use stayed at 9 MB). A reload is
 * a rare event, so flagstaff asks V8 for a full collection right after one
 * (about 10 ms); then 1,000 reloads grow RSS by a few MB (`deno task bench`,
 * "Memory across reloads").
 *
 * V8 has no API for it without `--expose-gc`, which `deno run` users would
 * have to pass: Node's documented way, setting the flag at run time and
 * taking `gc` from a new context (`node:v8` `setFlagsFromString`,
 * `node:vm` `runInNewContext`), works in Deno too. Both modules are loaded on
 * the first call, not at start-up.
 *
 * @module
 */

let gc: (() => void) | null | undefined;

/**
 * Runs a full garbage collection. Does nothing where the runtime offers no
 * way to (it never throws).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { collectGarbage } from "./heap.ts";
 * assert.equal(await collectGarbage(), undefined);
 * ```
 */
export async function collectGarbage(): Promise<void> {
  if (gc === undefined) {
    try {
      const [{ default: v8 }, { default: vm }] = await Promise.all([
        import("node:v8"),
        import("node:vm"),
      ]);
      v8.setFlagsFromString("--expose-gc");
      const found = vm.runInNewContext("gc");
      gc = typeof found === "function" ? found as () => void : null;
    } catch {
      gc = null;
    }
  }
  try {
    gc?.();
  } catch {
    // Nothing to do.
  }
}
