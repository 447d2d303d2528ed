import { ExpiringMap } from "./expiring-map.js";
import {
  type FixedWindowLimiter,
  placeFixedWindowHit,
  toFixedWindowHitResult,
} from "./fixed-window-limiter.js";

export interface MemoryFixedWindowLimiterOptions {
  /** Live counters held at most; past it `hit` rejects. Default 100,000. */
  maxEntries?: number;
}

/**
 * An in-process {@link FixedWindowLimiter} for the single-process embedded default. Counters are
 * kept per (key, window) and dropped when their window ends. When it holds `maxEntries` live
 * counters, `hit` on a new key rejects with `ERR_STATE_CAPACITY_EXCEEDED` rather than forget a
 * counter, which would hand its key a fresh allowance.
 */
export function createMemoryFixedWindowLimiter(
  options: MemoryFixedWindowLimiterOptions = {},
): FixedWindowLimiter {
  const counters = new ExpiringMap<number>({
    maxEntries: options.maxEntries ?? 100_000,
    label: "rate limiter",
  });

  return {
    async hit(key, limit, windowSeconds, now) {
      const { counterId, endMs, nowMs } = placeFixedWindowHit(key, limit, windowSeconds, now);
      const count = (counters.get(counterId, nowMs)?.value ?? 0) + 1;
      counters.set(counterId, count, endMs, nowMs);
      return toFixedWindowHitResult(count, limit, endMs, nowMs);
    },
  };
}
