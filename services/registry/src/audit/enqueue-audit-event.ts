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
  await enqueueAuditEvents(db, [event]);
}

/** {@link enqueueAuditEvent} for several events, in order, with one statement. */
export async function enqueueAuditEvents(
  db: Db,
  events: readonly AuditEventInput[],
): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto("audit_queue")
    .values(events.map((event) => ({ event: canonicalizeJson(toChainedEventBody(event)) })))
    .execute();
}
