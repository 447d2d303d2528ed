import { parsePublicJwk } from "./jwk.js";
import type { DpopKey } from "./signer.js";

/**
 * Wraps a WebCrypto ECDSA P-256 key pair (the private key may be non-extractable) as a
 * {@link DpopKey}. WebCrypto's ECDSA signatures are already in JOSE `r ‖ s` form.
 */
export async function createWebCryptoDpopKey(keyPair: CryptoKeyPair): Promise<DpopKey> {
  const algorithm = keyPair.privateKey.algorithm as EcKeyAlgorithm;
  if (algorithm.name !== "ECDSA" || algorithm.namedCurve !== "P-256") {
    throw new TypeError("Only ECDSA P-256 key pairs are supported");
  }
  const publicJwk = parsePublicJwk(await crypto.subtle.exportKey("jwk", keyPair.publicKey));
  return {
    alg: "ES256",
    publicJwk,
    async sign(data) {
      const bytes = new Uint8Array(data);
      return new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keyPair.privateKey, bytes),
      );
    },
  };
}
