import { createHash, createHmac, createPublicKey, type KeyObject, verify } from "node:crypto";
import type { CryptoBackend, HmacKeyHandle, PublicKeyHandle, SignatureAlgorithm } from "./crypto-backend.js";
import type { PublicJwk } from "./jwk.js";

interface NodePublicKey extends PublicKeyHandle {
  readonly keyObject: KeyObject;
}

interface NodeHmacKey extends HmacKeyHandle {
  readonly secret: Uint8Array;
}

function verifyNow(key: NodePublicKey, signature: Uint8Array, data: Uint8Array): boolean {
  try {
    switch (key.alg) {
      case "ES256":
        return verify("sha256", data, { key: key.keyObject, dsaEncoding: "ieee-p1363" }, signature);
      case "EdDSA":
      case "Ed25519":
        return verify(null, data, key.keyObject, signature);
      case "RS256":
        return verify("sha256", data, key.keyObject, signature);
    }
  } catch {
    // A signature of the wrong length or shape is simply not valid.
    return false;
  }
}

/** The `node:crypto` backend, used on Node.js. */
export const cryptoBackend: CryptoBackend = {
  async sha256(data) {
    return createHash("sha256").update(data).digest();
  },
  async importPublicKey(jwk: PublicJwk, alg: SignatureAlgorithm): Promise<PublicKeyHandle> {
    const handle: NodePublicKey = { alg, keyObject: createPublicKey({ key: { ...jwk }, format: "jwk" }) };
    return handle;
  },
  async verifySignature(key, signature, data) {
    return verifyNow(key as NodePublicKey, signature, data);
  },
  async importHmacKey(secret) {
    const handle: NodeHmacKey = { hmac: true, secret: secret.slice() };
    return handle;
  },
  async hmacSha256(key, data) {
    return createHmac("sha256", (key as NodeHmacKey).secret).update(data).digest();
  },
};
