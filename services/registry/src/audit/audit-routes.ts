import { isAgentAuthError } from "@agentauth/core";
import { Router } from "express";
import { z } from "zod";
import type { Db } from "../db/database.js";
import { parseInput } from "../http/body.js";
import { type HumanAuthentication, signedInHuman } from "../http/signed-in-human.js";
import { listAuditCheckpoints, verifyAuditCheckpoints } from "./audit-checkpoints.js";
import type { AuditLog } from "./audit-log.js";

export interface AuditRoutesDeps {
  readonly auditLog: AuditLog;
  readonly db: Db;
  readonly humans: HumanAuthentication;
}

const listQuery = z.strictObject({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  type: z.string().max(100).optional(),
  actor: z.string().max(200).optional(),
  subject: z.string().max(200).optional(),
  /** Admins may read everyone's events. */
  scope: z.enum(["mine", "all"]).default("mine"),
});

const checkpointsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(20),
});

/** Paging and filtering the audit log, and verifying its hash chain. */
export function createAuditRouter(deps: AuditRoutesDeps): Router {
  const router = Router();
  router.use("/api/audit", deps.humans.requireHuman);

  router.get("/api/audit/events", async (req, res) => {
    const query = parseInput(listQuery, req.query);
    const human = signedInHuman(res);
    const everyone = query.scope === "all" && human.is_admin;
    const events = await deps.auditLog.listEvents({
      limit: query.limit,
      ...(query.after === undefined ? {} : { afterSequence: query.after }),
      ...(query.type === undefined ? {} : { type: query.type }),
      ...(query.actor === undefined ? {} : { actor: query.actor }),
      ...(query.subject === undefined ? {} : { subject: query.subject }),
      ...(everyone ? {} : { humanId: human.id }),
    });
    res.json({
      events: events.map((event) => ({
        sequence: event.sequence,
        previous_hash: event.previousHash,
        hash: event.hash,
        event: event.event,
        chained_at: event.chainedAt.toISOString(),
      })),
      next_after: events.at(-1)?.sequence ?? null,
    });
  });

  router.get("/api/audit/checkpoints", async (req, res) => {
    const { limit } = parseInput(checkpointsQuery, req.query);
    const checkpoints = await listAuditCheckpoints(deps.db, limit);
    res.json({
      checkpoints: checkpoints.map((checkpoint) => ({
        sequence: checkpoint.sequence,
        hash: checkpoint.hash,
        kid: checkpoint.kid,
        jws: checkpoint.signature,
        signed_at: checkpoint.createdAt.toISOString(),
      })),
    });
  });

  router.get("/api/audit/verify", async (_req, res) => {
    try {
      const result = await deps.auditLog.verifyChain();
      const checkpoints = await verifyAuditCheckpoints(deps.db);
      res.json({
        status: checkpoints.firstProblem === undefined ? "intact" : "broken",
        count: result.count,
        last_sequence: result.lastSequence,
        head_hash: result.headHash,
        checkpoints: {
          verified: checkpoints.verified,
          latest:
            checkpoints.latest === undefined
              ? null
              : {
                  sequence: checkpoints.latest.sequence,
                  signed_at: checkpoints.latest.signedAt.toISOString(),
                },
          ...(checkpoints.firstProblem === undefined
            ? {}
            : { first_problem: checkpoints.firstProblem }),
        },
      });
    } catch (error) {
      if (!isAgentAuthError(error, "ERR_AUDIT_CHAIN_BROKEN")) throw error;
      // A broken chain is the answer to the question asked, not a failed request.
      res.json({ status: "broken", first_break: error.details });
    }
  });

  return router;
}
