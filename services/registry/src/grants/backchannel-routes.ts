import { randomInt } from "node:crypto";
import { canonicalizeJson, toAuthorizationDetails } from "@agentauth/core";
import type { FixedWindowLimiter } from "@agentauth/state";
import { Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { ENDPOINTS } from "../discovery/discovery-routes.js";
import { RegistryError } from "../errors.js";
import { formBody, parseInput } from "../http/body.js";
import { oauthErrors } from "../http/error-middleware.js";
import { rateLimit } from "../http/rate-limit.js";
import { createId, hashSecret } from "../ids.js";
import {
  authenticateAgent,
  type ClientAuthenticationDeps,
} from "../oauth/client-authentication.js";
import {
  assertWithinCeiling,
  findEnabledServiceProvider,
} from "../service-providers/service-provider-routes.js";
import { parseAuthorizationDetailsParameter } from "./authorization-details-parameter.js";

export interface BackchannelRoutesDeps extends ClientAuthenticationDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  /** Counts requests per client IP, shared across replicas. */
  readonly limiter: FixedWindowLimiter;
}

/** Seconds an agent waits between polls of the token endpoint (CIBA `interval`). */
export const POLL_INTERVAL_SECONDS = 5;
const MAX_PENDING_PER_AGENT = 20;
const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";

const MAX_BINDING_MESSAGE_LENGTH = 100;
// Shown to the human next to the agent's own display: letters (with combining marks), digits,
// punctuation, symbols ("€", "+") and spaces; no control, format (bidi overrides, zero-width)
// or line-breaking characters that could make it read differently from what the agent shows.
const BINDING_MESSAGE_CHARACTER = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u;
/** Backchannel requests per client IP and minute, whoever sends them, before authentication. */
export const BACKCHANNEL_RATE_LIMIT = 300;

const requestParameters = z.object({
  // Only required here: what it holds is checked by `parseAuthorizationDetailsParameter`, which answers
  // `invalid_authorization_details` (RFC 9396 §5) rather than `invalid_request`.
  authorization_details: z.string(),
  /** RFC 8707: the service provider the token is for. */
  resource: z.string().min(1).max(200),
  // What it may hold is checked by `assertBindingMessage` (`invalid_binding_message`, CIBA §13).
  binding_message: z.string().optional(),
  /** CIBA: how long the request stays open for the human, in seconds. */
  requested_expiry: z.coerce.number().int().min(60).max(3600).default(600),
  /** How long the grant should last once approved, in seconds (at most 90 days). */
  grant_lifetime: z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(86_400),
});

/**
 * The CIBA backchannel authentication endpoint (poll mode): an agent asks for a grant, carrying
 * RFC 9396 `authorization_details` for one service provider; its human approves or denies it in
 * the approval app while the agent polls the token endpoint.
 */
export function createBackchannelRouter(deps: BackchannelRoutesDeps): Router {
  const router = Router();
  const limit = rateLimit(deps.limiter, {
    name: "backchannel",
    limit: BACKCHANNEL_RATE_LIMIT,
    windowSeconds: 60,
    clock: deps.clock,
  });
  router.post(ENDPOINTS.backchannel, oauthErrors, limit, formBody, async (req, res) => {
    const agent = await authenticateAgent(req, deps);
    const params = parseInput(requestParameters, req.body, "ERR_INVALID_REQUEST");
    if (params.binding_message !== undefined) assertBindingMessage(params.binding_message);
    const authorization = parseAuthorizationDetailsParameter(params.authorization_details);
    const provider = await findEnabledServiceProvider(deps.db, params.resource);
    assertWithinCeiling(authorization.capabilities, provider.ceiling);
    const now = deps.clock.now();
    const requestHash = hashSecret(
      canonicalizeJson({
        resource: provider.id,
        authorization_details: toAuthorizationDetails(authorization),
        binding_message: params.binding_message ?? null,
        grant_lifetime: params.grant_lifetime,
      }),
    );

    const request = await deps.db.transaction().execute(async (trx) => {
      // An identical request still pending is the same request: answer with it again.
      const identical = await trx
        .selectFrom("grant_requests")
        .selectAll()
        .where("agent_id", "=", agent.id)
        .where("request_hash", "=", requestHash)
        .where("status", "=", "pending")
        .where("expires_at", ">", now)
        .executeTakeFirst();
      if (identical !== undefined) return identical;
      const { pending } = await trx
        .selectFrom("grant_requests")
        .select((eb) => eb.fn.countAll<string>().as("pending"))
        .where("agent_id", "=", agent.id)
        .where("status", "=", "pending")
        .where("expires_at", ">", now)
        .executeTakeFirstOrThrow();
      if (Number(pending) >= MAX_PENDING_PER_AGENT) {
        // Room comes back when the oldest pending request expires (or sooner, when decided).
        const { next_expiry: nextExpiry } = await trx
          .selectFrom("grant_requests")
          .select((eb) => eb.fn.min("expires_at").as("next_expiry"))
          .where("agent_id", "=", agent.id)
          .where("status", "=", "pending")
          .where("expires_at", ">", now)
          .executeTakeFirstOrThrow();
        const retryAfter = Math.max(
          1,
          Math.ceil((new Date(nextExpiry ?? now).getTime() - now.getTime()) / 1000),
        );
        throw new RegistryError(
          "ERR_RATE_LIMITED",
          `At most ${MAX_PENDING_PER_AGENT} requests may wait for approval at once`,
          { headers: { "Retry-After": String(retryAfter) } },
        );
      }
      const row = {
        id: createId("areq"),
        agent_id: agent.id,
        human_id: agent.human_id,
        service_provider_id: provider.id,
        authorization_details: JSON.stringify(toAuthorizationDetails(authorization)),
        binding_message: params.binding_message ?? null,
        user_code: createUserCode(),
        requested_lifetime_seconds: params.grant_lifetime,
        request_hash: requestHash,
        status: "pending" as const,
        poll_interval_seconds: POLL_INTERVAL_SECONDS,
        created_at: now,
        expires_at: new Date(now.getTime() + params.requested_expiry * 1000),
      };
      // Expired requests left "pending" must not block an identical new one.
      const expired = await trx
        .updateTable("grant_requests")
        .set({ status: "expired" })
        .where("agent_id", "=", agent.id)
        .where("request_hash", "=", requestHash)
        .where("status", "=", "pending")
        .returning(["id", "human_id"])
        .execute();
      for (const stale of expired) {
        await enqueueAuditEvent(trx, {
          type: "grant.expired",
          actor: "system",
          subject: stale.id,
          humanId: stale.human_id,
          occurredAt: now,
        });
      }
      const inserted = await trx
        .insertInto("grant_requests")
        .values(row)
        .returningAll()
        .executeTakeFirstOrThrow();
      await enqueueAuditEvent(trx, {
        type: "grant.requested",
        actor: agent.id,
        subject: row.id,
        humanId: agent.human_id,
        occurredAt: now,
        data: {
          service_provider: provider.id,
          user_code: row.user_code,
          grant_lifetime: params.grant_lifetime,
        },
      });
      return inserted;
    });

    res.setHeader("Cache-Control", "no-store");
    res.json({
      auth_req_id: request.id,
      expires_in: Math.max(0, Math.floor((request.expires_at.getTime() - now.getTime()) / 1000)),
      interval: request.poll_interval_seconds,
      user_code: request.user_code,
      approval_uri: `${deps.publicUrl}/requests/${request.id}`,
    });
  });
  return router;
}

/** Refuses a binding message the human could misread: `ERR_INVALID_BINDING_MESSAGE`. */
function assertBindingMessage(message: string): void {
  const characters = [...message];
  if (characters.length > MAX_BINDING_MESSAGE_LENGTH) {
    throw new RegistryError(
      "ERR_INVALID_BINDING_MESSAGE",
      `binding_message must be at most ${MAX_BINDING_MESSAGE_LENGTH} characters; this one has ${characters.length}`,
    );
  }
  const refused = characters.find((character) => !BINDING_MESSAGE_CHARACTER.test(character));
  if (refused !== undefined) {
    const codePoint = (refused.codePointAt(0) as number).toString(16).toUpperCase();
    throw new RegistryError(
      "ERR_INVALID_BINDING_MESSAGE",
      `binding_message must be plain text on one line: U+${codePoint.padStart(4, "0")} is not ` +
        "a letter, digit, punctuation mark, symbol or space",
    );
  }
}

/** An 8-letter code the human compares with what the agent shows, e.g. `BDFG-HJKL`. */
function createUserCode(): string {
  let code = "";
  for (let i = 0; i < 8; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}
