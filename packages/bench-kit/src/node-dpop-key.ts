import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  sign,
} from "node:crypto";
import { type DpopKey, parsePublicJwk } from "@agentauth/core";

/** A bench agent's key: a {@link DpopKey} whose private JWK can cross to the load process. */
export interface BenchAgentKey extends DpopKey {
  readonly privateJwk: JsonWebKey;
}

/**
 * A P-256 agent key signing with `node:crypto` (synchronous, in process), so pre-generating tens
 * of thousands of DPoP proofs and client assertions takes seconds, not the run's CPU. Pass a
 * private JWK to load a key made in another process; omit it for a new key.
 */
export function createNodeDpopKey(privateJwk?: JsonWebKey): BenchAgentKey {
  const privateKey =
    privateJwk === undefined
      ? generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey
      : createPrivateKey({ key: privateJwk, format: "jwk" });
  const publicJwk = parsePublicJwk(createPublicKey(privateKey).export({ format: "jwk" }));
  return {
    alg: "ES256",
    publicJwk,
    privateJwk: privateKey.export({ format: "jwk" }),
    async sign(data) {
      return new Uint8Array(sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" }));
    },
  };
}
