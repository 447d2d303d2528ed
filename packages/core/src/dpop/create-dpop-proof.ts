import { platform } from "#platform";
import { signCompactJws } from "../crypto/compact-jws.js";
import type { DpopKey } from "../crypto/signer.js";
import { encodeBase64Url } from "../encoding/base64url.js";

export interface CreateDpopProofOptions {
  key: DpopKey;
  /** HTTP method of the request, e.g. "GET". */
  method: string;
  /** The request URL; query and fragment are left out of `htu`. */
  url: string;
  now: Date;
  /** A fresh random identifier, at least 16 characters (e.g. 32 random bytes, base64url). */
  jti: string;
  /** The access token sent with the request; adds `ath`. */
  accessToken?: string;
  /** The server's latest `DPoP-Nonce`. */
  nonce?: string;
}

/** Creates a DPoP proof JWT (RFC 9449 §4.2). */
export async function createDpopProof(options: CreateDpopProofOptions): Promise<string> {
  const url = new URL(options.url);
  url.search = "";
  url.hash = "";
  const payload: Record<string, unknown> = {
    jti: options.jti,
    htm: options.method,
    htu: url.href,
    iat: Math.floor(options.now.getTime() / 1000),
  };
  if (options.accessToken !== undefined) {
    payload.ath = encodeBase64Url(await platform.sha256(options.accessToken));
  }
  if (options.nonce !== undefined) payload.nonce = options.nonce;
  return signCompactJws({ typ: "dpop+jwt", jwk: options.key.publicJwk }, payload, options.key);
}
