import type { CapabilityRequest } from "@agentauth/core";
import type { DecisionLog, DecisionRecord } from "@agentauth/state";
import type { VerifyAnswer } from "../verification/verify-request.js";

/** Which allowed decisions reach the audit log (denials and step-ups always do). */
export type AllowAuditMode = "all" | "aggregate" | "none";

export interface DecisionRecorderOptions {
  readonly log: DecisionLog;
  readonly allows: AllowAuditMode;
  /** How often buffered records are sent. Default 1 s. */
  readonly flushIntervalMs?: number;
  /** Records per `append`. Default 500. */
  readonly maxBatch?: number;
  /** Records kept while the log is unreachable; past this the oldest are dropped. Default 100,000. */
  readonly maxBuffered?: number;
  /** A failed append (records stay buffered and are retried). */
  readonly onError?: (error: unknown) => void;
  readonly onDropped?: (count: number) => void;
}

/**
 * Sends verifier decisions to the registry's audit log off the hot path: `record` only buffers;
 * a timer appends batches to the decision log (a Redis stream the registry consumes), so a slow
 * or absent registry never slows a verification. Denials and step-ups are each recorded; allows
 * are recorded each ("all"), counted per grant, agent and action between flushes ("aggregate")
 * or not at all ("none"). A failed append keeps its records for the next flush.
 */
export interface DecisionRecorder {
  record(
    serviceProviderId: string,
    action: CapabilityRequest,
    answer: VerifyAnswer,
    at: Date,
  ): void;
  /** Sends everything buffered now. */
  flush(): Promise<void>;
  start(): void;
  /** Stops the timer and sends what is buffered (once). */
  stop(): Promise<void>;
  readonly buffered: number;
}

export function createDecisionRecorder(options: DecisionRecorderOptions): DecisionRecorder {
  const flushIntervalMs = options.flushIntervalMs ?? 1_000;
  const maxBatch = options.maxBatch ?? 500;
  const maxBuffered = options.maxBuffered ?? 100_000;
  let buffer: DecisionRecord[] = [];
  const aggregated = new Map<string, { record: DecisionRecord; count: number }>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;

  const dropOldest = () => {
    const excess = buffer.length - maxBuffered;
    if (excess > 0) {
      buffer.splice(0, excess);
      options.onDropped?.(excess);
    }
  };
  const keep = (records: DecisionRecord[]) => {
    buffer = buffer.length === 0 ? records : buffer.concat(records);
    dropOldest();
  };

  const drainAggregates = () => {
    if (aggregated.size === 0) return;
    const records = [...aggregated.values()].map(({ record, count }) => ({ ...record, count }));
    aggregated.clear();
    keep(records);
  };

  const flushOnce = async () => {
    drainAggregates();
    while (buffer.length > 0) {
      // Out of the buffer while it is sent: records kept meanwhile, and any dropped to make room
      // for them, are others than these.
      const batch = buffer.slice(0, maxBatch);
      buffer = buffer.slice(batch.length);
      try {
        await options.log.append(batch);
      } catch (error) {
        // Kept, ahead of what came since: retried at the next flush.
        buffer = batch.concat(buffer);
        dropOldest();
        options.onError?.(error);
        return;
      }
    }
  };

  return {
    record(serviceProviderId, action, answer, at) {
      const allowed = answer.decision === "allow";
      if (allowed && options.allows === "none") return;
      if (allowed && options.allows === "aggregate") {
        // The hot path: most allows only add to a count, with nothing else built.
        const key = `${serviceProviderId}\n${answer.grant}\n${answer.agent}\n${action.action}\n${action.resource}`;
        const known = aggregated.get(key);
        if (known !== undefined) {
          known.count++;
          return;
        }
        // One record stands for many allows: the amounts are in the spend counters, not here.
        const record = toRecord(serviceProviderId, action, answer, at, false);
        aggregated.set(key, { record, count: 1 });
        return;
      }
      keep([toRecord(serviceProviderId, action, answer, at, true)]);
    },
    flush() {
      flushing ??= flushOnce().finally(() => {
        flushing = undefined;
      });
      return flushing;
    },
    start() {
      timer = setInterval(() => void this.flush(), flushIntervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await flushing;
      await this.flush();
    },
    get buffered() {
      return buffer.length + aggregated.size;
    },
  };
}

function toRecord(
  serviceProviderId: string,
  action: CapabilityRequest,
  answer: VerifyAnswer,
  at: Date,
  withAmount: boolean,
): DecisionRecord {
  return {
    at: at.toISOString(),
    outcome:
      answer.decision === "allow"
        ? "allow"
        : answer.reason === "step_up_required"
          ? "step_up"
          : "deny",
    reason: answer.reason,
    serviceProviderId,
    ...(answer.agent === undefined ? {} : { agentId: answer.agent }),
    ...(answer.grant === undefined ? {} : { grantId: answer.grant }),
    ...(answer.human === undefined ? {} : { humanId: answer.human }),
    ...(answer.token_id === undefined ? {} : { tokenId: answer.token_id }),
    action: {
      type: action.action,
      resource: action.resource,
      ...(withAmount && action.amount !== undefined ? { amount: action.amount } : {}),
    },
  };
}
