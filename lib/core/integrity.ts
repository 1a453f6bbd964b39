/**
 * Integrity pins of URL modules (`Application.controller_integrity`, an
 * action's `integrity`), in Subresource Integrity form: `sha256-<base64>`
 * (also `sha384-`, `sha512-`), the base64 of the digest of the module's
 * bytes. Pure: parsing and hashing, no I/O.
 *
 * @module
 */

import { toBase64 } from "./_base64.ts";

const SRI_ALGORITHMS = {
  sha256: { name: "SHA-256", bytes: 32 },
  sha384: { name: "SHA-384", bytes: 48 },
  sha512: { name: "SHA-512", bytes: 64 },
} as const;

/** A hash an integrity pin may name: `sha256`, `sha384` or `sha512`. */
export type SriAlgorithm = keyof typeof SRI_ALGORITHMS;

/** A parsed integrity pin. */
export interface IntegrityPin {
  /** The hash it names. */
  readonly algorithm: SriAlgorithm;
  /** The digest it expects, of the length the hash gives. */
  readonly digest: Uint8Array;
}

/**
 * Why `value` is not an integrity pin (`sha256-<base64>`, `sha384-…` or
 * `sha512-…`, as in Subresource Integrity), or undefined when it is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integrityProblem } from "./integrity.ts";
 * assert.equal(integrityProblem("sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="), undefined);
 * assert.match(integrityProblem("md5-abc")!, /expected an integrity pin/);
 * ```
 */
export function integrityProblem(value: unknown): string | undefined {
  return typeof value === "string" && parseIntegrity(value)
    ? undefined
    : `expected an integrity pin ` +
      `such as "sha256-<base64 of the SHA-256 digest>" (or sha384-, sha512-), got ${
        typeof value === "string" ? `"${value}"` : typeof value
      }`;
}

/**
 * The pin `text` gives (leading and trailing spaces ignored), or undefined
 * when it is not one (see {@link integrityProblem} for why).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIntegrity } from "./integrity.ts";
 * assert.equal(parseIntegrity(" sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= ")?.algorithm, "sha256");
 * assert.equal(parseIntegrity("sha256-AAAA"), undefined); // 3 bytes, not 32
 * ```
 */
export function parseIntegrity(text: string): IntegrityPin | undefined {
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
 * The pin's text in its one normal form: `sha256-<base64 with padding>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integrityText } from "./integrity.ts";
 * assert.equal(integrityText({ algorithm: "sha256", digest: new Uint8Array(32) }), `sha256-${"A".repeat(43)}=`);
 * ```
 */
export function integrityText(pin: IntegrityPin): string {
  return `${pin.algorithm}-${toBase64(pin.digest)}`;
}

/**
 * The SRI integrity string of `bytes`: what to write as an integrity pin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { integrityOf } from "./integrity.ts";
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
  return integrityText({ algorithm, digest: new Uint8Array(digest) });
}
