import type { PublicJwk } from "./jwk.js";

/**
 * JWS algorithms core can verify. "Ed25519" is the fully-specified name (RFC 9864) for what
 * "EdDSA" means here. DPoP proofs allow a subset (see `verifyDpopProof`).
 */
export type SignatureAlgorithm = "ES256" | "EdDSA" | "Ed25519" | "RS256";

/** An imported public key, opaque outside the backend that made it. */
export interface PublicKeyHandle {
  readonly alg: SignatureAlgorithm;
}

/** An imported HMAC-SHA-256 key, opaque outside the backend that made it. */
export interface HmacKeyHandle {
  readonly hmac: true;
}

/**
 * The primitives core needs from the platform. Node gets `node:crypto` (synchronous, one ES256
 * check costs about 0.65× as much as through WebCrypto there); browsers get WebCrypto. The
 * package's `#crypto-backend` import picks one by export condition, so browser bundles never
 * see `node:crypto`. Both pass `crypto-backend.test.ts`.
 */
export interface CryptoBackend {
  sha256(data: Uint8Array): Promise<Uint8Array>;
  importPublicKey(jwk: PublicJwk, alg: SignatureAlgorithm): Promise<PublicKeyHandle>;
  verifySignature(key: PublicKeyHandle, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  importHmacKey(secret: Uint8Array): Promise<HmacKeyHandle>;
  hmacSha256(key: HmacKeyHandle, data: Uint8Array): Promise<Uint8Array>;
}
