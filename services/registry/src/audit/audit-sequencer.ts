import {
  canonicalizeJson,
  computeAuditEventHash,
  GENESIS_HASH,
  type JsonValue,
} from "@agentauth/core";
import { type Kysely, sql } from "kysely";
import { advisoryLockKey } from "../db/advisory-lock-key.js";
import type { Database, NewAuditEvent } from "../db/database.js";

/** Where the sequencer reports failed batches (a pino logger fits). */
export interface AuditSequencerLogger {
  error(details: Record<string, unknown>, message: string): void;
}

export interface CreateAuditSequencerOptions {
  db: Kysely<Database>;
  /** Most events chained per transaction; default 500, at most 5,000. */
  batchSize?: number;
  /** Pause after a batch that emptied the queue; default 100 ms. */
  intervalMs?: number;
  /** Default: `console.error`. */
  logger?: AuditSequencerLogger;
}

export interface AuditSequencer {
  /** Chains one batch of queued events: how many (0 when another replica is sequencing). */
  runOnce(): Promise<number>;
  /** Runs batches until `stop()`: back to back while batches are full, else every `intervalMs`. */
  start(): void;
  /** Stops the loop, waiting for a batch in flight. */
  stop(): Promise<void>;
}

const consoleLogger: AuditSequencerLogger = {
  error: (details, message) => console.error(message, details),
};

/**
 * Moves queued audit events into the hash chain. Business transactions only insert into
 * `audit_queue`, so they never wait for the chain head; the one sequencer holding an advisory
 * lock assigns sequence numbers and hashes in batches, so replicas never fork the chain.
 */
export function createAuditSequencer(options: CreateAuditSequencerOptions): AuditSequencer {
  const { db, batchSize = 500, intervalMs = 100, logger = consoleLogger } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5_000)
    throw new TypeError("batchSize must be an integer from 1 to 5000");
  if (!Number.isFinite(intervalMs) || intervalMs <= 0)
    throw new TypeError("intervalMs must be a positive number");

  // Read committed: each statement sees what the previous lock holder committed before
  // releasing the lock, so the head read below is current.
  const runOnce = () =>
    db
      .transaction()
      .setIsolationLevel("read committed")
      .execute(async (trx) => {
        const { rows } = await sql<{ acquired: boolean }>`
          SELECT pg_try_advisory_xact_lock(${advisoryLockKey("audit-sequencer")}) AS acquired
        `.execute(trx);
        if (rows[0]?.acquired !== true) return 0;
        const queued = await trx
          .deleteFrom("audit_queue")
          .where("id", "in", (eb) =>
            eb
              .selectFrom("audit_queue")
              .select("id")
              .orderBy("id")
              .limit(batchSize)
              .forUpdate()
              .skipLocked(),
          )
          .returning(["id", "event"])
          .execute();
        if (queued.length === 0) return 0;
        queued.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
        const head = await trx
          .selectFrom("audit_events")
          .select(["sequence", "hash"])
          .orderBy("sequence", "desc")
          .limit(1)
          .executeTakeFirst();
        let sequence = head === undefined ? 0 : Number(head.sequence);
        let previousHash = head?.hash ?? GENESIS_HASH;
        const links: NewAuditEvent[] = [];
        for (const { id, event } of queued) {
          // jsonb gives back JSON; enqueueAuditEvent stored a toChainedEventBody result.
          const body = event as JsonValue;
          const hash = await computeAuditEventHash(previousHash, body);
          sequence++;
          links.push({
            sequence: String(sequence),
            previous_hash: previousHash,
            hash,
            event: canonicalizeJson(body),
            ...columnsOf(id, event),
          });
          previousHash = hash;
        }
        await trx.insertInto("audit_events").values(links).execute();
        return links.length;
      });

  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  const tick = async () => {
    let chained = 0;
    try {
      chained = await runOnce();
    } catch (error) {
      // The batch rolled back: its events stay queued for the next attempt.
      logger.error({ err: error }, "Audit sequencer batch failed");
    }
    if (running) schedule(chained === batchSize ? 0 : intervalMs);
  };
  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      inFlight = tick();
    }, delay);
    // Background work: it must not keep a process alive on its own.
    timer.unref();
  };

  return {
    runOnce,
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await inFlight;
    },
  };
}

/** The searchable columns, copied from the queued body (the hashed text stays authoritative). */
function columnsOf(id: string, body: Record<string, unknown>) {
  const { type, actor, subject, human_id, occurred_at } = body;
  if (
    typeof type !== "string" ||
    typeof actor !== "string" ||
    !isStringOrNull(subject) ||
    !isStringOrNull(human_id) ||
    typeof occurred_at !== "string"
  ) {
    throw new Error(`audit_queue row ${id} does not hold an audit event body`);
  }
  return { type, actor, subject, human_id, occurred_at };
}

function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}
