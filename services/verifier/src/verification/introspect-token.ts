import { AgentAuthError } from "@agentauth/core";
import type { Clock } from "../clock.js";
import type { TokenVerifier } from "../tokens/token-verifier.js";
import { findRevocation, type RevocationView } from "./verify-request.js";

export interface IntrospectionDeps {
  readonly clock: Clock;
  readonly tokens: TokenVerifier;
  readonly revocations: RevocationView;
}

/**
 * RFC 7662 for a service provider: the token's claims when it is active *for that provider*
 * (valid signature, this audience, unexpired, not revoked), otherwise `{"active": false}` and
 * nothing more. `cnf.jkt` is included so the provider can check the DPoP proof itself (RFC 9449
 * §6.2). Throws `StateError` when the revocation list is not current.
 */
export async function introspectToken(
  deps: IntrospectionDeps,
  audience: string,
  token: string,
): Promise<Record<string, unknown>> {
  const now = deps.clock.now();
  let claims: Awaited<ReturnType<TokenVerifier["verify"]>>["claims"];
  try {
    ({ claims } = await deps.tokens.verify(token, audience, now));
  } catch (error) {
    if (error instanceof AgentAuthError) return { active: false };
    throw error;
  }
  if (findRevocation(deps.revocations, claims, now) !== undefined) return { active: false };
  return {
    active: true,
    token_type: "DPoP",
    iss: claims.iss,
    sub: claims.sub,
    client_id: claims.client_id,
    aud: audience,
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti,
    cnf: { jkt: claims.cnf.jkt },
    authorization_details: claims.authorization_details,
    grant_id: claims.grant_id,
    human_id: claims.human_id,
  };
}
