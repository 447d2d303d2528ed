import type { DpopNonceSource, JsonWebKeySet } from "@agentauth/core";
import { Router } from "express";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Agent, Db, Grant } from "../db/database.js";
import { prepareQuery } from "../db/prepared-query.js";
import { ENDPOINTS } from "../discovery/discovery-routes.js";
import { RegistryError } from "../errors.js";
import { formBody, parseInput } from "../http/body.js";
import { oauthErrors } from "../http/error-middleware.js";
import { hashSecret } from "../ids.js";
import {
  authenticateAgent,
  type ClientAuthenticationDeps,
} from "../oauth/client-authentication.js";
import { type DpopVerification, verifyRequestDpop } from "../oauth/request-dpop.js";
import type { RegistryMetrics } from "../operations/metrics.js";
import { exchangeForTaskToken, tokenExchangeParameters } from "./exchange-token.js";
import { CIBA_GRANT_TYPE, TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_GRANT_TYPES } from "./grant-types.js";
import {
  type IssuableGrant,
  issueAccessToken,
  issueRefreshToken,
  type TokenIssuance,
} from "./issue-tokens.js";

export interface TokenRoutesDeps extends ClientAuthenticationDeps {
  readonly dpop: DpopVerification & { readonly nonceSource: DpopNonceSource };
  readonly tokens: TokenIssuance;
  readonly metrics: Pick<RegistryMetrics, "tokensIssued">;
  /** The registry's keys, to verify the access tokens agents exchange for per-task tokens. */
  readonly jwks: () => Promise<JsonWebKeySet>;
}

const tokenRequest = z.discriminatedUnion("grant_type", [
  z.object({ grant_type: z.literal(CIBA_GRANT_TYPE), auth_req_id: z.string().min(1).max(200) }),
  z.object({ grant_type: z.literal("refresh_token"), refresh_token: z.string().min(1).max(200) }),
  tokenExchangeParameters,
]);

const METRIC_GRANT_TYPES = {
  [CIBA_GRANT_TYPE]: "ciba",
  refresh_token: "refresh_token",
  [TOKEN_EXCHANGE_GRANT_TYPE]: "token_exchange",
} as const;

/**
 * The token endpoint. DPoP is required (with a server nonce), the agent authenticates with
 * `private_key_jwt`, and the proof must be signed by the agent's enrolled key, so every token
 * is bound to that key. CIBA polls answer per OpenID CIBA §11; refresh tokens renew access
 * tokens while the grant lives, without a new human approval; RFC 8693 token exchange trades an
 * access token for a narrower, shorter per-task token of the same grant.
 */
export function createTokenRouter(deps: TokenRoutesDeps): Router {
  const router = Router();
  router.post(ENDPOINTS.token, oauthErrors, formBody, async (req, res) => {
    res.setHeader("Cache-Control", "no-store");
    const now = deps.clock.now();
    res.setHeader("DPoP-Nonce", await deps.dpop.nonceSource.issue(now));
    // The proof first: a client told to fetch a nonce has not used up its client assertion.
    const proof = await verifyRequestDpop(req, deps.dpop, { requireNonce: true });
    const body = req.body as Record<string, unknown>;
    // A refresh request's grant is loaded with the agent, in the query that authenticates it.
    const refreshTokenHash =
      body.grant_type === "refresh_token" && typeof body.refresh_token === "string"
        ? hashSecret(body.refresh_token)
        : undefined;
    const agent = await authenticateAgent(req, deps, (id) =>
      loadAgentWithRefreshGrant(deps.db, id, refreshTokenHash),
    );
    if (proof.jkt !== agent.jkt) {
      throw new RegistryError(
        "ERR_INVALID_DPOP_PROOF",
        "The DPoP proof must be signed by the agent's enrolled key",
      );
    }
    const grantType = body.grant_type;
    // RFC 6749 §5.2: a missing parameter is an invalid_request, an unknown grant type is not.
    if (grantType === undefined)
      throw new RegistryError("ERR_INVALID_REQUEST", "grant_type is required");
    if (!(TOKEN_GRANT_TYPES as readonly unknown[]).includes(grantType)) {
      throw new RegistryError(
        "ERR_UNSUPPORTED_GRANT_TYPE",
        `Supported grant types: ${TOKEN_GRANT_TYPES.join(", ")}`,
      );
    }
    const params = parseInput(tokenRequest, req.body, "ERR_INVALID_REQUEST");
    const response = await respond(deps, agent, params, now);
    deps.metrics.tokensIssued.inc({ grant_type: METRIC_GRANT_TYPES[params.grant_type] });
    res.json(response);
  });
  return router;
}

function respond(
  deps: TokenRoutesDeps,
  agent: TokenClient,
  params: z.output<typeof tokenRequest>,
  now: Date,
) {
  switch (params.grant_type) {
    case CIBA_GRANT_TYPE:
      return redeemBackchannelRequest(deps, agent, params.auth_req_id, now);
    case "refresh_token":
      return refreshAccessToken(deps, agent, now);
    case TOKEN_EXCHANGE_GRANT_TYPE:
      return exchangeForTaskToken(deps, agent, params, now);
  }
}

async function redeemBackchannelRequest(
  deps: TokenRoutesDeps,
  agent: Agent,
  authReqId: string,
  now: Date,
) {
  return deps.db
    .transaction()
    .execute(async (trx) => {
      const request = await trx
        .selectFrom("grant_requests")
        .selectAll()
        .where("id", "=", authReqId)
        .where("agent_id", "=", agent.id)
        .forUpdate()
        .executeTakeFirst();
      if (request === undefined)
        throw new RegistryError("ERR_INVALID_GRANT", "Unknown auth_req_id");
      switch (request.status) {
        case "denied":
          throw new RegistryError(
            "ERR_ACCESS_DENIED",
            request.deny_reason ?? "The human denied the request",
          );
        case "expired":
          throw new RegistryError(
            "ERR_EXPIRED_TOKEN",
            "The request expired before the human decided",
          );
        case "pending": {
          if (request.expires_at <= now) {
            await trx
              .updateTable("grant_requests")
              .set({ status: "expired" })
              .where("id", "=", request.id)
              .execute();
            await enqueueAuditEvent(trx, {
              type: "grant.expired",
              actor: "system",
              subject: request.id,
              humanId: request.human_id,
              occurredAt: now,
            });
            return expiredAfterCommit();
          }
          const tooSoon =
            request.last_polled_at !== null &&
            now.getTime() - request.last_polled_at.getTime() < request.poll_interval_seconds * 1000;
          // CIBA §11: after slow_down the interval grows by 5 s for every later poll.
          const interval = request.poll_interval_seconds + (tooSoon ? 5 : 0);
          await trx
            .updateTable("grant_requests")
            .set({ last_polled_at: now, poll_interval_seconds: interval })
            .where("id", "=", request.id)
            .execute();
          return pendingAfterCommit(tooSoon, interval);
        }
        case "approved": {
          // CIBA §7.3: an auth_req_id is good until `expires_in`, approved or not.
          if (request.expires_at <= now) {
            throw new RegistryError(
              "ERR_EXPIRED_TOKEN",
              "The auth_req_id expired before it was exchanged for a token: make a new request",
            );
          }
          const redeemed = await trx
            .updateTable("grant_requests")
            .set({ redeemed_at: now })
            .where("id", "=", request.id)
            .where("redeemed_at", "is", null)
            .returning("id")
            .executeTakeFirst();
          if (redeemed === undefined)
            throw new RegistryError(
              "ERR_INVALID_GRANT",
              "This auth_req_id has already been exchanged",
            );
          const approved = await activeGrant(trx, request.id, agent.id, now);
          // Bound to the key that proved possession just now: after a rotation the grant's key
          // is retired (maybe because it leaked), and a token bound to it must never be issued.
          const grant = { ...approved, agent_jkt: agent.jkt };
          const issued = await issueAccessToken(trx, deps.tokens, grant, now);
          return tokenResponse(issued, await issueRefreshToken(trx, grant, now));
        }
      }
    })
    .then((outcome) => {
      // Pending/expired answers are errors, thrown only after their poll bookkeeping committed.
      if ("error" in outcome) throw outcome.error;
      return outcome;
    });
}

function pendingAfterCommit(tooSoon: boolean, interval: number) {
  return {
    error: tooSoon
      ? new RegistryError("ERR_SLOW_DOWN", `Poll at most every ${interval} seconds`)
      : new RegistryError("ERR_AUTHORIZATION_PENDING", "The human has not decided yet"),
  };
}

function expiredAfterCommit() {
  return {
    error: new RegistryError("ERR_EXPIRED_TOKEN", "The request expired before the human decided"),
  };
}

/** The agent and, for a refresh request, what its refresh token leads to. */
interface TokenClient extends Agent {
  readonly refresh: RefreshedGrant | undefined;
}

interface RefreshedGrant {
  readonly refreshRevokedAt: Date | null;
  readonly refreshExpiresAt: Date;
  readonly grant: UsableGrantRow | undefined;
}

type UsableGrantRow = Omit<IssuableGrant, "agent_jkt"> &
  Pick<Grant, "revoked_at"> & { readonly service_provider_disabled_at: Date | null };

/** The enabled agent and, when `refreshTokenHash` is its own refresh token's, the grant behind it. */
const agentWithRefreshGrant = prepareQuery((db, p: { agentId: string; refreshTokenHash: string }) =>
  db
    .selectFrom("agents as a")
    .leftJoin("refresh_tokens as rt", (join) =>
      join.onRef("rt.agent_id", "=", "a.id").on("rt.id_hash", "=", p.refreshTokenHash),
    )
    .leftJoin("grants as g", "g.id", "rt.grant_id")
    .leftJoin("service_providers as sp", "sp.id", "g.service_provider_id")
    .selectAll("a")
    .select([
      "rt.revoked_at as refresh_revoked_at",
      "rt.expires_at as refresh_expires_at",
      "g.id as grant_id",
      "g.human_id as grant_human_id",
      "g.service_provider_id as grant_service_provider_id",
      "g.authorization_details as grant_authorization_details",
      "g.expires_at as grant_expires_at",
      "g.revoked_at as grant_revoked_at",
      "sp.disabled_at as service_provider_disabled_at",
    ])
    .where("a.id", "=", p.agentId)
    .where("a.disabled_at", "is", null),
);

/** One query: the enabled agent, its refresh token (if given and its own), the grant behind it. */
async function loadAgentWithRefreshGrant(
  db: Db,
  agentId: string,
  refreshTokenHash: string | undefined,
): Promise<TokenClient | undefined> {
  const [row] = (
    await agentWithRefreshGrant.execute(db, { agentId, refreshTokenHash: refreshTokenHash ?? "" })
  ).rows;
  if (row === undefined) return undefined;
  const {
    refresh_revoked_at,
    refresh_expires_at,
    grant_id,
    grant_human_id,
    grant_service_provider_id,
    grant_authorization_details,
    grant_expires_at,
    grant_revoked_at,
    service_provider_disabled_at,
    ...agent
  } = row;
  if (refresh_expires_at === null) return { ...agent, refresh: undefined };
  return {
    ...agent,
    refresh: {
      refreshRevokedAt: refresh_revoked_at,
      refreshExpiresAt: refresh_expires_at,
      grant:
        grant_id === null
          ? undefined
          : {
              id: grant_id,
              agent_id: agent.id,
              human_id: grant_human_id as string,
              service_provider_id: grant_service_provider_id as string,
              authorization_details: grant_authorization_details as unknown[],
              expires_at: grant_expires_at as Date,
              revoked_at: grant_revoked_at,
              service_provider_disabled_at,
            },
    },
  };
}

/** No transaction: the loading query, a signature, and issueAccessToken's checked insert. */
async function refreshAccessToken(deps: TokenRoutesDeps, client: TokenClient, now: Date) {
  const { refresh } = client;
  if (
    refresh === undefined ||
    refresh.refreshRevokedAt !== null ||
    refresh.refreshExpiresAt <= now
  ) {
    throw new RegistryError(
      "ERR_INVALID_GRANT",
      "The refresh token is invalid, revoked or expired",
    );
  }
  const grant = assertUsableGrant(refresh.grant, now);
  // The grant binds tokens to the agent's key at approval; after a key rotation they follow it.
  const issued = await issueAccessToken(
    deps.db,
    deps.tokens,
    { ...grant, agent_jkt: client.jkt },
    now,
  );
  return tokenResponse(issued, undefined);
}

async function activeGrant(db: Db, requestId: string, agentId: string, now: Date) {
  const found = await db
    .selectFrom("grants as g")
    .innerJoin("service_providers as sp", "sp.id", "g.service_provider_id")
    .selectAll("g")
    .select("sp.disabled_at as service_provider_disabled_at")
    .where("g.agent_id", "=", agentId)
    .where("g.request_id", "=", requestId)
    .executeTakeFirst();
  return assertUsableGrant(found, now);
}

function assertUsableGrant<T extends UsableGrantRow>(found: T | undefined, now: Date): T {
  if (found === undefined || found.revoked_at !== null || found.expires_at <= now) {
    throw new RegistryError("ERR_INVALID_GRANT", "The grant is revoked or has expired");
  }
  // A disabled service provider accepts no new tokens, whatever was approved for it before.
  if (found.service_provider_disabled_at !== null) {
    throw new RegistryError("ERR_INVALID_GRANT", "The grant's service provider has been disabled");
  }
  return found;
}

function tokenResponse(
  issued: { accessToken: string; expiresIn: number; authorizationDetails: readonly unknown[] },
  refreshToken: string | undefined,
) {
  return {
    access_token: issued.accessToken,
    token_type: "DPoP",
    expires_in: issued.expiresIn,
    authorization_details: issued.authorizationDetails,
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
  };
}
