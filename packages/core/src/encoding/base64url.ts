import { platform } from "#platform";

/**
 * base64url (RFC 4648 §5, no padding) and UTF-8 helpers over `Uint8Array`. This is the only
 * module in core that encodes or decodes base64url, so every parser rejects the same inputs; the
 * platform does the byte work (natively on Node).
 */

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Encodes bytes as unpadded base64url. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return platform.encodeBase64Url(bytes);
}

/**
 * Decodes unpadded base64url. Returns `undefined` for anything that is not canonical base64url
 * (padding, `+`, `/`, whitespace, an impossible length, or non-zero trailing bits), so that one
 * value has exactly one encoding.
 */
export function decodeBase64Url(input: string): Uint8Array | undefined {
  return base64UrlByteLength(input) === undefined
    ? undefined
    : platform.decodeCheckedBase64Url(input);
}

/** The number of bytes `input` decodes to, or `undefined` if it is not canonical base64url. */
export function base64UrlByteLength(input: string): number | undefined {
  const rest = input.length % 4;
  if (rest === 1 || !BASE64URL.test(input)) return undefined;
  // The last character of a partial group carries bits that must be zero (RFC 4648 §3.5).
  if (rest !== 0) {
    const last = ALPHABET.indexOf(input.charAt(input.length - 1));
    if ((last & (rest === 2 ? 15 : 3)) !== 0) return undefined;
  }
  return Math.floor((input.length * 3) / 4);
}

/** UTF-8 encodes a string. */
export function encodeUtf8(text: string): Uint8Array {
  return platform.encodeUtf8(text);
}

/** Strict UTF-8 decoding: returns `undefined` for invalid byte sequences. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  return platform.decodeUtf8(bytes);
}
