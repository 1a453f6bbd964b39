/**
 * Loads user modules (a tool-mode controller, actions) from a local path or a
 * URL by dynamic import, each load keyed on the module's content, so an
 * unchanged module is never imported (and evaluated) twice.
 *
 * - **A URL module** (`https:`, or `http:` on a loopback host only) is fetched
 *   by flagstaff itself on every load, its integrity pin checked, and exactly
 *   the bytes fetched are imported as a `data:` URL: see `remote.ts`
 *   ({@link importRemote}), which also says how redirects are followed and
 *   why a relative runtime import is refused.
 * - **A local module** is imported by its file URL, so its relative imports
 *   keep working. Its bytes are hashed (SHA-256) on every load: the first
 *   content seen is imported by the plain URL, any other content by the URL
 *   with `?flagstaff_sha256=<first 16 hex digits>`. Only the module itself is
 *   keyed: the modules it imports are imported once per process, as Deno
 *   does.
 * - **As root** (effective uid 0), a local module is imported only when no
 *   other user can change it or the path to it; see {@link codeTrustProblem}
 *   (`code_trust.ts`). A `data:` or URL module is not a file, and is not
 *   concerned.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ControllerClass, ControllerLike } from "./controller.ts";
import { FlagstaffError } from "../core/errors.ts";
import { moduleErrorText } from "./module_error.ts";
import { isRemote } from "../core/remote_url.ts";
import {
  codeTrustProblem,
  refusingAs,
  remoteCodeTrustProblem,
  untrustedCodeError,
} from "./code_trust.ts";
import { importRemote, type RemoteModuleOptions } from "./remote.ts";

// Where `lib/config` and the tests have always found them.

let standalone: boolean | undefined;

/**
 * Whether flagstaff runs as a compiled binary (real, or forced by
 * `FLAGSTAFF_STANDALONE=1`, read once: `run` then removes the variable from
 * the environment its children inherit).
 */
export function isStandalone(): boolean {
  if (Deno.build.standalone) return true;
  if (standalone === undefined) {
    try {
      standalone = Deno.env.get("FLAGSTAFF_STANDALONE") === "1";
    } catch {
      standalone = false;
    }
  }
  return standalone;
}

/** Options for {@link importModule}. */
export interface ImportModuleOptions extends RemoteModuleOptions {
  /** Folder a relative path is resolved against. Default: the working directory. */
  baseDir?: string;
  /**
   * No effect: every load is keyed on the module's content (see the module
   * doc), so a reload sees a changed module and reuses an unchanged one.
   * Kept for callers that still pass it. Default false.
   */
  fresh?: boolean;
}

/**
 * Resolves a module specifier: a URL stays as it is, a path is made absolute
 * against `baseDir`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveModule } from "./loader.ts";
 * assert.equal(resolveModule("./c.ts", "/srv/app").href, "file:///srv/app/c.ts");
 * assert.equal(resolveModule("https://x.test/c.ts", "/").href, "https://x.test/c.ts");
 * ```
 */
export function resolveModule(specifier: string, baseDir: string = Deno.cwd()): URL {
  if (/^(https?|file|data):/i.test(specifier)) return new URL(specifier);
  return pathToFileURL(resolve(baseDir, specifier));
}

/**
 * Imports a module by path or URL; see the module doc for how URL modules
 * are fetched and how loads are keyed on content.
 *
 * @throws {Error} naming what failed: a refused `http:` URL or redirect hop,
 *   a fetch or HTTP error, an integrity mismatch (expected and actual
 *   digests), an unknown media type, a relative runtime import in a URL
 *   module; Deno's own error for a local module. `Deno.errors.NotCapable`
 *   when a permission is missing.
 * @throws {FlagstaffError} `usage` for a local module root must not load
 *   (see {@link codeTrustProblem}), and as root for a plain `http:` module
 *   without an integrity pin ({@link remoteCodeTrustProblem}); `permission` when flagstaff cannot tell
 *   whether it runs as root.
 */
export async function importModule(
  specifier: string,
  options: ImportModuleOptions = {},
): Promise<Record<string, unknown>> {
  const url = resolveModule(specifier, options.baseDir);
  if (isRemote(url)) {
    const untrusted = remoteCodeTrustProblem(url, options.integrity !== undefined);
    if (untrusted) {
      throw new FlagstaffError(
        "usage",
        `Refusing to load "${url.href}" ${refusingAs()}: ${untrusted}`,
      );
    }
    return await importRemote(url, options);
  }
  if (options.integrity !== undefined) {
    throw new Error("an integrity pin applies to a module given by URL only");
  }
  if (url.protocol === "file:") {
    const path = fileURLToPath(url);
    const problem = await codeTrustProblem(path);
    if (problem) throw untrustedCodeError(`to load "${path}"`, problem);
    return await importLocal(url);
  }
  return await import(url.href);
}

/** The content hash of each local module's first load, by file URL. */
const firstLocalHash = new Map<string, string>();

async function importLocal(url: URL): Promise<Record<string, unknown>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(url);
  } catch {
    // Missing, unreadable, no permission: Deno's import says so best.
    return await import(url.href);
  }
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  const hash = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const first = firstLocalHash.get(url.href);
  if (first === undefined) firstLocalHash.set(url.href, hash);
  if (first === undefined || first === hash) return await import(url.href);
  const keyed = new URL(url);
  keyed.searchParams.set("flagstaff_sha256", hash.slice(0, 16));
  return await import(keyed.href);
}

/**
 * Loads a tool-mode controller: the module's default export, a class (a
 * `Controller` subclass or a plain class) or an object, with `process()` or
 * `run()`. A URL module is fetched and checked as {@link importModule} says;
 * `options.integrity` is `Application.controller_integrity`.
 *
 * @throws {FlagstaffError} `controller_invalid` naming the module and what is
 *   wrong (a refused URL, an integrity mismatch, no controller), `permission`
 *   when Deno refuses the read, fetch or import, `usage` for a local module
 *   root must not load (see {@link codeTrustProblem}).
 */
export async function loadController(
  specifier: string,
  options: ImportModuleOptions = {},
): Promise<ControllerClass> {
  let module: Record<string, unknown>;
  try {
    module = await importModule(specifier, options);
  } catch (error) {
    // Already says what and where: a refusal as root, a missing --allow-ffi.
    if (error instanceof FlagstaffError) throw error;
    // A refused dynamic import is a TypeError "Requires import access to …".
    if (
      error instanceof Deno.errors.NotCapable ||
      /^Requires \w+ access/.test(String((error as Error)?.message))
    ) {
      throw new FlagstaffError(
        "permission",
        `Cannot load controller "${specifier}": ${firstLine(error)}`,
        {
          cause: error,
        },
      );
    }
    throw new FlagstaffError(
      "controller_invalid",
      `Cannot load controller "${specifier}": ${moduleErrorText(error)}`,
      {
        cause: error,
      },
    );
  }
  const exported = module.default;
  const invalid = (found: string) =>
    new FlagstaffError(
      "controller_invalid",
      `Cannot load controller "${specifier}": its default export is ${found}, ` +
        `expected a class or an object with process() or run()`,
    );
  if (typeof exported === "function" && exported.prototype) {
    const proto = exported.prototype as ControllerLike;
    if (typeof proto.process !== "function" && typeof proto.run !== "function") {
      throw invalid("a class without process() or run()");
    }
    return exported as ControllerClass;
  }
  if (typeof exported === "object" && exported !== null) {
    const object = exported as ControllerLike;
    if (typeof object.process !== "function" && typeof object.run !== "function") {
      throw invalid("an object without process() or run()");
    }
    return function () {
      return object;
    } as unknown as ControllerClass;
  }
  throw invalid(exported === undefined ? "missing" : `a ${typeof exported}`);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}
