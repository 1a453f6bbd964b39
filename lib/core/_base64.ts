/**
 * Base64 (RFC 4648, with padding) of bytes of any length. Private to `lib/`.
 *
 * @module
 */

/**
 * The base64 text of `bytes`, converted in chunks of 32 KiB (a spread of
 * more arguments than that could overflow the call stack).
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
