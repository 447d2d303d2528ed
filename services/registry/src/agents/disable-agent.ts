import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Db } from "../db/database.js";
import { recordRevocation } from "../revocation/revocation-outbox.js";

export interface DisableAgentOptions {
  readonly agentId: string;
  /** The human the agent belongs to. */
  readonly humanId: string;
  /** Who disables it: its human, or an admin disabling that human. */
  readonly actor: string;
  readonly now: Date;
}

/**
 * Disables an enabled agent and revokes every grant, refresh token and access token it holds,
 * on `db` (the caller's transaction), with one agent revocation in the outbox for verifiers and
 * an `agent.disabled` audit event. Flush the revocation publisher after the commit.
 */
export async function disableAgent(db: Db, options: DisableAgentOptions): Promise<void> {
  const { agentId, now } = options;
  await db.updateTable("agents").set({ disabled_at: now }).where("id", "=", agentId).execute();
  for (const table of ["grants", "refresh_tokens", "access_tokens"] as const) {
    await db
      .updateTable(table)
      .set({ revoked_at: now })
      .where("agent_id", "=", agentId)
      .where("revoked_at", "is", null)
      .execute();
  }
  // One agent revocation stops every token of the agent on every verifier at once.
  await recordRevocation(db, { kind: "agent", subject: agentId, now });
  await enqueueAuditEvent(db, {
    type: "agent.disabled",
    actor: options.actor,
    subject: agentId,
    humanId: options.humanId,
    occurredAt: now,
  });
}
