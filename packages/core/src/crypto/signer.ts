import type { SignatureAlgorithm } from "../platform/platform.js";
import type { PublicJwk } from "./jwk.js";

/**
 * Anything that can produce a JWS signature in JOSE form (for ECDSA: `r ‖ s`, not DER). Keys
 * never leave it: a KMS, a key file, or a non-extractable WebCrypto key.
 */
export interface JwsSigner {
  readonly alg: SignatureAlgorithm;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** The registry's token signer: a {@link JwsSigner} with the `kid` published in its JWKS. */
export interface Signer extends JwsSigner {
  readonly kid: string;
}

/** An agent's proof-of-possession key: a {@link JwsSigner} that knows its public JWK. */
export interface DpopKey extends JwsSigner {
  readonly publicJwk: PublicJwk;
}
