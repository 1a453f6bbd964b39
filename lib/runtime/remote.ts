/**
 * Imports a module given by URL (`https:`, or `http:` on a loopback host
 * only; see {@link remoteUrlProblem}). flagstaff fetches it itself (the
 * fetch API, so `--allow-net` for its host) on every load: each start, each
 * reload, each `check` or `list`. Its integrity pin, if any, is checked
 * against the bytes fetched, and exactly those bytes are imported as a
 * `data:` URL, in every mode (`deno run` and a compiled binary alike): Deno's
 * module cache never serves an old copy, and prints no `Download` line. The
 * same bytes give the same `data:` URL, which Deno imports once; changed
 * bytes are imported afresh, once.
 *
 * A `data:` module cannot follow a relative runtime import: a static one is
 * refused at load with a hint to bundle the module into one file first
 * (`deno bundle`), a dynamic `import("../x.ts")` fails when it runs.
 * Type-only imports (`import type`, `export type`) are erased and fine. The
 * module's own absolute imports (`https:`, `npm:`) are Deno's to fetch and
 * cache, and are not covered by the pin.
 *
 * A redirect is followed by flagstaff, at most {@link MAX_REDIRECTS} hops,
 * each hop checked as the first URL is (`https:`, or `http:` on loopback): a
 * plain-http hop off loopback is refused before it is fetched, since whoever
 * sits on that path could choose where the next hop leads.
 *
 * @module
 */

import { toBase64 } from "../core/_base64.ts";
import { setLongTimeout } from "../core/delay.ts";
import { integrityOf, integrityProblem, integrityText, parseIntegrity } from "../core/integrity.ts";
import { isRemote, remoteUrlProblem } from "../core/remote_url.ts";
import { remoteCodeTrustProblem } from "./code_trust.ts";

/** Options for {@link importRemote}. */
export interface RemoteModuleOptions {
  /**
   * Integrity pin of the module, in SRI form: `sha256-<base64>` (also
   * `sha384-`, `sha512-`). Checked on every load. Default: none (the module
   * is whatever the server sends).
   */
  integrity?: string;
  /** How long fetching the module may take, in milliseconds. Default 30,000. */
  fetchTimeoutMs?: number;
}

/** Default of {@link RemoteModuleOptions.fetchTimeoutMs}. */
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;

/** How many redirects a URL module may go through (as browsers' `fetch` bounds them). */
export const MAX_REDIRECTS = 5;

/**
 * Fetches the module at `url`, checks its pin, and imports its bytes as a
 * `data:` URL (see the module doc).
 *
 * @throws {Error} naming what failed: a refused `http:` URL or redirect hop,
 *   a fetch or HTTP error, an integrity mismatch (expected and actual
 *   digests), an unknown media type, a relative runtime import.
 *   `Deno.errors.NotCapable` when a permission is missing.
 */
export async function importRemote(
  url: URL,
  options: RemoteModuleOptions = {},
): Promise<Record<string, unknown>> {
  const refused = remoteUrlProblem(url);
  if (refused) throw new Error(refused);
  const pin = options.integrity === undefined ? undefined : parseIntegrity(options.integrity);
  if (options.integrity !== undefined && !pin) throw new Error(integrityProblem(options.integrity));
  const { bytes, finalUrl, contentType } = await fetchModule(
    url,
    options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
    pin !== undefined,
  );
  if (pin) {
    const expected = integrityText(pin);
    const actual = await integrityOf(bytes, pin.algorithm);
    if (actual !== expected) {
      throw new Error(
        `integrity check failed: expected "${expected}", got "${actual}" (the module changed, ` +
          `or the pin is wrong; nothing of it was run)`,
      );
    }
  }
  const mediaType = mediaTypeOf(finalUrl, contentType);
  const dataUrl = `data:${mediaType};base64,${toBase64(bytes)}`;
  try {
    return await import(dataUrl);
  } catch (error) {
    throw asRemoteError(error, url, dataUrl, new TextDecoder().decode(bytes));
  }
}

/** The HTTP statuses that redirect, with a `Location` to follow. */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches `url`, following redirects by hand (at most {@link MAX_REDIRECTS}),
 * each hop checked by {@link remoteUrlProblem} before it is fetched.
 */
async function fetchModule(
  url: URL,
  timeoutMs: number,
  pinned: boolean,
): Promise<{ bytes: Uint8Array; finalUrl: URL; contentType: string }> {
  const abort = new AbortController();
  const timer = setLongTimeout(
    () => abort.abort(new Error(`no complete answer within ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    let current = url;
    for (let redirects = 0;; redirects++) {
      let response: Response;
      try {
        response = await fetch(current, { redirect: "manual", signal: abort.signal });
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) throw error;
        const where = current === url ? "" : ` (redirected to "${current.href}")`;
        throw new Error(`cannot fetch it${where}: ${firstLine(abort.signal.reason ?? error)}`, {
          cause: error,
        });
      }
      const location = response.headers.get("location");
      if (REDIRECT_STATUSES.has(response.status) && location !== null) {
        await response.body?.cancel();
        const next = nextHop(current, location, pinned);
        if (redirects >= MAX_REDIRECTS) {
          throw new Error(
            `it redirects more than ${MAX_REDIRECTS} times (the last hop to "${next.href}")`,
          );
        }
        current = next;
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        const where = current === url ? "" : ` (redirected to "${current.href}")`;
        throw new Error(
          `the server answered HTTP ${response.status} ${response.statusText}`.trim() + where,
        );
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      return { bytes, finalUrl: current, contentType: response.headers.get("content-type") ?? "" };
    }
  } finally {
    timer.cancel();
  }
}

/**
 * Where a redirect from `from` to `location` leads, if it may be fetched.
 *
 * @throws {Error} naming the hop: not a URL, not `http:`/`https:`, plain `http:` off loopback,
 *   or (as root, without a pin) plain `http:` on a loopback port any user may listen on.
 */
function nextHop(from: URL, location: string, pinned: boolean): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new Error(`it redirects from "${from.href}" to "${location}", which is not a URL`);
  }
  if (!isRemote(next)) {
    throw new Error(
      `it redirects from "${from.href}" to "${next.href}": a redirect may lead to https: or ` +
        `(on loopback) http: only`,
    );
  }
  const refused = remoteUrlProblem(next) ?? remoteCodeTrustProblem(next, pinned);
  if (refused) throw new Error(`it redirects from "${from.href}" to a refused URL: ${refused}`);
  return next;
}

const TYPES_BY_EXTENSION: Readonly<Record<string, string>> = {
  ".ts": "application/typescript",
  ".mts": "application/typescript",
  ".tsx": "text/tsx",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".jsx": "text/jsx",
};

const TYPES_BY_CONTENT_TYPE: Readonly<Record<string, string>> = {
  "application/typescript": "application/typescript",
  "application/x-typescript": "application/typescript",
  "text/typescript": "application/typescript",
  "video/mp2t": "application/typescript",
  "video/vnd.dlna.mpeg-tts": "application/typescript",
  "text/tsx": "text/tsx",
  "text/jsx": "text/jsx",
  "text/javascript": "text/javascript",
  "application/javascript": "text/javascript",
  "application/x-javascript": "text/javascript",
  "application/ecmascript": "text/javascript",
  "text/ecmascript": "text/javascript",
};

/** TypeScript or JavaScript: by the URL's extension, else by the server's Content-Type. */
function mediaTypeOf(url: URL, contentType: string): string {
  const extension = url.pathname.match(/\.[A-Za-z]+$/)?.[0].toLowerCase() ?? "";
  const byExtension = TYPES_BY_EXTENSION[extension];
  if (byExtension) return byExtension;
  const essence = contentType.split(";")[0].trim().toLowerCase();
  const byType = TYPES_BY_CONTENT_TYPE[essence];
  if (byType) return byType;
  throw new Error(
    `cannot tell TypeScript from JavaScript: the URL does not end in .ts, .mts, .tsx, .js or .mjs ` +
      `and the server sent Content-Type "${contentType}": serve it with Content-Type ` +
      `application/typescript or text/javascript, or name it with one of these extensions`,
  );
}

function bundleHint(url: URL, relative: string): Error {
  return new Error(
    `it imports "${relative}" by a relative path, which a module loaded from a URL cannot follow ` +
      `(it runs from the bytes fetched, as a data: URL): bundle it into one file first ` +
      `(deno bundle ${url.href} -o one_file.js)`,
  );
}

/**
 * Deno's error for a `data:` module, with the `data:` URL replaced by the
 * module's own; a relative import it cannot resolve becomes the hint to
 * bundle. Deno words that error as "relative URL with a cannot-be-a-base
 * base" (at the import's line and column) or, under a config with an import
 * map, "Import "./x.ts" not a dependency".
 */
function asRemoteError(error: unknown, url: URL, dataUrl: string, source: string): unknown {
  if (!(error instanceof Error) || error instanceof Deno.errors.NotCapable) return error;
  const stack = stripAnsi(error.stack ?? error.message);
  const message = stripAnsi(error.message).replaceAll(dataUrl, url.href);
  const named = relativeImports(source).find((relative) => message.includes(`"${relative}"`));
  if (named) return bundleHint(url, named);
  if (/relative URL with a cannot-be-a-base base/.test(stack)) {
    const at = stack.slice(stack.indexOf(dataUrl) + dataUrl.length).match(/^:(\d+):(\d+)/);
    const line = at ? source.split("\n")[Number(at[1]) - 1] ?? "" : "";
    const quoted = line.slice(at ? Number(at[2]) - 1 : 0).match(/^["']([^"']*)["']/);
    return bundleHint(url, quoted?.[1] ?? relativeImports(source)[0] ?? "./…");
  }
  const clean = new Error(message);
  clean.name = error.name;
  return clean;
}

/** The relative specifiers of a module's static imports and re-exports, type-only ones left out. */
function relativeImports(source: string): string[] {
  const pattern =
    /^\s*(?:import|export)\s+(?!type[\s{*])(?:[^;"']*?\bfrom\s*)?["'](\.{1,2}\/[^"']*)["']/gm;
  return [...source.matchAll(pattern)].map((match) => match[1]);
}

function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}
