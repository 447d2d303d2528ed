import {
  type AccessTokenClaims,
  isAgentAuthError,
  parseAuthorizationDetails,
} from "@agentauth/core";
import { z } from "zod";
import type { Agent, Db } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { parseAuthorizationDetailsParameter } from "../grants/authorization-details-parameter.js";
import { TOKEN_EXCHANGE_GRANT_TYPE } from "./grant-types.js";
import { type IssuedAccessToken, issueAccessToken, type TokenIssuance } from "./issue-tokens.js";
import { narrowForTask } from "./task-authorization.js";
import { type OwnAccessTokenDeps, verifyOwnAccessToken } from "./verify-own-access-token.js";

/** RFC 8693 §3: the only token type exchanged for, and issued. */
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

export const tokenExchangeParameters = z.object({
  grant_type: z.literal(TOKEN_EXCHANGE_GRANT_TYPE),
  subject_token: z.string().min(1).max(65_536),
  subject_token_type: z.string().min(1).max(200),
  requested_token_type: z.string().max(200).optional(),
  actor_token: z.string().optional(),
  actor_token_type: z.string().optional(),
  /** RFC 9396 §6: the narrower authorization wanted; by default the grant's. */
  authorization_details: z.string().optional(),
  /** RFC 8693 §2.1 / RFC 8707: the service provider; if sent, the subject token's audience. */
  resource: z.string().min(1).max(200).optional(),
  audience: z.string().min(1).max(200).optional(),
  /** The task token's lifetime in seconds; capped as every access token is. */
  requested_expiry: z.coerce.number().int().min(1).max(900).optional(),
});

export type TokenExchangeParameters = z.output<typeof tokenExchangeParameters>;

export interface TokenExchangeDeps extends OwnAccessTokenDeps {
  readonly db: Db;
  readonly tokens: TokenIssuance;
}

/**
 * RFC 8693 token exchange for a per-task token: the agent trades an access token of one of its
 * grants (`subject_token`) for a narrower, shorter one under the same grant, bound to the same
 * key, with no refresh token. Every failure of the subject token is an `invalid_request`
 * (RFC 8693 §2.2.2); a wider authorization is `invalid_authorization_details`.
 */
export async function exchangeForTaskToken(
  deps: TokenExchangeDeps,
  agent: Agent,
  params: TokenExchangeParameters,
  now: Date,
) {
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  if (
    params.requested_token_type !== undefined &&
    params.requested_token_type !== ACCESS_TOKEN_TYPE
  ) {
    throw invalidRequest(`Only ${ACCESS_TOKEN_TYPE} can be requested`);
  }
  if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
    throw invalidRequest("Delegation to another actor is not supported: send no actor_token");
  }
  const subject = await verifySubjectToken(deps, params.subject_token, now);
  if (subject.sub !== agent.id) {
    throw invalidRequest("The subject_token was issued to another agent");
  }
  if (subject.cnf.jkt !== agent.jkt) {
    throw invalidRequest("The subject_token is bound to a key other than the agent's current one");
  }
  if ("task_of" in subject) {
    throw invalidRequest(
      "The subject_token is a task token itself: exchange an access token of the grant",
    );
  }
  for (const target of [params.resource, params.audience]) {
    if (target !== undefined && target !== subject.aud) {
      throw new RegistryError(
        "ERR_INVALID_TARGET",
        `The subject_token is for ${subject.aud}, not ${target}: a task token is for its grant's service provider`,
      );
    }
  }
  const grant = await loadSubjectGrant(deps.db, agent, subject, now);
  const authorization = narrowForTask(
    params.authorization_details === undefined
      ? undefined
      : parseAuthorizationDetailsParameter(params.authorization_details),
    parseAuthorizationDetails(grant.authorization_details),
  );
  // Bound to the key that proved possession just now (the subject token's, checked above).
  const issued = await issueAccessToken(
    deps.db,
    deps.tokens,
    { ...grant, agent_jkt: agent.jkt },
    now,
    {
      authorization,
      requestedLifetimeSeconds: params.requested_expiry,
      taskOf: subject.jti,
    },
  );
  return taskTokenResponse(issued);
}

async function verifySubjectToken(
  deps: TokenExchangeDeps,
  token: string,
  now: Date,
): Promise<AccessTokenClaims> {
  try {
    // No clock skew: the registry checks a token it issued against its own clock.
    const { claims } = await verifyOwnAccessToken(token, deps, { now, clockSkewSeconds: 0 });
    return claims;
  } catch (error) {
    if (!isAgentAuthError(error)) throw error;
    throw invalidRequest(
      error.code === "ERR_TOKEN_EXPIRED"
        ? "The subject_token has expired"
        : `The subject_token is not an access token of this registry: ${error.message}`,
      error,
    );
  }
}

/** The live grant behind the subject token, which must be recorded, the agent's and unrevoked. */
async function loadSubjectGrant(db: Db, agent: Agent, subject: AccessTokenClaims, now: Date) {
  const row = await db
    .selectFrom("access_tokens as t")
    .innerJoin("grants as g", "g.id", "t.grant_id")
    .innerJoin("service_providers as sp", "sp.id", "g.service_provider_id")
    .select([
      "t.revoked_at as token_revoked_at",
      "g.id",
      "g.agent_id",
      "g.human_id",
      "g.service_provider_id",
      "g.authorization_details",
      "g.expires_at",
      "g.revoked_at",
      "sp.disabled_at as service_provider_disabled_at",
    ])
    .where("t.jti", "=", subject.jti)
    .where("t.agent_id", "=", agent.id)
    .where("t.grant_id", "=", subject.grant_id)
    .executeTakeFirst();
  if (row === undefined) throw invalidRequest("The subject_token is unknown to this registry");
  if (row.token_revoked_at !== null) throw invalidRequest("The subject_token has been revoked");
  if (row.revoked_at !== null || row.expires_at <= now) {
    throw invalidRequest("The subject_token's grant has been revoked or has ended");
  }
  if (row.service_provider_disabled_at !== null) {
    throw invalidRequest("The subject_token's service provider has been disabled");
  }
  return row;
}

function taskTokenResponse(issued: IssuedAccessToken) {
  return {
    access_token: issued.accessToken,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: "DPoP",
    expires_in: issued.expiresIn,
    authorization_details: issued.authorizationDetails,
  };
}

function invalidRequest(message: string, cause?: unknown): RegistryError {
  return new RegistryError("ERR_INVALID_REQUEST", message, cause === undefined ? {} : { cause });
}
