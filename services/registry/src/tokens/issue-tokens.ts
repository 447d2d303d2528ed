import {
  buildAccessTokenClaims,
  parseAuthorizationDetails,
  type Signer,
  signAccessToken,
} from "@agentauth/core";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Db, Grant } from "../db/database.js";
import { createId, createSecret, hashSecret } from "../ids.js";

export interface TokenIssuance {
  readonly issuer: string;
  readonly signer: Signer;
  /** Default access-token lifetime; a grant's envelope may shorten it. */
  readonly accessTokenLifetimeSeconds: number;
}

export interface IssuedAccessToken {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly authorizationDetails: readonly unknown[];
}

/**
 * Signs a DPoP-bound access token for an active grant and records it (for revocation and
 * introspection) and its audit event in the caller's transaction.
 */
export async function issueAccessToken(
  db: Db,
  deps: TokenIssuance,
  grant: Grant,
  now: Date,
): Promise<IssuedAccessToken> {
  const authorization = parseAuthorizationDetails(grant.authorization_details);
  const lifetimeSeconds = Math.min(
    deps.accessTokenLifetimeSeconds,
    authorization.envelope?.max_token_lifetime_seconds ?? Number.POSITIVE_INFINITY,
  );
  const claims = buildAccessTokenClaims({
    issuer: deps.issuer,
    agentId: grant.agent_id,
    serviceProviderId: grant.service_provider_id,
    grantId: grant.id,
    humanId: grant.human_id,
    jkt: grant.agent_jkt,
    authorization,
    now,
    lifetimeSeconds,
    grantExpiresAt: grant.expires_at,
    jti: createId("at"),
  });
  const accessToken = await signAccessToken(claims, deps.signer);
  await db
    .insertInto("access_tokens")
    .values({
      jti: claims.jti,
      grant_id: grant.id,
      agent_id: grant.agent_id,
      service_provider_id: grant.service_provider_id,
      issued_at: new Date(claims.iat * 1000),
      expires_at: new Date(claims.exp * 1000),
    })
    .execute();
  await enqueueAuditEvent(db, {
    type: "token.issued",
    actor: grant.agent_id,
    subject: claims.jti,
    humanId: grant.human_id,
    occurredAt: now,
    data: {
      grant_id: grant.id,
      service_provider: grant.service_provider_id,
      expires_at: claims.exp,
    },
  });
  return {
    accessToken,
    expiresIn: claims.exp - claims.iat,
    authorizationDetails: claims.authorization_details,
  };
}

/** A refresh token for `grant`, bound to the agent (and so to its current key). */
export async function issueRefreshToken(db: Db, grant: Grant, now: Date): Promise<string> {
  const refreshToken = `art_${createSecret(32)}`;
  await db
    .insertInto("refresh_tokens")
    .values({
      id_hash: hashSecret(refreshToken),
      grant_id: grant.id,
      agent_id: grant.agent_id,
      jkt: grant.agent_jkt,
      created_at: now,
      expires_at: grant.expires_at,
    })
    .execute();
  return refreshToken;
}
