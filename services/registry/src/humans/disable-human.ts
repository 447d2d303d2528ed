import { disableAgent } from "../agents/disable-agent.js";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Db, Human } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { revokeSessions } from "./sessions.js";

export interface DisableHumanOptions {
  readonly humanId: string;
  /** The admin disabling them (possibly themself). */
  readonly actor: string;
  readonly now: Date;
}

/**
 * Disables a human on `db` (the caller's transaction): their sessions end, they can no longer
 * sign in, each of their agents is disabled with its grants and tokens revoked (as
 * {@link disableAgent} does), and the invitations and agent enrolment codes they made but nobody
 * used are deleted. Audited as `human.disabled`. The last enabled admin is never disabled
 * (`ERR_CONFLICT`); an unknown human is `ERR_NOT_FOUND`; a disabled one is returned unchanged.
 * Flush the revocation publisher after the commit.
 */
export async function disableHuman(db: Db, options: DisableHumanOptions): Promise<Human> {
  const { humanId, actor, now } = options;
  // Every disable locks the enabled admins first, in one order, then its target: two admins
  // disabling each other at once take turns, and the second sees the first's change.
  const admins = await db
    .selectFrom("humans")
    .select("id")
    .where("is_admin", "=", true)
    .where("disabled_at", "is", null)
    .orderBy("id")
    .forUpdate()
    .execute();
  const human = await db
    .selectFrom("humans")
    .selectAll()
    .where("id", "=", humanId)
    .forUpdate()
    .executeTakeFirst();
  if (human === undefined) throw new RegistryError("ERR_NOT_FOUND", "No such human");
  if (human.disabled_at !== null) return human;
  if (human.is_admin && admins.every((admin) => admin.id === human.id)) {
    throw new RegistryError(
      "ERR_CONFLICT",
      "This is the last administrator: invite another administrator before disabling them",
    );
  }

  await db.updateTable("humans").set({ disabled_at: now }).where("id", "=", human.id).execute();
  await revokeSessions(db, { humanId: human.id, actor, reason: "human_disabled", now });
  const agents = await db
    .selectFrom("agents")
    .select("id")
    .where("human_id", "=", human.id)
    .where("disabled_at", "is", null)
    .orderBy("id")
    .forUpdate()
    .execute();
  for (const agent of agents) {
    await disableAgent(db, { agentId: agent.id, humanId: human.id, actor, now });
  }
  // What they handed out but nobody used yet must not bring in anyone after them.
  await db.deleteFrom("human_invitations").where("invited_by", "=", human.id).execute();
  await db.deleteFrom("agent_enrolment_codes").where("human_id", "=", human.id).execute();
  await enqueueAuditEvent(db, {
    type: "human.disabled",
    actor,
    subject: human.id,
    humanId: human.id,
    occurredAt: now,
    data: { agents_disabled: agents.map((agent) => agent.id) },
  });
  return { ...human, disabled_at: now };
}
