import type { ExpiringMap } from "./expiring-map.js";
import type { CheckedQuotaEntry } from "./quota-consume.js";
import type { QuotaResult } from "./quota-store.js";

/** What one quota call would do to in-process counters: its result and the writes it needs. */
export interface CounterPlan {
  readonly result: QuotaResult;
  /** Counters to set, with their new values; empty when refused or a dry run. */
  readonly writes: readonly { key: string; count: number; expiresAtMs: number }[];
  /** How many of the writes create a counter (which must fit in the map). */
  readonly created: number;
}

/**
 * Judges `entries` against in-process `counters` at `nowMs` without changing them, so a caller
 * can check capacity (and anything else) before {@link applyCounterPlan} changes anything.
 */
export function planCounters(
  counters: ExpiringMap<number>,
  entries: readonly CheckedQuotaEntry[],
  dryRun: boolean,
  nowMs: number,
): CounterPlan {
  const before = entries.map((entry) => counters.get(entry.key, nowMs)?.value ?? 0);
  const withinLimits = entries.every(
    (entry, index) => entry.increment <= entry.limit - (before[index] ?? 0),
  );
  if (!withinLimits || dryRun) return { result: { withinLimits, before }, writes: [], created: 0 };
  // A zero increment changes nothing, and a window that has ended keeps nothing (as Redis
  // deletes a key whose PEXPIREAT has passed).
  const writes = entries
    .map((entry, index) => ({
      key: entry.key,
      count: (before[index] ?? 0) + entry.increment,
      increment: entry.increment,
      expiresAtMs: entry.expiresAtMs,
    }))
    .filter((write) => write.increment > 0 && write.expiresAtMs > nowMs);
  // Counters are stored only above 0, so one that was at 0 is new.
  const created = writes.filter((write) => write.count === write.increment).length;
  return { result: { withinLimits, before }, writes, created };
}

/** Makes the writes of a plan from {@link planCounters}. */
export function applyCounterPlan(
  counters: ExpiringMap<number>,
  plan: CounterPlan,
  nowMs: number,
): void {
  for (const write of plan.writes) counters.set(write.key, write.count, write.expiresAtMs, nowMs);
}
