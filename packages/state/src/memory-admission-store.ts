import { checkAdmission } from "./admission-request.js";
import type { AdmissionStore } from "./admission-store.js";
import { ExpiringMap } from "./expiring-map.js";
import { applyCounterPlan, planCounters } from "./memory-quota-counters.js";

export interface MemoryAdmissionStoreOptions {
  /** Clock for expiry. Default the system clock. */
  now?: () => Date;
  /** Live marks held at most; past it a fresh value is refused. Default 1,000,000. */
  maxMarks?: number;
  /** Live counters held at most; past it a call needing a new one is refused. Default 100,000. */
  maxCounters?: number;
}

/**
 * An in-process {@link AdmissionStore} for the single-process embedded default: marks and
 * counters as `createMemoryReplayStore` and `createMemoryQuotaStore` keep them, judged together
 * in one synchronous step (so atomic). When either map is full of live entries, a call that needs
 * room rejects with `ERR_STATE_CAPACITY_EXCEEDED` before changing anything: forgetting a live
 * mark would let a proof be replayed, forgetting a counter would hand its grant a fresh budget.
 */
export function createMemoryAdmissionStore(
  options: MemoryAdmissionStoreOptions = {},
): AdmissionStore {
  const now = options.now ?? (() => new Date());
  const marks = new ExpiringMap<true>({
    maxEntries: options.maxMarks ?? 1_000_000,
    label: "replay store",
  });
  const counters = new ExpiringMap<number>({
    maxEntries: options.maxCounters ?? 100_000,
    label: "quota store",
  });

  return {
    async admit(request) {
      const { replayKey, replayExpiresAtMs, quotas, dryRun } = checkAdmission(request);
      const nowMs = now().getTime();
      if (marks.get(replayKey, nowMs) !== undefined) return { replayed: true };
      const keepMark = replayExpiresAtMs > nowMs;
      const plan = planCounters(counters, quotas, dryRun, nowMs);
      // Room for everything first, so a refusal changes nothing.
      if (keepMark) marks.assertRoomFor(1, nowMs);
      counters.assertRoomFor(plan.created, nowMs);
      if (keepMark) marks.set(replayKey, true, replayExpiresAtMs, nowMs);
      applyCounterPlan(counters, plan, nowMs);
      return { replayed: false, ...plan.result };
    },
  };
}
