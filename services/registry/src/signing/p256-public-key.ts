import { createPublicKey, type KeyObject } from "node:crypto";
import { computeJwkThumbprint, type EcPublicJwk, parsePublicJwk } from "@agentauth/core";

/** Whether `key` (public or private) is on NIST P-256, the only curve ES256 uses. */
export function isP256Key(key: KeyObject): boolean {
  return key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1";
}

/** The public JWK (required members only) and RFC 7638 thumbprint of a P-256 key. */
export async function describeP256PublicKey(
  key: KeyObject,
): Promise<{ publicJwk: EcPublicJwk; kid: string }> {
  if (!isP256Key(key)) throw new TypeError("Expected a P-256 key");
  const publicKey = key.type === "public" ? key : createPublicKey(key);
  const publicJwk = parsePublicJwk(publicKey.export({ format: "jwk" })) as EcPublicJwk;
  return { publicJwk, kid: await computeJwkThumbprint(publicJwk) };
}
