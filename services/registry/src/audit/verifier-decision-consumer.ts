import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { canonicalizeJson, type JsonValue } from "@agentauth/core";
import type { DecisionLog, DeliveredDecision } from "@agentauth/state";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import type { VerifierDecisionMetrics } from "../operations/metrics.js";
import { type AuditEventInput, toChainedEventBody } from "./audit-event.js";
import { enqueueAuditEvents } from "./enqueue-audit-event.js";

export interface CreateVerifierDecisionConsumerOptions {
  readonly db: Kysely<Database>;
  readonly log: DecisionLog;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: VerifierDecisionMetrics;
  /** This replica's name in the log's consumer group; default `<host name>:<pid>`. */
  readonly consumer?: string;
  /** Records per batch (and per transaction); default 500. */
  readonly batchSize?: number;
  /** How long a read waits for records; default 1 s. */
  readonly blockMs?: number;
  /** When a record read but never acknowledged is delivered again; default 30 s. */
  readonly redeliverAfterMs?: number;
}

export interface VerifierDecisionConsumer {
  /**
   * Reads one batch, appends a `verifier.decision` audit event for each record not audited
   * before, in one transaction, then acknowledges the batch: how many records were delivered.
   */
  runOnce(): Promise<number>;
  /** Runs batches until `stop()`, backing off while the database or the log fails. */
  start(): void;
  /** Stops the loop, waiting for the batch in flight. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;

/**
 * Moves the decisions verifiers append to the {@link DecisionLog} into the audit chain. Each
 * delivered record is recorded in `verifier_decisions` in the transaction that queues its audit
 * event, and acknowledged only after that commit: while the registry is down or slow, records
 * wait in the log; if it stops between the commit and the acknowledgement, the records are
 * delivered again and skipped as duplicates. Never audited twice, never lost.
 */
export function createVerifierDecisionConsumer(
  options: CreateVerifierDecisionConsumerOptions,
): VerifierDecisionConsumer {
  const { db, log, clock, logger, metrics } = options;
  const readOptions = {
    consumer: options.consumer ?? `${hostname()}:${process.pid}`,
    count: options.batchSize ?? 500,
    blockMs: options.blockMs ?? 1000,
    redeliverAfterMs: options.redeliverAfterMs ?? 30_000,
  };

  const runOnce = async (): Promise<number> => {
    const delivered = await log.read(readOptions);
    const now = clock.now();
    if (delivered.length === 0) {
      metrics.lagSeconds.set(0);
      return 0;
    }
    const keyed = delivered.map((decision) => ({
      decision,
      // The record as delivered (the same JSON each time it is delivered again).
      hash: createHash("sha256").update(JSON.stringify(decision.record)).digest("hex"),
    }));
    const audited = await db.transaction().execute(async (trx) => {
      const fresh = await trx
        .insertInto("verifier_decisions")
        .values(
          keyed.map(({ decision, hash }) => ({
            delivery_id: decision.id,
            record_hash: hash,
            audited_at: now,
          })),
        )
        .onConflict((conflict) => conflict.columns(["delivery_id", "record_hash"]).doNothing())
        .returning(["delivery_id", "record_hash"])
        .execute();
      const isFresh = new Set(fresh.map((row) => `${row.delivery_id} ${row.record_hash}`));
      const events = keyed
        .filter(({ decision, hash }) => isFresh.has(`${decision.id} ${hash}`))
        .map(({ decision }) => toAuditEvent(decision, now, logger));
      await enqueueAuditEvents(trx, events);
      return events.length;
    });
    // Only now: a stop before this line leaves the batch to be delivered again, and skipped.
    await log.ack(delivered.map((decision) => decision.id));
    metrics.batches.inc();
    metrics.records.inc({ result: "audited" }, audited);
    metrics.records.inc({ result: "duplicate" }, delivered.length - audited);
    const oldest = Math.min(...delivered.map((decision) => Date.parse(decision.record.at)));
    metrics.lagSeconds.set(Math.max(0, (now.getTime() - oldest) / 1000));
    return delivered.length;
  };

  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const run = async () => {
    let backoffMs = 0;
    while (running) {
      try {
        await runOnce();
        backoffMs = 0;
      } catch (error) {
        metrics.failures.inc();
        backoffMs = Math.min(Math.max(backoffMs * 2, 1000), MAX_BACKOFF_MS);
        logger.warn(
          { err: error, retryInMs: backoffMs },
          "auditing verifier decisions failed; they stay in the decision log",
        );
        await pause(backoffMs);
      }
    }
  };

  return {
    runOnce,
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}

/** The `verifier.decision` event for a delivered record, keeping the record as it was sent. */
function toAuditEvent(delivered: DeliveredDecision, now: Date, logger: Logger): AuditEventInput {
  const { id, record } = delivered;
  const event: AuditEventInput = {
    type: "verifier.decision",
    // Whose request it was, when the verifier knew the agent; else the service provider asking.
    actor: record.agentId ?? record.serviceProviderId,
    ...(record.grantId === undefined ? {} : { subject: record.grantId }),
    ...(record.humanId === undefined ? {} : { humanId: record.humanId }),
    occurredAt: new Date(record.at),
    data: { delivery_id: id, decision: record as unknown as JsonValue },
  };
  try {
    canonicalizeJson(toChainedEventBody(event));
    return event;
  } catch {
    // JSON the chain cannot hash (a lone surrogate, an overflowing number) must not block the
    // records behind it: the arrival is audited, the content logged.
    logger.error({ deliveryId: id, record }, "verifier decision cannot be audited as sent");
    return {
      type: "verifier.decision",
      actor: "system",
      occurredAt: now,
      data: { delivery_id: id, malformed: true },
    };
  }
}
