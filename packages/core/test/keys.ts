import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import type { PublicJwk } from "../src/crypto/jwk.js";
import { parsePublicJwk } from "../src/crypto/jwk.js";
import type { DpopKey, Signer } from "../src/crypto/signer.js";

/** Test keys: a real key pair exposed as the signer shapes core consumes. */
export interface TestKey extends Signer, DpopKey {
  readonly privateKey: KeyObject;
  /** The public JWK with `kid`, `alg` and `use`, as a JWKS entry. */
  readonly jwksEntry: Record<string, string>;
}

export function createTestKey(
  alg: "ES256" | "EdDSA" | "RS256" = "ES256",
  kid = `test-${alg}`,
): TestKey {
  const { privateKey, publicKey } =
    alg === "ES256"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : alg === "EdDSA"
        ? generateKeyPairSync("ed25519")
        : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicJwk: PublicJwk = parsePublicJwk(publicKey.export({ format: "jwk" }));
  return {
    alg,
    kid,
    privateKey,
    publicJwk,
    jwksEntry: { ...publicJwk, kid, alg, use: "sig" } as Record<string, string>,
    async sign(data) {
      return alg === "ES256"
        ? sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" })
        : sign(alg === "EdDSA" ? null : "sha256", data, privateKey);
    },
  };
}
