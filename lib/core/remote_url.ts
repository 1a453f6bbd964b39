/**
 * Which URLs flagstaff fetches code from: `https:` anywhere, plain `http:`
 * on loopback only (for development). Pure: no I/O.
 *
 * @module
 */

/**
 * Whether `url` is remote: `http:` or `https:`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRemote } from "./remote_url.ts";
 * assert.equal(isRemote(new URL("https://example.com/a.ts")), true);
 * assert.equal(isRemote(new URL("file:///srv/a.ts")), false);
 * ```
 */
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
 * import { remoteUrlProblem } from "./remote_url.ts";
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
