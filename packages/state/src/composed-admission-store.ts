import { checkAdmission } from "./admission-request.js";
import type { AdmissionStore } from "./admission-store.js";
import type { QuotaStore } from "./quota-store.js";
import type { ReplayStore } from "./replay-store.js";

/**
 * An {@link AdmissionStore} over a separate {@link ReplayStore} and {@link QuotaStore}: the value
 * is marked first (a replay ends there, counting nothing), then its counters are consumed. Each
 * step is atomic across replicas, so the outcomes are an admission store's — a value admitted
 * once, exactly a counter's limit allowed — but it takes two steps where the Redis and
 * in-process admission stores take one; for state wired before those existed.
 */
export function createComposedAdmissionStore(stores: {
  readonly replayStore: ReplayStore;
  readonly quotaStore: QuotaStore;
}): AdmissionStore {
  const { replayStore, quotaStore } = stores;
  return {
    async admit(request) {
      const { quotas, dryRun } = checkAdmission(request);
      if (!(await replayStore.markUsed(request.replayKey, request.replayExpiresAt)))
        return { replayed: true };
      if (quotas.length === 0) return { replayed: false, withinLimits: true, before: [] };
      const result = await quotaStore.consume(request.quotas, { dryRun });
      return { replayed: false, ...result };
    },
  };
}
