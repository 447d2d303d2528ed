import type { DpopNonceSource } from "@agentauth/core";
import { Router } from "express";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Agent, Db, Grant } from "../db/database.js";
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
import { issueAccessToken, issueRefreshToken, type TokenIssuance } from "./issue-tokens.js";

export const CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba";

export interface TokenRoutesDeps extends ClientAuthenticationDeps {
  readonly dpop: DpopVerification & { readonly nonceSource: DpopNonceSource };
  readonly tokens: TokenIssuance;
  readonly metrics: Pick<RegistryMetrics, "tokensIssued">;
}

const tokenRequest = z.discriminatedUnion("grant_type", [
  z.object({ grant_type: z.literal(CIBA_GRANT_TYPE), auth_req_id: z.string().min(1).max(200) }),
  z.object({ grant_type: z.literal("refresh_token"), refresh_token: z.string().min(1).max(200) }),
]);

/**
 * The token endpoint. DPoP is required (with a server nonce), the agent authenticates with
 * `private_key_jwt`, and the proof must be signed by the agent's enrolled key, so every token
 * is bound to that key. CIBA polls answer per OpenID CIBA §11; refresh tokens renew access
 * tokens while the grant lives, without a new human approval.
 */
export function createTokenRouter(deps: TokenRoutesDeps): Router {
  const router = Router();
  router.post(ENDPOINTS.token, oauthErrors, formBody, async (req, res) => {
    res.setHeader("Cache-Control", "no-store");
    const now = deps.clock.now();
    res.setHeader("DPoP-Nonce", await deps.dpop.nonceSource.issue(now));
    // The proof first: a client told to fetch a nonce has not used up its client assertion.
    const proof = await verifyRequestDpop(req, deps.dpop, { requireNonce: true });
    const agent = await authenticateAgent(req, deps);
    if (proof.jkt !== agent.jkt) {
      throw new RegistryError(
        "ERR_INVALID_DPOP_PROOF",
        "The DPoP proof must be signed by the agent's enrolled key",
      );
    }
    const grantType = (req.body as Record<string, unknown>).grant_type;
    // RFC 6749 §5.2: a missing parameter is an invalid_request, an unknown grant type is not.
    if (grantType === undefined)
      throw new RegistryError("ERR_INVALID_REQUEST", "grant_type is required");
    if (grantType !== CIBA_GRANT_TYPE && grantType !== "refresh_token") {
      throw new RegistryError(
        "ERR_UNSUPPORTED_GRANT_TYPE",
        `Supported grant types: ${CIBA_GRANT_TYPE}, refresh_token`,
      );
    }
    const params = parseInput(tokenRequest, req.body, "ERR_INVALID_REQUEST");
    const response =
      params.grant_type === CIBA_GRANT_TYPE
        ? await redeemBackchannelRequest(deps, agent, params.auth_req_id, now)
        : await refreshAccessToken(deps, agent, params.refresh_token, now);
    deps.metrics.tokensIssued.inc({
      grant_type: params.grant_type === CIBA_GRANT_TYPE ? "ciba" : "refresh_token",
    });
    res.json(response);
  });
  return router;
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
          const approved = await activeGrant(
            trx,
            { requestId: request.id, agentId: agent.id },
            now,
          );
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

async function refreshAccessToken(
  deps: TokenRoutesDeps,
  agent: Agent,
  refreshToken: string,
  now: Date,
) {
  return deps.db.transaction().execute(async (trx) => {
    const stored = await trx
      .selectFrom("refresh_tokens")
      .selectAll()
      .where("id_hash", "=", hashSecret(refreshToken))
      .where("agent_id", "=", agent.id)
      .executeTakeFirst();
    if (stored === undefined || stored.revoked_at !== null || stored.expires_at <= now) {
      throw new RegistryError(
        "ERR_INVALID_GRANT",
        "The refresh token is invalid, revoked or expired",
      );
    }
    const grant = await activeGrant(trx, { grantId: stored.grant_id, agentId: agent.id }, now);
    // The grant binds tokens to the agent's key at approval; after a key rotation they follow it.
    const issued = await issueAccessToken(
      trx,
      deps.tokens,
      { ...grant, agent_jkt: agent.jkt },
      now,
    );
    return tokenResponse(issued, undefined);
  });
}

async function activeGrant(
  db: Db,
  where: { requestId: string; agentId: string } | { grantId: string; agentId: string },
  now: Date,
): Promise<Grant> {
  const query = db
    .selectFrom("grants as g")
    .innerJoin("service_providers as sp", "sp.id", "g.service_provider_id")
    .selectAll("g")
    .select("sp.disabled_at as service_provider_disabled_at")
    .where("g.agent_id", "=", where.agentId);
  const found = await ("requestId" in where
    ? query.where("g.request_id", "=", where.requestId)
    : query.where("g.id", "=", where.grantId)
  ).executeTakeFirst();
  if (found === undefined || found.revoked_at !== null || found.expires_at <= now) {
    throw new RegistryError("ERR_INVALID_GRANT", "The grant is revoked or has expired");
  }
  const { service_provider_disabled_at: providerDisabledAt, ...grant } = found;
  // A disabled service provider accepts no new tokens, whatever was approved for it before.
  if (providerDisabledAt !== null) {
    throw new RegistryError("ERR_INVALID_GRANT", "The grant's service provider has been disabled");
  }
  return grant;
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
