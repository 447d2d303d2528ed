import { ExpiringMap } from "./expiring-map.js";
import type { ReplayStore } from "./replay-store.js";
import { assertNonEmptyString, toEpochMs } from "./validate.js";

export interface MemoryReplayStoreOptions {
  /** Clock for expiry. Default the system clock. */
  now?: () => Date;
  /** Live marks held at most; past it `markUsed` rejects. Default 1,000,000. */
  maxEntries?: number;
}

/**
 * An in-process {@link ReplayStore} for the single-process embedded default. When it holds
 * `maxEntries` live marks, `markUsed` rejects with `ERR_STATE_CAPACITY_EXCEEDED` instead of
 * evicting one: forgetting a live DPoP `jti` would let that proof be replayed, while refusing a
 * new one only fails a request closed.
 */
export function createMemoryReplayStore(options: MemoryReplayStoreOptions = {}): ReplayStore {
  const now = options.now ?? (() => new Date());
  const marks = new ExpiringMap<true>({
    maxEntries: options.maxEntries ?? 1_000_000,
    label: "replay store",
  });

  return {
    async markUsed(key, expiresAt) {
      assertNonEmptyString(key, "key");
      const expiresAtMs = toEpochMs(expiresAt, "expiresAt");
      const nowMs = now().getTime();
      if (marks.get(key, nowMs) !== undefined) return false;
      if (expiresAtMs > nowMs) marks.set(key, true, expiresAtMs, nowMs);
      return true;
    },
  };
}
