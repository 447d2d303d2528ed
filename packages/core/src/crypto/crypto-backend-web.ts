import type { CryptoBackend, HmacKeyHandle, PublicKeyHandle, SignatureAlgorithm } from "./crypto-backend.js";
import type { PublicJwk } from "./jwk.js";

interface WebPublicKey extends PublicKeyHandle {
  readonly cryptoKey: CryptoKey;
}

interface WebHmacKey extends HmacKeyHandle {
  readonly cryptoKey: CryptoKey;
}

const IMPORT_PARAMS: Record<SignatureAlgorithm, EcKeyImportParams | RsaHashedImportParams | Algorithm> = {
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

// WebCrypto's typings want ArrayBuffer-backed views; ours may be views of shared buffers.
function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** The WebCrypto backend, used in browsers (and tested on Node too). */
export const cryptoBackend: CryptoBackend = {
  async sha256(data) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", view(data)));
  },
  async importPublicKey(jwk: PublicJwk, alg: SignatureAlgorithm): Promise<PublicKeyHandle> {
    const cryptoKey = await crypto.subtle.importKey("jwk", { ...jwk }, IMPORT_PARAMS[alg], false, ["verify"]);
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
    return new Uint8Array(await crypto.subtle.sign("HMAC", (key as WebHmacKey).cryptoKey, view(data)));
  },
};
