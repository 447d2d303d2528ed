import { performance } from "node:perf_hooks";
import type { DecisionLog, DecisionRecord, DeliveredDecision } from "./decision-log.js";
import {
  checkDecisionIds,
  checkDecisionReadOptions,
  encodeDecisionRecords,
} from "./decision-record.js";
import { assertPositiveInteger } from "./validate.js";

export interface MemoryDecisionLogOptions {
  /** Clock for redelivery: a record is due again `redeliverAfterMs` after it was delivered. */
  now?: () => Date;
  /**
   * Records kept at most, delivered or not; past it the oldest are dropped, as the Redis
   * adapter trims its stream. Default 1,000,000.
   */
  maxLength?: number;
}

/**
 * An in-process {@link DecisionLog} for the single-process embedded default, with the delivery
 * rules of the Redis adapter: records go out in order, a delivered one is pending until `ack`ed
 * and due again `redeliverAfterMs` after its last delivery (by the injected clock), to whichever
 * consumer reads next; `ack` drops a record. A waiting read wakes on the next `append` or after
 * `blockMs` of real time.
 */
export function createMemoryDecisionLog(options: MemoryDecisionLogOptions = {}): DecisionLog {
  const now = options.now ?? (() => new Date());
  const maxLength = options.maxLength ?? 1_000_000;
  assertPositiveInteger(maxLength, "maxLength");
  // Records as JSON, by id. Delivery is in order, so every pending id is older than every
  // undelivered one, and both maps iterate oldest first.
  const undelivered = new Map<string, string>();
  const pending = new Map<string, { json: string; deliveredAtMs: number }>();
  const wakers = new Set<() => void>();
  let sequence = 0;

  function deliver(count: number, redeliverAfterMs: number): DeliveredDecision[] {
    const nowMs = now().getTime();
    // A copy each time, as a consumer through Redis would get: changing it changes nothing here.
    const delivered = (id: string, json: string) => ({
      id,
      record: JSON.parse(json) as DecisionRecord,
    });
    const out: DeliveredDecision[] = [];
    for (const [id, entry] of pending) {
      if (out.length === count) return out;
      if (nowMs - entry.deliveredAtMs < redeliverAfterMs) continue;
      entry.deliveredAtMs = nowMs;
      out.push(delivered(id, entry.json));
    }
    for (const [id, json] of undelivered) {
      if (out.length === count) return out;
      undelivered.delete(id);
      pending.set(id, { json, deliveredAtMs: nowMs });
      out.push(delivered(id, json));
    }
    return out;
  }

  /** Resolves on the next `append`, or after `ms`. */
  function appended(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  }

  return {
    async append(records) {
      for (const json of encodeDecisionRecords(records)) {
        sequence += 1;
        undelivered.set(`0-${sequence}`, json);
      }
      while (pending.size + undelivered.size > maxLength) {
        const oldest = pending.size > 0 ? pending : undelivered;
        oldest.delete(oldest.keys().next().value as string);
      }
      for (const wake of wakers) wake();
    },
    async read(readOptions) {
      const { count, blockMs, redeliverAfterMs } = checkDecisionReadOptions(readOptions);
      const deadline = performance.now() + blockMs;
      for (;;) {
        const out = deliver(count, redeliverAfterMs);
        const waitMs = deadline - performance.now();
        if (out.length > 0 || waitMs <= 0) return out;
        await appended(waitMs);
      }
    },
    async ack(ids) {
      checkDecisionIds(ids);
      for (const id of ids) {
        pending.delete(id);
        undelivered.delete(id);
      }
    },
  };
}
