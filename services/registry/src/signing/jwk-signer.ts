import type { EcPublicJwk, Signer } from "@agentauth/core";

/**
 * A token {@link Signer} that also knows its public key, so the key ring can publish it in the
 * JWKS. `kid` is the RFC 7638 thumbprint of `publicJwk`. The private key stays inside.
 */
export interface JwkSigner extends Signer {
  readonly alg: "ES256";
  readonly publicJwk: EcPublicJwk;
}
