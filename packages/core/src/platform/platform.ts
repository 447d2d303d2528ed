import type { PublicJwk } from "../crypto/jwk.js";

/**
 * JWS algorithms core can verify. "Ed25519" is the fully-specified name (RFC 9864) for what
 * "EdDSA" means here. DPoP proofs allow a subset (see `verifyDpopProof`).
 */
export type SignatureAlgorithm = "ES256" | "EdDSA" | "Ed25519" | "RS256";

/** An imported public key, opaque outside the platform that made it. */
export interface PublicKeyHandle {
  readonly alg: SignatureAlgorithm;
}

/** An imported HMAC-SHA-256 key, opaque outside the platform that made it. */
export interface HmacKeyHandle {
  readonly hmac: true;
}

/**
 * The computations core needs from its runtime, with no I/O. On Node they are `node:crypto` and
 * `Buffer` (a synchronous ES256 check costs ~0.65× the WebCrypto path there, and native base64
 * is ~3× a JavaScript decoder); in browsers, WebCrypto and JavaScript. The package's `#platform`
 * import picks one by export condition, so browser bundles never see `node:crypto`. Both pass
 * `platform.test.ts`.
 */
export interface Platform {
  /** SHA-256 of the concatenation of `parts`; strings are hashed as their UTF-8 bytes. */
  sha256(...parts: readonly (Uint8Array | string)[]): Promise<Uint8Array>;
  importPublicKey(jwk: PublicJwk, alg: SignatureAlgorithm): Promise<PublicKeyHandle>;
  verifySignature(key: PublicKeyHandle, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  importHmacKey(secret: Uint8Array): Promise<HmacKeyHandle>;
  hmacSha256(key: HmacKeyHandle, data: Uint8Array | string): Promise<Uint8Array>;
  /** Decodes base64url already checked to be canonical by `encoding/base64url.ts`. */
  decodeCheckedBase64Url(input: string): Uint8Array;
  encodeBase64Url(bytes: Uint8Array): string;
  encodeUtf8(text: string): Uint8Array;
  /** Strict UTF-8 decoding: `undefined` for invalid byte sequences. */
  decodeUtf8(bytes: Uint8Array): string | undefined;
}
