import type { FixedWindowLimiter } from "@agentauth/state";
import { type Request, Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Clock } from "../clock.js";
import type { Database, Db } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { jsonBody, parseInput } from "../http/body.js";
import { rateLimit } from "../http/rate-limit.js";
import { type HumanAuthentication, signedInHuman } from "../http/signed-in-human.js";
import { createId, createSecret, hashSecret } from "../ids.js";
import { type DpopVerification, verifyRequestDpop } from "../oauth/request-dpop.js";
import { type RevocationPublisher, recordRevocation } from "../revocation/revocation-outbox.js";
import { disableAgent } from "./disable-agent.js";

export interface AgentRoutesDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly dpop: DpopVerification;
  readonly humans: HumanAuthentication;
  readonly limiter: FixedWindowLimiter;
  readonly revocations: RevocationPublisher;
}

const ENROLMENT_CODE_TTL_MS = 24 * 3600 * 1000;
const agentName = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters");

const enrolmentBody = z.strictObject({
  code: z.string().min(1).max(200),
  // The human names the agent when creating its code: an agent naming itself could pass for
  // another agent in the approval app ("Bank of X assistant").
  name: z
    .never({
      error:
        "is chosen by the human who created the enrolment code; only they can rename the agent",
    })
    .optional(),
});

/**
 * Agents: humans create one-time enrolment codes; an agent enrols with a code, proving it holds
 * its key with a DPoP proof (its id is then bound to that key's thumbprint); humans list,
 * rename and disable their agents; an agent rotates its key by signing with the old one.
 */
export function createAgentRouter(deps: AgentRoutesDeps): Router {
  const router = Router();
  const { requireHuman, checkOrigin } = deps.humans;

  router.post(
    "/api/agent-enrolment-codes",
    requireHuman,
    checkOrigin,
    jsonBody,
    async (req, res) => {
      const { name } = parseInput(z.strictObject({ name: agentName }), req.body);
      const human = signedInHuman(res);
      const now = deps.clock.now();
      const code = `aec_${createSecret(24)}`;
      const expiresAt = new Date(now.getTime() + ENROLMENT_CODE_TTL_MS);
      await deps.db.transaction().execute(async (trx) => {
        await trx
          .insertInto("agent_enrolment_codes")
          .values({
            code_hash: hashSecret(code),
            human_id: human.id,
            agent_name: name,
            created_at: now,
            expires_at: expiresAt,
          })
          .execute();
        await enqueueAuditEvent(trx, {
          type: "agent.enrolment_code_created",
          actor: human.id,
          humanId: human.id,
          occurredAt: now,
          data: { agent_name: name, expires_at: expiresAt.toISOString() },
        });
      });
      res.status(201).json({ code, agent_name: name, expires_at: expiresAt.toISOString() });
    },
  );

  router.post(
    "/agents/enroll",
    rateLimit(deps.limiter, {
      name: "agent-enrolment",
      limit: 20,
      windowSeconds: 60,
      clock: deps.clock,
    }),
    jsonBody,
    async (req, res) => {
      const { code } = parseInput(enrolmentBody, req.body);
      // The proof shows the caller holds the private key of the JWK it enrols.
      const proof = await verifyRequestDpop(req, deps.dpop);
      const now = deps.clock.now();
      const agent = await deps.db.transaction().execute(async (trx) => {
        const enrolment = await trx
          .deleteFrom("agent_enrolment_codes")
          .where("code_hash", "=", hashSecret(code))
          .returningAll()
          .executeTakeFirst();
        if (enrolment === undefined || enrolment.expires_at <= now) {
          throw new RegistryError(
            "ERR_ENROLMENT_CODE_INVALID",
            "The enrolment code is unknown, used or expired",
          );
        }
        const existing = await trx
          .selectFrom("agents")
          .select("id")
          .where("jkt", "=", proof.jkt)
          .executeTakeFirst();
        if (existing !== undefined)
          throw new RegistryError("ERR_CONFLICT", "This key is already enrolled as an agent");
        const id = createId("agt");
        const row = {
          id,
          human_id: enrolment.human_id,
          name: enrolment.agent_name,
          jkt: proof.jkt,
          public_jwk: JSON.stringify(proof.jwk),
          created_at: now,
        };
        await trx.insertInto("agents").values(row).execute();
        await enqueueAuditEvent(trx, {
          type: "agent.enrolled",
          actor: id,
          subject: id,
          humanId: enrolment.human_id,
          occurredAt: now,
          data: { name: row.name, jkt: proof.jkt },
        });
        return row;
      });
      res
        .status(201)
        .json({ agent_id: agent.id, client_id: agent.id, name: agent.name, jkt: agent.jkt });
    },
  );

  router.post("/agents/rotate-key", jsonBody, async (req, res) => {
    const { new_key_proof: newKeyProof } = parseInput(
      z.strictObject({ new_key_proof: z.string().min(1).max(4096) }),
      req.body,
    );
    // The DPoP header is signed with the current key; the body carries a proof by the new key
    // for the same request, so the agent shows it holds both.
    const current = await verifyRequestDpop(req, deps.dpop);
    const next = await verifyRequestDpop(req, deps.dpop, { proof: newKeyProof });
    if (next.jkt === current.jkt)
      throw new RegistryError("ERR_VALIDATION", "The new key must differ from the current key");
    const now = deps.clock.now();
    const agentId = await deps.db.transaction().execute(async (trx) => {
      const agent = await findEnabledAgentByJkt(trx, current.jkt);
      const taken = await trx
        .selectFrom("agents")
        .select("id")
        .where("jkt", "=", next.jkt)
        .executeTakeFirst();
      if (taken !== undefined)
        throw new RegistryError("ERR_CONFLICT", "The new key is already enrolled");
      await trx
        .updateTable("agents")
        .set({ jkt: next.jkt, public_jwk: JSON.stringify(next.jwk), key_rotated_at: now })
        .where("id", "=", agent.id)
        .execute();
      // Tokens bound to the old key die with it; refresh tokens now need the new key.
      await revokeAccessTokens(trx, { agentId: agent.id, now });
      await enqueueAuditEvent(trx, {
        type: "agent.key_rotated",
        actor: agent.id,
        subject: agent.id,
        humanId: agent.human_id,
        occurredAt: now,
        data: { previous_jkt: current.jkt, jkt: next.jkt },
      });
      return agent.id;
    });
    await deps.revocations.flush();
    res.json({ agent_id: agentId, jkt: next.jkt });
  });

  router.get("/api/agents", requireHuman, async (_req, res) => {
    const human = signedInHuman(res);
    const agents = await deps.db
      .selectFrom("agents")
      .select(["id", "name", "jkt", "created_at", "key_rotated_at", "disabled_at"])
      .where("human_id", "=", human.id)
      .orderBy("created_at", "desc")
      .execute();
    res.json({ agents: agents.map(presentAgent) });
  });

  router.patch("/api/agents/:agentId", requireHuman, checkOrigin, jsonBody, async (req, res) => {
    const { name } = parseInput(z.strictObject({ name: agentName }), req.body);
    const human = signedInHuman(res);
    const now = deps.clock.now();
    const agent = await deps.db.transaction().execute(async (trx) => {
      const found = await findOwnedAgent(trx, req, human.id);
      await trx.updateTable("agents").set({ name }).where("id", "=", found.id).execute();
      await enqueueAuditEvent(trx, {
        type: "agent.renamed",
        actor: human.id,
        subject: found.id,
        humanId: human.id,
        occurredAt: now,
        data: { name },
      });
      return { ...found, name };
    });
    res.json(presentAgent(agent));
  });

  router.post("/api/agents/:agentId/disable", requireHuman, checkOrigin, async (req, res) => {
    const human = signedInHuman(res);
    const now = deps.clock.now();
    const agent = await deps.db.transaction().execute(async (trx) => {
      const found = await findOwnedAgent(trx, req, human.id);
      if (found.disabled_at !== null) return found;
      await disableAgent(trx, { agentId: found.id, humanId: human.id, actor: human.id, now });
      return { ...found, disabled_at: now };
    });
    await deps.revocations.flush();
    res.json(presentAgent(agent));
  });

  return router;
}

async function findOwnedAgent(db: Db, req: Request, humanId: string) {
  const agent = await db
    .selectFrom("agents")
    .select(["id", "name", "jkt", "created_at", "key_rotated_at", "disabled_at"])
    .where("id", "=", String(req.params.agentId))
    .where("human_id", "=", humanId)
    .executeTakeFirst();
  if (agent === undefined) throw new RegistryError("ERR_NOT_FOUND", "No such agent");
  return agent;
}

/** The enabled agent holding the key with thumbprint `jkt`. */
export async function findEnabledAgentByJkt(db: Db, jkt: string) {
  const agent = await db
    .selectFrom("agents")
    .selectAll()
    .where("jkt", "=", jkt)
    .where("disabled_at", "is", null)
    .executeTakeFirst();
  if (agent === undefined)
    throw new RegistryError("ERR_INVALID_CLIENT", "No enabled agent holds this key");
  return agent;
}

/** Revokes an agent's live access tokens, one outbox entry each. */
async function revokeAccessTokens(
  db: Db,
  { agentId, now }: { agentId: string; now: Date },
): Promise<void> {
  const tokens = await db
    .updateTable("access_tokens")
    .set({ revoked_at: now })
    .where("agent_id", "=", agentId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now)
    .returning(["jti", "expires_at"])
    .execute();
  for (const token of tokens) {
    await recordRevocation(db, {
      kind: "token",
      subject: token.jti,
      now,
      expiresAt: token.expires_at,
    });
  }
}

function presentAgent(agent: {
  id: string;
  name: string;
  jkt: string;
  created_at: Date;
  key_rotated_at: Date | null;
  disabled_at: Date | null;
}) {
  return {
    id: agent.id,
    name: agent.name,
    jkt: agent.jkt,
    created_at: agent.created_at.toISOString(),
    key_rotated_at: agent.key_rotated_at?.toISOString() ?? null,
    disabled_at: agent.disabled_at?.toISOString() ?? null,
    status: agent.disabled_at === null ? "active" : "disabled",
  };
}
