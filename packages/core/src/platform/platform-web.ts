import type { PublicJwk } from "../crypto/jwk.js";
import type { HmacKeyHandle, Platform, PublicKeyHandle, SignatureAlgorithm } from "./platform.js";

interface WebPublicKey extends PublicKeyHandle {
  readonly cryptoKey: CryptoKey;
}

interface WebHmacKey extends HmacKeyHandle {
  readonly cryptoKey: CryptoKey;
}

const IMPORT_PARAMS: Record<
  SignatureAlgorithm,
  EcKeyImportParams | RsaHashedImportParams | Algorithm
> = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  EdDSA: { name: "Ed25519" },
  Ed25519: { name: "Ed25519" },
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
};

const VERIFY_PARAMS: Record<SignatureAlgorithm, EcdsaParams | Algorithm> = {
  ES256: { name: "ECDSA", hash: "SHA-256" },
  EdDSA: { name: "Ed25519" },
  Ed25519: { name: "Ed25519" },
  RS256: { name: "RSASSA-PKCS1-v1_5" },
};

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// WebCrypto's typings want ArrayBuffer-backed views; ours may be views of shared buffers.
function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const SEXTET = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) SEXTET[ALPHABET.charCodeAt(i)] = i;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** The browser platform: WebCrypto and JavaScript (also tested on Node). */
export const platform: Platform = {
  async sha256(...parts) {
    const bytes = parts.map((part) => (typeof part === "string" ? utf8Encoder.encode(part) : part));
    return new Uint8Array(await crypto.subtle.digest("SHA-256", view(concatBytes(bytes))));
  },
  async importPublicKey(jwk: PublicJwk, alg: SignatureAlgorithm): Promise<PublicKeyHandle> {
    const cryptoKey = await crypto.subtle.importKey("jwk", { ...jwk }, IMPORT_PARAMS[alg], false, [
      "verify",
    ]);
    const handle: WebPublicKey = { alg, cryptoKey };
    return handle;
  },
  async verifySignature(key, signature, data) {
    const { alg, cryptoKey } = key as WebPublicKey;
    try {
      return await crypto.subtle.verify(VERIFY_PARAMS[alg], cryptoKey, view(signature), view(data));
    } catch {
      return false;
    }
  },
  async importHmacKey(secret) {
    const cryptoKey = await crypto.subtle.importKey(
      "raw",
      view(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const handle: WebHmacKey = { hmac: true, cryptoKey };
    return handle;
  },
  async hmacSha256(key, data) {
    const bytes = typeof data === "string" ? utf8Encoder.encode(data) : view(data);
    return new Uint8Array(await crypto.subtle.sign("HMAC", (key as WebHmacKey).cryptoKey, bytes));
  },
  decodeCheckedBase64Url(input) {
    const out = new Uint8Array(Math.floor((input.length * 3) / 4));
    let buffer = 0;
    let bits = 0;
    let o = 0;
    for (let i = 0; i < input.length; i++) {
      buffer = (buffer << 6) | (SEXTET[input.charCodeAt(i)] as number);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out[o++] = (buffer >>> bits) & 255;
      }
    }
    return out;
  },
  encodeBase64Url(bytes) {
    let out = "";
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const n =
        ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
      out +=
        ALPHABET.charAt(n >>> 18) +
        ALPHABET.charAt((n >>> 12) & 63) +
        ALPHABET.charAt((n >>> 6) & 63) +
        ALPHABET.charAt(n & 63);
    }
    if (bytes.length - i === 1) {
      const n = (bytes[i] as number) << 16;
      out += ALPHABET.charAt(n >>> 18) + ALPHABET.charAt((n >>> 12) & 63);
    } else if (bytes.length - i === 2) {
      const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
      out +=
        ALPHABET.charAt(n >>> 18) +
        ALPHABET.charAt((n >>> 12) & 63) +
        ALPHABET.charAt((n >>> 6) & 63);
    }
    return out;
  },
  encodeUtf8(text) {
    return utf8Encoder.encode(text);
  },
  decodeUtf8(bytes) {
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return undefined;
    }
  },
};
