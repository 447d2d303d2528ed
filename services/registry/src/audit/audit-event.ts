import type { JsonValue } from "@agentauth/core";

/** Every kind of state change the registry audits. Stable strings: they are in the chain. */
export const AUDIT_EVENT_TYPES = [
  "human.enrolled",
  "human.invited",
  "human.disabled",
  "passkey.added",
  "passkey.removed",
  "session.started",
  "session.revoked",
  "service_provider.created",
  "service_provider.disabled",
  "service_provider.key_created",
  "service_provider.key_revoked",
  "agent.enrolment_code_created",
  "agent.enrolled",
  "agent.renamed",
  "agent.key_rotated",
  "agent.disabled",
  "grant.requested",
  "grant.approved",
  "grant.denied",
  "grant.expired",
  "grant.revoked",
  "token.issued",
  "token.revoked",
  "signing_key.rotated",
  "verifier.decision",
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** What business code records; the sequencer adds sequence and hashes. */
export interface AuditEventInput {
  readonly type: AuditEventType;
  /** Who did it: a human, agent or service provider id, or "system". */
  readonly actor: string;
  /** What it was done to (an id), when there is one. */
  readonly subject?: string;
  /** Whose activity this is (the human owning the agent, grant…), for filtering. */
  readonly humanId?: string;
  readonly occurredAt: Date;
  /** Event details. Never secrets. */
  readonly data?: Readonly<Record<string, JsonValue>>;
}

/**
 * The JSON object that is canonicalised and hashed into the chain. Times are ISO 8601 strings
 * with milliseconds, so the hashed form does not depend on how a database returns timestamps.
 */
export function toChainedEventBody(event: AuditEventInput): { [key: string]: JsonValue } {
  return {
    type: event.type,
    actor: event.actor,
    subject: event.subject ?? null,
    human_id: event.humanId ?? null,
    occurred_at: event.occurredAt.toISOString(),
    data: (event.data ?? {}) as { [key: string]: JsonValue },
  };
}
