import {
  type ChainedAuditEvent,
  canonicalizeJson,
  GENESIS_HASH,
  type JsonValue,
  type VerifyAuditChainResult,
  verifyAuditChain,
} from "@agentauth/core";
import type { Selectable } from "kysely";
import type { AuditEventsTable, Db } from "../db/database.js";

/** A chained event as stored: all anyone needs to re-check it with core's `verifyAuditChain`. */
export interface AuditLogEvent extends ChainedAuditEvent {
  /** The hashed body: `type`, `actor`, `subject`, `human_id`, `occurred_at`, `data`. */
  readonly event: { readonly [key: string]: JsonValue };
  readonly chainedAt: Date;
}

export interface ListAuditEventsOptions {
  /** Only events after this sequence number (keyset paging); default 0. */
  afterSequence?: number;
  /** At most 500. */
  limit: number;
  type?: string;
  humanId?: string;
  actor?: string;
  subject?: string;
}

export interface VerifyAuditLogOptions {
  /**
   * First sequence number to check; default 1. From a later one, the stored hash of the event
   * before it is trusted as the start (as a signed checkpoint would vouch for it).
   */
  fromSequence?: number;
  /** Events read per query; default 1,000. */
  pageSize?: number;
}

export interface AuditLog {
  /** Events in sequence order, filtered by equality on the given fields. */
  listEvents(options: ListAuditEventsOptions): Promise<AuditLogEvent[]>;
  /**
   * Re-hashes the stored chain page by page. Throws core's `AgentAuthError`
   * `ERR_AUDIT_CHAIN_BROKEN`, whose details give the first break's sequence and reason.
   */
  verifyChain(options?: VerifyAuditLogOptions): Promise<VerifyAuditChainResult>;
}

// What re-hashing a row needs: its link, its text and the columns that must agree with it.
const LINK_COLUMNS = [
  "sequence",
  "previous_hash",
  "hash",
  "event",
  "type",
  "actor",
  "subject",
  "human_id",
  "occurred_at",
] as const;

type StoredLink = Pick<Selectable<AuditEventsTable>, (typeof LINK_COLUMNS)[number]>;

/** Reads and verifies the audit chain. */
export function createAuditLog(db: Db): AuditLog {
  async function* readLinks(
    fromSequence: number,
    pageSize: number,
  ): AsyncGenerator<ChainedAuditEvent> {
    let after = fromSequence - 1;
    for (;;) {
      const page = await db
        .selectFrom("audit_events")
        .select(LINK_COLUMNS)
        .where("sequence", ">", String(after))
        .orderBy("sequence")
        .limit(pageSize)
        .execute();
      for (const row of page) yield toChainLink(row);
      const last = page.at(-1);
      if (last === undefined || page.length < pageSize) return;
      after = Number(last.sequence);
    }
  }

  return {
    async listEvents(options) {
      const { afterSequence = 0, limit, type, humanId, actor, subject } = options;
      assertSequence(afterSequence, 0, "afterSequence");
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw new TypeError("limit must be an integer from 1 to 500");
      let query = db
        .selectFrom("audit_events")
        .select(["sequence", "previous_hash", "hash", "event", "chained_at"])
        .where("sequence", ">", String(afterSequence))
        .orderBy("sequence")
        .limit(limit);
      if (type !== undefined) query = query.where("type", "=", type);
      if (humanId !== undefined) query = query.where("human_id", "=", humanId);
      if (actor !== undefined) query = query.where("actor", "=", actor);
      if (subject !== undefined) query = query.where("subject", "=", subject);
      const rows = await query.execute();
      return rows.map((row) => ({
        sequence: Number(row.sequence),
        previousHash: row.previous_hash,
        hash: row.hash,
        event: JSON.parse(row.event) as AuditLogEvent["event"],
        chainedAt: row.chained_at,
      }));
    },

    async verifyChain(options = {}) {
      const { fromSequence = 1, pageSize = 1_000 } = options;
      assertSequence(fromSequence, 1, "fromSequence");
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000)
        throw new TypeError("pageSize must be an integer from 1 to 10000");
      let previousHash = GENESIS_HASH;
      if (fromSequence > 1) {
        const before = await db
          .selectFrom("audit_events")
          .select("hash")
          .where("sequence", "=", String(fromSequence - 1))
          .executeTakeFirst();
        if (before === undefined)
          throw new RangeError(`No audit event ${fromSequence - 1} to start after`);
        previousHash = before.hash;
      }
      return verifyAuditChain(readLinks(fromSequence, pageSize), {
        previousHash,
        firstSequence: fromSequence,
      });
    },
  };
}

/**
 * The link core re-hashes. Only a row whose text is the canonical form of its body, and whose
 * searchable columns match that body, is linked by the body; any other row (edited text, a
 * rewritten `human_id` hiding it from a filter) is linked by its raw text as a JSON string, which
 * cannot hash to the stored hash, so core reports `hash_mismatch` at that sequence.
 */
function toChainLink(row: StoredLink): ChainedAuditEvent {
  const body = parseCanonicalBody(row.event);
  const intact =
    body !== undefined &&
    body.type === row.type &&
    body.actor === row.actor &&
    body.subject === row.subject &&
    body.human_id === row.human_id &&
    body.occurred_at === row.occurred_at.toISOString();
  return {
    sequence: Number(row.sequence),
    previousHash: row.previous_hash,
    hash: row.hash,
    event: intact ? body : row.event,
  };
}

function parseCanonicalBody(text: string): { [key: string]: JsonValue } | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
    return canonicalizeJson(body) === text ? (body as { [key: string]: JsonValue }) : undefined;
  } catch {
    // Not JSON, or not canonicalisable (a lone surrogate): not what was hashed.
    return undefined;
  }
}

function assertSequence(value: number, min: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < min)
    throw new TypeError(`${name} must be an integer of at least ${min}`);
}
