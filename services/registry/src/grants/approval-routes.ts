import { randomBytes } from "node:crypto";
import {
  assertNarrowerOrEqual,
  computeGrantDigest,
  deriveApprovalChallenge,
  encodeBase64Url,
  type FinalGrant,
  parseAuthorizationDetails,
  toAuthorizationDetails,
} from "@agentauth/core";
import { Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Clock } from "../clock.js";
import type { Database, Db, GrantRequest } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { jsonBody, parseInput } from "../http/body.js";
import { type HumanAuthentication, signedInHuman } from "../http/signed-in-human.js";
import { createId } from "../ids.js";
import { type RevocationPublisher, recordRevocation } from "../revocation/revocation-outbox.js";
import { presentAuthorization } from "./present-grant.js";

/** What a verified passkey assertion leaves behind: the receipt anyone can re-verify. */
export interface PasskeyAssertionReceipt {
  readonly credentialId: string;
  readonly authenticatorData: string;
  readonly clientDataJSON: string;
  readonly signature: string;
}

/**
 * Verifies a passkey assertion by `humanId` over `expectedChallenge` (base64url), updating the
 * passkey's counter in `db` (the caller's transaction). Throws `ERR_WEBAUTHN_FAILED`.
 */
export type VerifyPasskeyAssertion = (
  db: Db,
  input: { humanId: string; expectedChallenge: string; response: unknown },
) => Promise<PasskeyAssertionReceipt>;

export interface ApprovalRoutesDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly rpId: string;
  readonly humans: HumanAuthentication;
  readonly verifyPasskeyAssertion: VerifyPasskeyAssertion;
  readonly revocations: RevocationPublisher;
}

const CHALLENGE_TTL_MS = 5 * 60 * 1000;

const challengeBody = z.strictObject({
  /** The narrowed grant; omitted means exactly what was requested. */
  authorization_details: z.array(z.unknown()).optional(),
  /** Seconds the grant should last; at most what the agent asked for. */
  grant_lifetime: z.number().int().min(60).optional(),
});

const approveBody = z.strictObject({
  challenge_id: z.string().min(1).max(100),
  response: z.record(z.string(), z.unknown()),
});
const denyBody = z.strictObject({ reason: z.string().trim().min(1).max(500) });
const listQuery = z.object({
  status: z.enum(["pending", "approved", "denied", "expired"]).optional(),
});

/**
 * How a human decides a grant request: review it, optionally narrow it (never widen: checked
 * here, whatever the UI does), get a WebAuthn challenge derived from the digest of exactly that
 * final grant, and approve with a passkey assertion over it — or deny with a reason. Also the
 * human's grants, their receipts, and revocation.
 */
export function createApprovalRouter(deps: ApprovalRoutesDeps): Router {
  const router = Router();
  const { requireHuman, checkOrigin } = deps.humans;
  router.use(["/api/grant-requests", "/api/grants"], requireHuman);

  router.get("/api/grant-requests", async (req, res) => {
    const human = signedInHuman(res);
    const { status } = parseInput(listQuery, req.query);
    const now = deps.clock.now();
    let query = deps.db
      .selectFrom("grant_requests as r")
      .innerJoin("agents as a", "a.id", "r.agent_id")
      .innerJoin("service_providers as sp", "sp.id", "r.service_provider_id")
      .selectAll("r")
      .select(["a.name as agent_name", "sp.name as service_provider_name"])
      .where("r.human_id", "=", human.id)
      .orderBy("r.created_at", "desc")
      .limit(200);
    // A request past its expiry may still read "pending" until someone touches it: filter by
    // the status the human is shown, not the stored one.
    if (status === "pending") {
      query = query.where("r.status", "=", "pending").where("r.expires_at", ">", now);
    } else if (status === "expired") {
      query = query.where((eb) =>
        eb.or([
          eb("r.status", "=", "expired"),
          eb.and([eb("r.status", "=", "pending"), eb("r.expires_at", "<=", now)]),
        ]),
      );
    } else if (status !== undefined) {
      query = query.where("r.status", "=", status);
    }
    const rows = await query.execute();
    res.json({ requests: rows.map((row) => presentRequest(row, now)) });
  });

  router.get("/api/grant-requests/:id", async (req, res) => {
    const request = await findRequest(deps.db, String(req.params.id), signedInHuman(res).id);
    res.json(presentRequest(request, deps.clock.now()));
  });

  router.post(
    "/api/grant-requests/:id/approval-challenge",
    checkOrigin,
    jsonBody,
    async (req, res) => {
      const body = parseInput(challengeBody, req.body);
      const human = signedInHuman(res);
      const now = deps.clock.now();
      const request = await findRequest(deps.db, String(req.params.id), human.id);
      assertDecidable(request, now);
      assertServiceProviderEnabled(request);
      const requested = parseAuthorizationDetails(request.authorization_details);
      const narrowed =
        body.authorization_details === undefined
          ? requested
          : parseAuthorizationDetails(body.authorization_details);
      assertNarrowerOrEqual(narrowed, requested);
      const lifetime = body.grant_lifetime ?? request.requested_lifetime_seconds;
      if (lifetime > request.requested_lifetime_seconds) {
        throw new RegistryError(
          "ERR_GRANT_WIDENED",
          "The grant may not last longer than the agent asked",
          {
            details: { path: "grant_lifetime", reason: "longer than requested" },
          },
        );
      }
      const agent = await deps.db
        .selectFrom("agents")
        .select(["jkt", "disabled_at"])
        .where("id", "=", request.agent_id)
        .executeTakeFirstOrThrow();
      if (agent.disabled_at !== null)
        throw new RegistryError("ERR_CONFLICT", "The agent has been disabled");
      const finalGrant: FinalGrant = {
        requestId: request.id,
        agentJkt: agent.jkt,
        serviceProviderId: request.service_provider_id,
        authorization: narrowed,
        // Whole seconds, as the digest has them.
        expiresAt: new Date(Math.floor(now.getTime() / 1000 + lifetime) * 1000),
      };
      const digest = await computeGrantDigest(finalGrant);
      const nonce = randomBytes(16).toString("base64url");
      const challenge = encodeBase64Url(await deriveApprovalChallenge(digest, nonce));
      const challengeId = createId("wch");
      const passkeys = await deps.db
        .selectFrom("passkeys")
        .select(["credential_id", "transports"])
        .where("human_id", "=", human.id)
        .execute();
      await deps.db
        .insertInto("webauthn_challenges")
        .values({
          id: challengeId,
          challenge,
          purpose: "approval",
          human_id: human.id,
          context: JSON.stringify({
            request_id: request.id,
            digest,
            nonce,
            agent_jkt: finalGrant.agentJkt,
            authorization_details: toAuthorizationDetails(narrowed),
            expires_at: finalGrant.expiresAt.toISOString(),
          }),
          expires_at: new Date(now.getTime() + CHALLENGE_TTL_MS),
        })
        .execute();
      res.json({
        challenge_id: challengeId,
        digest,
        final_grant: {
          ...presentAuthorization(toAuthorizationDetails(narrowed)),
          service_provider: request.service_provider_id,
          expires_at: finalGrant.expiresAt.toISOString(),
        },
        options: {
          challenge,
          rpId: deps.rpId,
          timeout: CHALLENGE_TTL_MS,
          userVerification: "required",
          allowCredentials: passkeys.map((passkey) => ({
            id: passkey.credential_id,
            type: "public-key",
            transports: passkey.transports,
          })),
        },
      });
    },
  );

  router.post("/api/grant-requests/:id/approve", checkOrigin, jsonBody, async (req, res) => {
    const body = parseInput(approveBody, req.body);
    const human = signedInHuman(res);
    const now = deps.clock.now();
    // Consumed on its own, before the transaction: a failed assertion must not roll it back
    // into a challenge that can be tried again.
    const challenge = await deps.db
      .deleteFrom("webauthn_challenges")
      .where("id", "=", body.challenge_id)
      .where("purpose", "=", "approval")
      .where("human_id", "=", human.id)
      .returningAll()
      .executeTakeFirst();
    if (challenge === undefined || challenge.expires_at <= now) {
      throw new RegistryError(
        "ERR_WEBAUTHN_FAILED",
        "The approval challenge is unknown, used or expired: ask for a new one",
      );
    }
    const grant = await deps.db.transaction().execute(async (trx) => {
      const context = challenge.context as unknown as ApprovalContext;
      if (context.request_id !== String(req.params.id)) {
        throw new RegistryError(
          "ERR_WEBAUTHN_FAILED",
          "The approval challenge is for another request",
        );
      }
      const request = await trx
        .selectFrom("grant_requests")
        .selectAll()
        .where("id", "=", context.request_id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      assertDecidable(request, now);
      // Shared lock: a disable of the service provider waits for this approval, or precedes it.
      assertServiceProviderEnabled(
        await trx
          .selectFrom("service_providers")
          .select(["id as service_provider_id", "disabled_at as service_provider_disabled_at"])
          .where("id", "=", request.service_provider_id)
          .forShare()
          .executeTakeFirstOrThrow(),
      );
      // The grant must still be exactly what the passkey signed: same agent key, same digest.
      const agent = await trx
        .selectFrom("agents")
        .select(["jkt", "disabled_at"])
        .where("id", "=", request.agent_id)
        .executeTakeFirstOrThrow();
      const finalGrant: FinalGrant = {
        requestId: request.id,
        agentJkt: agent.jkt,
        serviceProviderId: request.service_provider_id,
        authorization: parseAuthorizationDetails(context.authorization_details),
        expiresAt: new Date(context.expires_at),
      };
      if (agent.disabled_at !== null || (await computeGrantDigest(finalGrant)) !== context.digest) {
        throw new RegistryError(
          "ERR_CONFLICT",
          "The request changed after it was shown (the agent's key or status changed): review it again",
        );
      }
      const receipt = await deps.verifyPasskeyAssertion(trx, {
        humanId: human.id,
        expectedChallenge: challenge.challenge,
        response: body.response,
      });
      const grantId = createId("grt");
      await trx
        .insertInto("grants")
        .values({
          id: grantId,
          request_id: request.id,
          agent_id: request.agent_id,
          human_id: human.id,
          service_provider_id: request.service_provider_id,
          agent_jkt: agent.jkt,
          authorization_details: JSON.stringify(context.authorization_details),
          digest: context.digest,
          receipt: JSON.stringify({
            credential_id: receipt.credentialId,
            authenticator_data: receipt.authenticatorData,
            client_data_json: receipt.clientDataJSON,
            signature: receipt.signature,
            nonce: context.nonce,
            challenge: challenge.challenge,
          }),
          created_at: now,
          expires_at: finalGrant.expiresAt,
        })
        .execute();
      await trx
        .updateTable("grant_requests")
        .set({ status: "approved", decided_at: now })
        .where("id", "=", request.id)
        .execute();
      await enqueueAuditEvent(trx, {
        type: "grant.approved",
        actor: human.id,
        subject: grantId,
        humanId: human.id,
        occurredAt: now,
        data: {
          request_id: request.id,
          digest: context.digest,
          credential_id: receipt.credentialId,
        },
      });
      return {
        id: grantId,
        digest: context.digest,
        expires_at: finalGrant.expiresAt.toISOString(),
      };
    });
    res.status(201).json(grant);
  });

  router.post("/api/grant-requests/:id/deny", checkOrigin, jsonBody, async (req, res) => {
    const { reason } = parseInput(denyBody, req.body);
    const human = signedInHuman(res);
    const now = deps.clock.now();
    await deps.db.transaction().execute(async (trx) => {
      const request = await findRequest(trx, String(req.params.id), human.id);
      assertDecidable(request, now);
      await trx
        .updateTable("grant_requests")
        .set({ status: "denied", decided_at: now, deny_reason: reason })
        .where("id", "=", request.id)
        .where("status", "=", "pending")
        .execute();
      await enqueueAuditEvent(trx, {
        type: "grant.denied",
        actor: human.id,
        subject: request.id,
        humanId: human.id,
        occurredAt: now,
        data: { reason },
      });
    });
    res.status(204).end();
  });

  router.get("/api/grants", async (_req, res) => {
    const human = signedInHuman(res);
    const rows = await deps.db
      .selectFrom("grants as g")
      .innerJoin("agents as a", "a.id", "g.agent_id")
      .selectAll("g")
      .select("a.name as agent_name")
      .where("g.human_id", "=", human.id)
      .orderBy("g.created_at", "desc")
      .limit(500)
      .execute();
    const now = deps.clock.now();
    res.json({
      grants: rows.map((grant) => ({
        id: grant.id,
        request_id: grant.request_id,
        agent_id: grant.agent_id,
        agent_name: grant.agent_name,
        service_provider: grant.service_provider_id,
        ...presentAuthorization(grant.authorization_details),
        digest: grant.digest,
        created_at: grant.created_at.toISOString(),
        expires_at: grant.expires_at.toISOString(),
        revoked_at: grant.revoked_at?.toISOString() ?? null,
        status:
          grant.revoked_at !== null ? "revoked" : grant.expires_at <= now ? "expired" : "active",
      })),
    });
  });

  router.get("/api/grants/:id/receipt", async (req, res) => {
    const human = signedInHuman(res);
    const grant = await deps.db
      .selectFrom("grants")
      .selectAll()
      .where("id", "=", String(req.params.id))
      .where("human_id", "=", human.id)
      .executeTakeFirst();
    if (grant === undefined) throw new RegistryError("ERR_NOT_FOUND", "No such grant");
    const passkey = await deps.db
      .selectFrom("passkeys")
      .select("public_key")
      .where("credential_id", "=", String(grant.receipt.credential_id))
      .executeTakeFirst();
    // Everything needed to re-verify the approval offline (docs/protocol.md §3).
    res.json({
      grant_id: grant.id,
      final_grant: {
        request_id: grant.request_id,
        agent_jkt: grant.agent_jkt,
        service_provider: grant.service_provider_id,
        authorization_details: grant.authorization_details,
        expires_at: Math.floor(grant.expires_at.getTime() / 1000),
      },
      digest: grant.digest,
      receipt: grant.receipt,
      // A removed passkey leaves the receipt checkable only by whoever kept its public key.
      passkey_public_key:
        passkey === undefined ? null : Buffer.from(passkey.public_key).toString("base64url"),
    });
  });

  router.post("/api/grants/:id/revoke", checkOrigin, async (req, res) => {
    const human = signedInHuman(res);
    const now = deps.clock.now();
    await deps.db.transaction().execute(async (trx) => {
      const grant = await trx
        .updateTable("grants")
        .set({ revoked_at: now })
        .where("id", "=", String(req.params.id))
        .where("human_id", "=", human.id)
        .where("revoked_at", "is", null)
        .returning(["id", "agent_id"])
        .executeTakeFirst();
      if (grant === undefined) throw new RegistryError("ERR_NOT_FOUND", "No such active grant");
      await trx
        .updateTable("refresh_tokens")
        .set({ revoked_at: now })
        .where("grant_id", "=", grant.id)
        .where("revoked_at", "is", null)
        .execute();
      await trx
        .updateTable("access_tokens")
        .set({ revoked_at: now })
        .where("grant_id", "=", grant.id)
        .where("revoked_at", "is", null)
        .execute();
      await recordRevocation(trx, { kind: "grant", subject: grant.id, now });
      await enqueueAuditEvent(trx, {
        type: "grant.revoked",
        actor: human.id,
        subject: grant.id,
        humanId: human.id,
        occurredAt: now,
      });
    });
    await deps.revocations.flush();
    res.status(204).end();
  });

  return router;
}

interface ApprovalContext {
  readonly request_id: string;
  readonly digest: string;
  readonly nonce: string;
  readonly agent_jkt: string;
  readonly authorization_details: unknown[];
  readonly expires_at: string;
}

async function findRequest(db: Db, id: string, humanId: string) {
  const request = await db
    .selectFrom("grant_requests as r")
    .innerJoin("agents as a", "a.id", "r.agent_id")
    .innerJoin("service_providers as sp", "sp.id", "r.service_provider_id")
    .selectAll("r")
    .select([
      "a.name as agent_name",
      "sp.name as service_provider_name",
      "sp.disabled_at as service_provider_disabled_at",
    ])
    .where("r.id", "=", id)
    .where("r.human_id", "=", humanId)
    .executeTakeFirst();
  if (request === undefined) throw new RegistryError("ERR_NOT_FOUND", "No such request");
  return request;
}

function assertDecidable(request: GrantRequest, now: Date): void {
  if (request.status !== "pending")
    throw new RegistryError("ERR_REQUEST_NOT_PENDING", `The request is already ${request.status}`);
  if (request.expires_at <= now)
    throw new RegistryError("ERR_REQUEST_EXPIRED", "The request has expired");
}

/** A request for a service provider disabled since it was made can no longer be approved. */
function assertServiceProviderEnabled(request: {
  service_provider_id: string;
  service_provider_disabled_at: Date | null;
}): void {
  if (request.service_provider_disabled_at !== null) {
    throw new RegistryError(
      "ERR_CONFLICT",
      `The service provider ${request.service_provider_id} has been disabled since the request was made: it can no longer be approved`,
      { details: { reason: "service_provider_disabled" } },
    );
  }
}

function presentRequest(
  request: GrantRequest & { agent_name: string; service_provider_name: string },
  now: Date,
) {
  const expired = request.status === "pending" && request.expires_at <= now;
  return {
    id: request.id,
    status: expired ? "expired" : request.status,
    agent: { id: request.agent_id, name: request.agent_name },
    service_provider: { id: request.service_provider_id, name: request.service_provider_name },
    user_code: request.user_code,
    binding_message: request.binding_message,
    grant_lifetime: request.requested_lifetime_seconds,
    ...presentAuthorization(request.authorization_details),
    created_at: request.created_at.toISOString(),
    expires_at: request.expires_at.toISOString(),
    decided_at: request.decided_at?.toISOString() ?? null,
    deny_reason: request.deny_reason,
  };
}
