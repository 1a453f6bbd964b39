/**
 * Loads user modules (a tool-mode controller, actions) from a local path or a
 * URL by dynamic import, each load keyed on the module's content, so an
 * unchanged module is never imported (and evaluated) twice.
 *
 * - **A URL module** (`https:`, or `http:` on a loopback host only) is fetched
 *   by flagstaff itself (the fetch API, so `--allow-net` for its host) on every
 *   load: each start, each reload, each `check` or `list`. Its integrity pin, if
 *   any, is checked against the bytes fetched, and exactly those bytes are
 *   imported as a `data:` URL, in every mode (`deno run` and a compiled
 *   binary alike): Deno's module cache never serves an old copy, and prints no
 *   `Download` line. The same bytes give the same `data:` URL, which Deno
 *   imports once; changed bytes are imported afresh, once. A `data:` module
 *   cannot follow a relative runtime import: a static one is refused at load
 *   with a hint to bundle the module into one file first (`deno bundle`), a
 *   dynamic `import("../x.ts")` fails when it runs. Type-only imports
 *   (`import type`, `export type`) are erased and fine. The module's own
 *   absolute imports (`https:`, `npm:`) are Deno's to fetch and cache, and are
 *   not covered by the pin.
 *   A redirect is followed by flagstaff, at most {@link MAX_REDIRECTS} hops,
 *   each hop checked as the first URL is (`https:`, or `http:` on loopback):
 *   a plain-http hop off loopback is refused before it is fetched, since
 *   whoever sits on that path could choose where the next hop leads.
 * - **A local module** is imported by its file URL, so its relative imports
 *   keep working. Its bytes are hashed (SHA-256) on every load: the first
 *   content seen is imported by the plain URL, any other content by the URL
 *   with `?flagstaff_sha256=<first 16 hex digits>`. Only the module itself is
 *   keyed: the modules it imports are imported once per process, as Deno
 *   does.
 * - **As root** (effective uid 0), a local module is imported only when no
 *   other user can change it or the path to it; see {@link codeTrustProblem}.
 *   A `data:` or URL module is not a file, and is not concerned.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ControllerClass, ControllerLike } from "./controller.ts";
import { setLongTimeout } from "../core/delay.ts";
import { FlagstaffError } from "../core/errors.ts";
import { openLibc } from "../os/_libc.ts";

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
export interface ImportModuleOptions {
  /** Folder a relative path is resolved against. Default: the working directory. */
  baseDir?: string;
  /**
   * Integrity pin of a URL module, in SRI form: `sha256-<base64>` (also
   * `sha384-`, `sha512-`). Checked on every load. Default: none (the module
   * is whatever the server sends).
   */
  integrity?: string;
  /** How long fetching a URL module may take, in milliseconds. Default 30,000. */
  fetchTimeoutMs?: number;
  /**
   * No effect: every load is keyed on the module's content (see the module
   * doc), so a reload sees a changed module and reuses an unchanged one.
   * Kept for callers that still pass it. Default false.
   */
  fresh?: boolean;
}

/** Default of {@link ImportModuleOptions.fetchTimeoutMs}. */
export const DEFAULT_FETCH_TIMEOUT_MS = 30_000;

/** How many redirects a URL module may go through (as browsers' `fetch` bounds them). */
export const MAX_REDIRECTS = 5;

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

/** Whether `url` is remote: `http:` or `https:`. */
export function isRemote(url: URL): boolean {
  return url.protocol === "http:" || url.protocol === "https:";
}

/**
 * Why a module URL may not be fetched, or undefined when it may: plain
 * `http:` is allowed for loopback hosts only (127.0.0.0/8, `::1`,
 * `localhost`), for development; anything else must be `https:`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { remoteUrlProblem } from "./loader.ts";
 * assert.equal(remoteUrlProblem(new URL("https://example.com/a.ts")), undefined);
 * assert.equal(remoteUrlProblem(new URL("http://127.0.0.1:8000/a.ts")), undefined);
 * assert.match(remoteUrlProblem(new URL("http://example.com/a.ts"))!, /use https:/);
 * ```
 */
export function remoteUrlProblem(url: URL): string | undefined {
  if (url.protocol !== "http:" || isLoopback(url.hostname)) return undefined;
  return `plain http:// is allowed only for loopback hosts (127.0.0.0/8, ::1, localhost): ` +
    `use https:// for "${url.href}"`;
}

function isLoopback(hostname: string): boolean {
  // The URL parser has already normalised `127.1`, `0x7f.0.0.1` and `[0:0::1]`.
  return hostname === "localhost" || hostname === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

const SRI_ALGORITHMS = {
  sha256: { name: "SHA-256", bytes: 32 },
  sha384: { name: "SHA-384", bytes: 48 },
  sha512: { name: "SHA-512", bytes: 64 },
} as const;

type SriAlgorithm = keyof typeof SRI_ALGORITHMS;

/** A parsed integrity pin. */
interface IntegrityPin {
  readonly algorithm: SriAlgorithm;
  readonly digest: Uint8Array;
}

/**
 * Why `value` is not an integrity pin (`sha256-<base64>`, `sha384-…` or
 * `sha512-…`, as in Subresource Integrity), or undefined when it is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integrityProblem } from "./loader.ts";
 * assert.equal(integrityProblem("sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="), undefined);
 * assert.match(integrityProblem("md5-abc")!, /expected an integrity pin/);
 * ```
 */
export function integrityProblem(value: unknown): string | undefined {
  return typeof value === "string" && parsePin(value) ? undefined : `expected an integrity pin ` +
    `such as "sha256-<base64 of the SHA-256 digest>" (or sha384-, sha512-), got ${
      typeof value === "string" ? `"${value}"` : typeof value
    }`;
}

function parsePin(text: string): IntegrityPin | undefined {
  const match = /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})$/.exec(text.trim());
  if (!match) return undefined;
  const algorithm = match[1] as SriAlgorithm;
  let digest: Uint8Array;
  try {
    digest = Uint8Array.from(atob(match[2]), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  return digest.length === SRI_ALGORITHMS[algorithm].bytes ? { algorithm, digest } : undefined;
}

/**
 * The SRI integrity string of `bytes`: what to write as an integrity pin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integrityOf } from "./loader.ts";
 * assert.equal(
 *   await integrityOf(new Uint8Array()),
 *   "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
 * );
 * ```
 */
export async function integrityOf(
  bytes: Uint8Array,
  algorithm: SriAlgorithm = "sha256",
): Promise<string> {
  const digest = await crypto.subtle.digest(
    SRI_ALGORITHMS[algorithm].name,
    bytes as Uint8Array<ArrayBuffer>,
  );
  return `${algorithm}-${toBase64(new Uint8Array(digest))}`;
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
 *   (see {@link codeTrustProblem}); `permission` when flagstaff cannot tell
 *   whether it runs as root.
 */
export async function importModule(
  specifier: string,
  options: ImportModuleOptions = {},
): Promise<Record<string, unknown>> {
  const url = resolveModule(specifier, options.baseDir);
  if (isRemote(url)) return await importRemote(url, options);
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

/** Why root loads code only from places root alone can change: the end of a refusal. */
const TRUST_RULE =
  "as root, flagstaff loads code only from files and folders that only root can change";

/**
 * The error for code root must not load: code `usage` (exit 2).
 *
 * @param what What is refused: `to load "/srv/app/c.ts"`, `actions folder "/srv/app/actions"`.
 * @param problem What {@link codeTrustProblem} said.
 * @returns `Refusing to load "/w/evil.ts" as root: it belongs to uid 65534 (as root, …)`.
 */
export function untrustedCodeError(what: string, problem: string): FlagstaffError {
  return new FlagstaffError("usage", `Refusing ${what} as root: ${problem} (${TRUST_RULE})`);
}

/** How many symbolic links a path may go through, as Linux's `ELOOP` limit. */
const MAX_LINK_HOPS = 40;

/**
 * As root, why another user could change the code at `path` (a module, or an
 * actions folder), or undefined when no one but root can, or when flagstaff
 * does not run as root (effective uid, `geteuid(2)`; it reads no file then).
 *
 * The rule is start-stop-daemon's for a pidfile, applied to every step of the
 * path, from `/` to the file, without following a link unchecked: each folder
 * is owned by root and not writable by group or others, unless it has the
 * sticky bit (as `/tmp`: others may add entries, not replace root's); the
 * file, and each symbolic link on the way, is owned by root; the file is not
 * writable by group or others. A link is followed by hand and its target is
 * checked the same way (a link only root can change to a file only root can
 * change is fine). A missing file is left to the import to report (Deno's
 * "Module not found"), unless its folder lets others create it (a sticky
 * folder such as `/tmp`): then it is refused, as another user could create it
 * between the check and the import.
 *
 * Under a compiled binary, the files embedded with it (in the folder of its
 * main module) are part of the binary and not checked.
 *
 * @param path An absolute path, or one relative to the working directory.
 * @returns `it belongs to uid 65534`, `its folder "/w" is writable by group or
 *   others (mode 0777) without the sticky bit`, `the folder "/w" on its path
 *   belongs to uid 65534`, `its target "/w/x.ts" belongs to uid 65534`, …
 * @throws {FlagstaffError} `permission` when flagstaff cannot tell its
 *   effective uid (Linux: `--allow-ffi`; elsewhere `--allow-sys`).
 *   `Deno.errors.NotCapable` without `--allow-read`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { codeTrustProblem } from "./loader.ts";
 * const dir = await Deno.makeTempDir(); // 0700, this user's
 * await Deno.writeTextFile(`${dir}/a.ts`, "export default 1;\n");
 * await Deno.chmod(`${dir}/a.ts`, 0o666);
 * const problem = await codeTrustProblem(`${dir}/a.ts`);
 * if ((await Deno.stat(dir)).uid === 0) {
 *   assert.equal(problem, "it is writable by group or others (mode 0666)");
 * } else {
 *   assert.equal(problem, undefined); // not root: nothing is checked
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function codeTrustProblem(path: string): Promise<string | undefined> {
  if (effectiveUidNow() !== 0) return undefined;
  const given = resolve(path);
  if (Deno.build.standalone) {
    const embedded = dirname(fileURLToPath(Deno.mainModule));
    if (given.startsWith(embedded.endsWith("/") ? embedded : `${embedded}/`)) return undefined;
  }
  const top = await Deno.lstat("/");
  if (top.uid !== 0) return `the folder "/" on its path belongs to uid ${top.uid}`;
  const topProblem = modeProblem(top, true);
  if (topProblem) return `the folder "/" on its path ${topProblem}`;
  const pending = given.split("/").filter(Boolean);
  let current = "/";
  let currentMode = (top.mode ?? 0) & 0o7777;
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === ".") continue;
    if (name === "..") {
      // `current` is a checked path without links: its parent is checked too.
      current = dirname(current);
      continue;
    }
    const next = current === "/" ? `/${name}` : `${current}/${name}`;
    const last = pending.length === 0;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(next);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      if (error instanceof Deno.errors.NotFound) {
        if ((currentMode & 0o022) === 0) return undefined;
        return `${
          subject(next, last, hops, given, "missing")
        } does not exist, and another user could create it in the folder "${current}"`;
      }
      return `cannot check "${next}": ${(error as Error).message}`;
    }
    if (info.isSymlink) {
      if (info.uid !== 0) {
        return `${subject(next, last, hops, given, "link")} belongs to uid ${info.uid}`;
      }
      if (++hops > MAX_LINK_HOPS) {
        return `its path goes through more than ${MAX_LINK_HOPS} symbolic links`;
      }
      const target = await Deno.readLink(next);
      if (target.startsWith("/")) current = "/";
      pending.unshift(...target.split("/").filter(Boolean));
      continue;
    }
    const what = subject(next, last, hops, given, info.isDirectory ? "folder" : "file");
    if (info.uid !== 0) return `${what} belongs to uid ${info.uid}`;
    const problem = modeProblem(info, info.isDirectory);
    if (problem) return `${what} ${problem}`;
    if (!info.isDirectory) {
      // A file before the end: the import fails ("Not a directory"), as only root made it so.
      return undefined;
    }
    current = next;
    currentMode = (info.mode ?? 0) & 0o7777;
  }
  return undefined;
}

/** Why a file or folder's mode lets others change it, or undefined. */
function modeProblem(info: Deno.FileInfo, isFolder: boolean): string | undefined {
  const mode = (info.mode ?? 0) & 0o7777;
  if ((mode & 0o022) === 0) return undefined;
  if (isFolder && (mode & 0o1000) !== 0) return undefined;
  return `is writable by group or others (mode ${octal(mode)})${
    isFolder ? " without the sticky bit" : ""
  }`;
}

/** How a refusal names a step of the path: `it`, `its folder "/w"`, `its target "/x"`, …. */
function subject(
  path: string,
  last: boolean,
  hops: number,
  given: string,
  kind: "file" | "folder" | "link" | "missing",
): string {
  if (last && hops === 0) return kind === "link" ? "it (a symbolic link)" : "it";
  if (last) return `its target "${path}"`;
  if (kind === "link") return `the symbolic link "${path}" on its path`;
  if (hops === 0 && path === dirname(given)) return `its folder "${path}"`;
  return `the folder "${path}" on its path`;
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/**
 * This process's effective uid now (it changes at the privilege drop), or
 * null where there are no uids (Windows).
 */
function effectiveUidNow(): number | null {
  if (Deno.build.os === "windows") return null;
  // Elsewhere than Linux, the real uid (`--allow-sys`): flagstaff drops privileges on Linux only.
  if (Deno.build.os !== "linux") return Deno.uid();
  const library = openLibc("tell whether flagstaff runs as root before loading code");
  try {
    return library.symbols.geteuid();
  } finally {
    library.close();
  }
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

async function importRemote(
  url: URL,
  options: ImportModuleOptions,
): Promise<Record<string, unknown>> {
  const refused = remoteUrlProblem(url);
  if (refused) throw new Error(refused);
  const pin = options.integrity === undefined ? undefined : parsePin(options.integrity);
  if (options.integrity !== undefined && !pin) throw new Error(integrityProblem(options.integrity));
  const { bytes, finalUrl, contentType } = await fetchModule(
    url,
    options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS,
  );
  if (pin) {
    const expected = `${pin.algorithm}-${toBase64(pin.digest)}`;
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
        const next = nextHop(current, location);
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
 * @throws {Error} naming the hop: not a URL, not `http:`/`https:`, or plain `http:` off loopback.
 */
function nextHop(from: URL, location: string): URL {
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
  const refused = remoteUrlProblem(next);
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

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
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
