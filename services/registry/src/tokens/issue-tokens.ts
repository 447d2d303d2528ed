import {
  type AccessTokenClaims,
  type AuthorizationDetails,
  buildAccessTokenClaims,
  canonicalizeJson,
  type JsonValue,
  parseAuthorizationDetails,
  type Signer,
  signAccessToken,
  toAuthorizationDetails,
} from "@agentauth/core";
import { sql } from "kysely";
import { toChainedEventBody } from "../audit/audit-event.js";
import type { Db, Grant } from "../db/database.js";
import { prepareQuery } from "../db/prepared-query.js";
import { RegistryError } from "../errors.js";
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

/** What makes a token a per-task token (RFC 8693 exchange): narrower, shorter, tied to another. */
export interface TaskToken {
  /** The task's authorization, already checked to narrow the grant's (`narrowForTask`). */
  readonly authorization: AuthorizationDetails;
  /** The lifetime asked for; still capped by the default lifetime, the envelopes and the grant. */
  readonly requestedLifetimeSeconds: number | undefined;
  /** The `jti` of the agent's access token exchanged for this one. */
  readonly taskOf: string;
}

/** What a token is made from: the grant, bound to the key (`agent_jkt`) that proved possession. */
export type IssuableGrant = Pick<
  Grant,
  | "id"
  | "agent_id"
  | "human_id"
  | "service_provider_id"
  | "agent_jkt"
  | "authorization_details"
  | "expires_at"
>;

/**
 * Signs a DPoP-bound access token for an active grant and records it (for revocation and
 * introspection) with its audit event, in one statement on `db` (a transaction or not).
 *
 * The statement re-checks, as of its own execution, that the grant is unrevoked and unexpired,
 * its service provider enabled, and its agent enabled and still holding `agent_jkt`; if not,
 * nothing is recorded and it throws `ERR_INVALID_GRANT`. So a caller that read the grant
 * without locking it cannot issue a token after a revocation, a disable or a key rotation
 * committed: the hot refresh path needs no transaction (two statements per token, not seven).
 *
 * With `task`, the token is a per-task token: the task's authorization, a `task_of` claim and
 * column naming the access token it was exchanged for, and the same statement checks that token
 * is still live (unrevoked, unexpired, the agent's, no task token itself).
 */
export async function issueAccessToken(
  db: Db,
  deps: TokenIssuance,
  grant: IssuableGrant,
  now: Date,
  task?: TaskToken,
): Promise<IssuedAccessToken> {
  const granted = parseAuthorizationDetails(grant.authorization_details);
  const authorization = task?.authorization ?? granted;
  const lifetimeSeconds = Math.min(
    task?.requestedLifetimeSeconds ?? deps.accessTokenLifetimeSeconds,
    deps.accessTokenLifetimeSeconds,
    granted.envelope?.max_token_lifetime_seconds ?? Number.POSITIVE_INFINITY,
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
  const taskClaims: AccessTokenClaims & { task_of?: string } =
    task === undefined ? claims : { ...claims, task_of: task.taskOf };
  const accessToken = await signAccessToken(taskClaims, deps.signer);
  const auditEvent = canonicalizeJson(
    toChainedEventBody({
      type: "token.issued",
      actor: grant.agent_id,
      subject: claims.jti,
      humanId: grant.human_id,
      occurredAt: now,
      data: {
        grant_id: grant.id,
        service_provider: grant.service_provider_id,
        expires_at: claims.exp,
        ...(task === undefined
          ? {}
          : {
              task_of: task.taskOf,
              authorization_details: toAuthorizationDetails(authorization) as unknown as JsonValue,
            }),
      },
    }),
  );
  const recorded = await (task === undefined ? recordToken : recordTaskToken).execute(db, {
    grantId: grant.id,
    agentId: grant.agent_id,
    agentJkt: grant.agent_jkt,
    serviceProviderId: grant.service_provider_id,
    jti: claims.jti,
    issuedAt: new Date(claims.iat * 1000),
    expiresAt: new Date(claims.exp * 1000),
    now,
    taskOf: task?.taskOf ?? null,
    auditEvent,
  });
  if (recorded.rows.length === 0) {
    throw new RegistryError(
      // RFC 8693 §2.2.2: a subject token unacceptable for any reason is an invalid_request.
      task === undefined ? "ERR_INVALID_GRANT" : "ERR_INVALID_REQUEST",
      task === undefined
        ? "The grant was revoked, or its agent or service provider disabled, as the token was issued"
        : "The grant or the subject_token was revoked, or its agent or service provider disabled, as the token was issued",
    );
  }
  return {
    accessToken,
    expiresIn: claims.exp - claims.iat,
    authorizationDetails: claims.authorization_details,
  };
}

interface RecordTokenParams {
  readonly grantId: string;
  readonly agentId: string;
  readonly agentJkt: string;
  readonly serviceProviderId: string;
  readonly jti: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  readonly now: Date;
  readonly taskOf: string | null;
  /** The `token.issued` event, canonical JSON. */
  readonly auditEvent: string;
}

/**
 * The one statement that records a token: it inserts the token and its audit event only if, as
 * of its own execution, the grant is live (and for a task token, the access token it came from).
 */
function prepareRecordToken(task: boolean) {
  return prepareQuery(
    (_db, p: RecordTokenParams) => sql<{ id: string }>`
    WITH live AS (
      SELECT g.id
        FROM grants g
        JOIN service_providers sp ON sp.id = g.service_provider_id
        JOIN agents a ON a.id = g.agent_id
       WHERE g.id = ${p.grantId}
         AND g.revoked_at IS NULL AND g.expires_at > ${p.now}::timestamptz
         AND sp.disabled_at IS NULL
         AND a.disabled_at IS NULL AND a.jkt = ${p.agentJkt}
         ${
           task
             ? sql`AND EXISTS (
          SELECT 1 FROM access_tokens parent
           WHERE parent.jti = ${p.taskOf} AND parent.grant_id = g.id AND parent.agent_id = a.id
             AND parent.task_of IS NULL AND parent.revoked_at IS NULL
             AND parent.expires_at > ${p.now}::timestamptz)`
             : sql``
         }
    ), issued AS (
      INSERT INTO access_tokens
             (jti, grant_id, agent_id, service_provider_id, issued_at, expires_at, task_of)
      SELECT ${p.jti}, live.id, ${p.agentId}, ${p.serviceProviderId},
             ${p.issuedAt}::timestamptz, ${p.expiresAt}::timestamptz, ${p.taskOf}::text
        FROM live
      RETURNING jti
    )
    INSERT INTO audit_queue (event) SELECT ${p.auditEvent}::jsonb FROM issued RETURNING id`,
  );
}

const recordToken = prepareRecordToken(false);
const recordTaskToken = prepareRecordToken(true);

/** A refresh token for `grant`, bound to the agent (and so to its current key). */
export async function issueRefreshToken(db: Db, grant: IssuableGrant, now: Date): Promise<string> {
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
