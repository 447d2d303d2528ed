import { canonicalizeJson } from "@agentauth/core";
import type { Db } from "../db/database.js";
import { type AuditEventInput, toChainedEventBody } from "./audit-event.js";

/**
 * Queues `event` for the audit chain on `db`, the business transaction that makes the change:
 * the event commits or rolls back with it. The sequencer chains it within about a second.
 * Throws `ERR_JSON_NOT_CANONICALIZABLE` for data that cannot be hashed, failing the change
 * rather than leaving it unaudited.
 */
export async function enqueueAuditEvent(db: Db, event: AuditEventInput): Promise<void> {
  await db
    .insertInto("audit_queue")
    .values({ event: canonicalizeJson(toChainedEventBody(event)) })
    .execute();
}
