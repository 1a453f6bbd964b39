/**
 * The registry of built-in actions: each name a user may give (`--usr1 print
 * hi`, `Signals:` in the config) and the class it runs. The imports are
 * static so that `deno compile` embeds every built-in; `flagstaff list`
 * shows them from the classes' `description` and `arguments`.
 *
 * A built-in is one file in `actions/` whose default export is a plain class
 * that imports flagstaff's types only (`import type`), as user actions do.
 *
 * @module
 */

import type { ActionClass } from "../lib/runtime/action.ts";
import delay_print from "./delay_print.ts";
import exec from "./exec.ts";
import http from "./http.ts";
import log from "./log.ts";
import print from "./print.ts";
import print_once from "./print_once.ts";
import reload from "./reload.ts";
import restart from "./restart.ts";
import stop from "./stop.ts";

/**
 * The built-in actions by name, sorted by name. The object has no prototype,
 * so a lookup such as `BUILTIN_ACTIONS["toString"]` is `undefined`.
 */
export const BUILTIN_ACTIONS: Readonly<Record<string, ActionClass>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, ActionClass>, {
    delay_print,
    exec,
    http,
    log,
    print,
    print_once,
    reload,
    restart,
    stop,
  }),
);
