/**
 * Loads user modules (a tool-mode controller; actions later) from a local
 * path or a URL by dynamic import.
 *
 * A compiled binary (`Deno.build.standalone`) cannot import a remote module
 * that was not embedded, but it can import `data:` URLs: there, a URL's source
 * is fetched and imported as a `data:` URL. `FLAGSTAFF_STANDALONE=1` forces
 * that path under `deno run`, so tests cover it.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { ControllerClass, ControllerLike } from "./controller.ts";
import { FlagstaffError } from "./errors.ts";

/** Whether modules load as a compiled binary does (real, or forced by `FLAGSTAFF_STANDALONE=1`). */
export function isStandalone(): boolean {
  if (Deno.build.standalone) return true;
  try {
    return Deno.env.get("FLAGSTAFF_STANDALONE") === "1";
  } catch {
    return false;
  }
}

/** Options for {@link importModule}. */
export interface ImportModuleOptions {
  /** Folder a relative path is resolved against. Default: the working directory. */
  baseDir?: string;
  /** Import afresh, not from the module cache (for reloads). Default false. */
  fresh?: boolean;
  /** Load as a compiled binary does. Default {@link isStandalone}. */
  standalone?: boolean;
}

let generation = 0;

/**
 * Resolves a module specifier: a URL stays as it is, a path is made absolute
 * against `baseDir`.
 *
 * @example
 * ```ts
 * import { resolveModule } from "./loader.ts";
 * console.assert(resolveModule("./c.ts", "/srv/app").href === "file:///srv/app/c.ts");
 * console.assert(resolveModule("https://x.test/c.ts", "/").href === "https://x.test/c.ts");
 * ```
 */
export function resolveModule(specifier: string, baseDir: string = Deno.cwd()): URL {
  if (/^(https?|file|data):/.test(specifier)) return new URL(specifier);
  return pathToFileURL(resolve(baseDir, specifier));
}

/** Imports a module by path or URL; see the module doc for compiled binaries. */
export async function importModule(
  specifier: string,
  options: ImportModuleOptions = {},
): Promise<Record<string, unknown>> {
  const url = resolveModule(specifier, options.baseDir);
  const remote = url.protocol === "http:" || url.protocol === "https:";
  if (remote && (options.standalone ?? isStandalone())) {
    return await import(await remoteAsDataUrl(url));
  }
  if (options.fresh && url.protocol !== "data:") {
    url.searchParams.set("flagstaff_load", String(++generation));
  }
  return await import(url.href);
}

async function remoteAsDataUrl(url: URL): Promise<string> {
  const response = await fetch(url, { redirect: "follow" });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status} ${response.statusText} for ${url.href}`);
  }
  const source = await response.text();
  const relative = source.match(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']*)["']/);
  if (relative) {
    throw new Error(
      `it imports "${relative[1]}" by a relative path, which a compiled binary cannot follow: ` +
        `bundle it into one file first (deno bundle ${url.href} -o one_file.js)`,
    );
  }
  const type = /\.(m?ts|tsx)$/.test(url.pathname) ? "application/typescript" : "text/javascript";
  const bytes = new TextEncoder().encode(source);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:${type};base64,${btoa(binary)}`;
}

/**
 * Loads a tool-mode controller: the module's default export, a class (a
 * `Controller` subclass or a plain class) or an object, with `process()` or
 * `run()`.
 *
 * @throws {FlagstaffError} `controller_invalid` naming the module and what is wrong.
 */
export async function loadController(
  specifier: string,
  options: ImportModuleOptions = {},
): Promise<ControllerClass> {
  let module: Record<string, unknown>;
  try {
    module = await importModule(specifier, options);
  } catch (error) {
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
      `Cannot load controller "${specifier}": ${firstLine(error)}`,
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
