import { ExpiringMap } from "./expiring-map.js";
import { applyCounterPlan, planCounters } from "./memory-quota-counters.js";
import { checkQuotaConsume } from "./quota-consume.js";
import type { QuotaStore } from "./quota-store.js";

export interface MemoryQuotaStoreOptions {
  /** Clock for expiry. Default the system clock. */
  now?: () => Date;
  /** Live counters held at most; past it `consume` on a new counter rejects. Default 100,000. */
  maxEntries?: number;
}

/**
 * An in-process {@link QuotaStore} for the single-process embedded default. Each call runs
 * synchronously once its arguments are checked, so it is atomic. A counter is forgotten at its
 * entry's `expiresAt`; a zero increment, or one whose window has already ended, writes nothing.
 * When it holds `maxEntries` live counters, a call that would add one rejects with
 * `ERR_STATE_CAPACITY_EXCEEDED` before changing any, rather than forget a counter, which would
 * hand its grant a fresh budget.
 */
export function createMemoryQuotaStore(options: MemoryQuotaStoreOptions = {}): QuotaStore {
  const now = options.now ?? (() => new Date());
  const counters = new ExpiringMap<number>({
    maxEntries: options.maxEntries ?? 100_000,
    label: "quota store",
  });

  return {
    async consume(entries, consumeOptions) {
      const { entries: checked, dryRun } = checkQuotaConsume(entries, consumeOptions);
      const nowMs = now().getTime();
      const plan = planCounters(counters, checked, dryRun, nowMs);
      counters.assertRoomFor(plan.created, nowMs);
      applyCounterPlan(counters, plan, nowMs);
      return plan.result;
    },
  };
}
