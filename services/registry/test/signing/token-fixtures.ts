import {
  buildAccessTokenClaims,
  type JsonWebKeySet,
  parseAuthorizationDetails,
  type Signer,
  signAccessToken,
  type VerifyAccessTokenResult,
  verifyAccessToken,
} from "@agentauth/core";
import * as jose from "jose";
import type { JwkSigner } from "../../src/signing/jwk-signer.js";

export const ISSUER = "https://registry.test";
export const AUDIENCE = "sp_calendar";
export const NOW = new Date("2026-11-22T10:00:00Z");

const JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

export interface IssueTestTokenOptions {
  now?: Date;
  lifetimeSeconds?: number;
  /** Extra read capabilities, to make big tokens. */
  extraCapabilities?: number;
}

/** A real RFC 9068 access token signed by `signer` through core's `signAccessToken`. */
export function issueTestToken(
  signer: Signer,
  options: IssueTestTokenOptions = {},
): Promise<string> {
  const now = options.now ?? NOW;
  const capabilities = [{ type: "read", resource: "calendar/*" }];
  for (let index = 0; index < (options.extraCapabilities ?? 0); index++) {
    capabilities.push({ type: "read", resource: `documents/folder-${index}/*` });
  }
  const authorization = parseAuthorizationDetails([
    ...capabilities,
    { type: "envelope", max_token_lifetime_seconds: 900 },
  ]);
  const claims = buildAccessTokenClaims({
    issuer: ISSUER,
    agentId: "agent_1",
    serviceProviderId: AUDIENCE,
    grantId: "grant_1",
    humanId: "human_1",
    jkt: JKT,
    authorization,
    now,
    lifetimeSeconds: options.lifetimeSeconds ?? 900,
    grantExpiresAt: new Date(now.getTime() + 86_400_000),
    jti: crypto.randomUUID(),
  });
  return signAccessToken(claims, signer);
}

/** The JWKS entry a key ring publishes for `signer`. */
export function jwksEntry(signer: JwkSigner): Record<string, string> {
  return { ...signer.publicJwk, kid: signer.kid, alg: signer.alg, use: "sig" };
}

/** Verifies with core, as our verifier does. */
export function verifyWithCore(
  token: string,
  keys: JsonWebKeySet,
  now: Date = NOW,
): Promise<VerifyAccessTokenResult> {
  return verifyAccessToken(token, {
    keys,
    expectedIssuer: ISSUER,
    expectedAudience: AUDIENCE,
    now,
  });
}

/** Verifies with panva's jose, an independent implementation, against a local JWKS. */
export function verifyWithJose(
  token: string,
  keys: JsonWebKeySet,
  now: Date = NOW,
): Promise<jose.JWTVerifyResult> {
  return jose.jwtVerify(token, jose.createLocalJWKSet(keys as jose.JSONWebKeySet), {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: "at+jwt",
    algorithms: ["ES256"],
    currentDate: now,
  });
}
