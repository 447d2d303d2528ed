import { isUtf8 } from "node:buffer";
import { createHmac, createPublicKey, hash, type KeyObject, verify } from "node:crypto";
import type { PublicJwk } from "../crypto/jwk.js";
import type { HmacKeyHandle, Platform, PublicKeyHandle, SignatureAlgorithm } from "./platform.js";

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

const toBuffer = (part: Uint8Array | string) =>
  typeof part === "string" ? Buffer.from(part, "utf8") : part;
const asBuffer = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
// Plain Uint8Array views, so Node and browsers hand out the same type.
const asBytes = (buffer: Buffer) =>
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

/** The Node.js platform: `node:crypto` and `Buffer`. */
export const platform: Platform = {
  async sha256(...parts) {
    // One-shot hashing of one joined buffer beats an incremental Hash object for short inputs.
    const input =
      parts.length === 1 ? (parts[0] as Uint8Array | string) : Buffer.concat(parts.map(toBuffer));
    return asBytes(hash("sha256", input, "buffer"));
  },
  async importPublicKey(jwk: PublicJwk, alg: SignatureAlgorithm): Promise<PublicKeyHandle> {
    const handle: NodePublicKey = {
      alg,
      keyObject: createPublicKey({ key: { ...jwk }, format: "jwk" }),
    };
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
    return asBytes(
      createHmac("sha256", (key as NodeHmacKey).secret)
        .update(data)
        .digest(),
    );
  },
  decodeCheckedBase64Url(input) {
    return asBytes(Buffer.from(input, "base64url"));
  },
  encodeBase64Url(bytes) {
    return asBuffer(bytes).toString("base64url");
  },
  encodeUtf8(text) {
    return asBytes(Buffer.from(text, "utf8"));
  },
  decodeUtf8(bytes) {
    const buffer = asBuffer(bytes);
    return isUtf8(buffer) ? buffer.toString("utf8") : undefined;
  },
};
