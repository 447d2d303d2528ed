import { encodeBase64Url } from "@agentauth/core";

/** A fresh random identifier for a proof or assertion `jti`: 24 random bytes, base64url. */
export function randomJti(): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(24)));
}
