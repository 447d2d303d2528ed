/**
 * One counter a request would use up: a rate-limit window, a burst window or a spend cap window
 * of one grant. Windows are fixed and epoch-aligned, so the window start is part of the key and
 * the counter is forgotten when the window ends.
 */
export interface QuotaEntry {
  /** Names the counter and its window, e.g. `grant:<id>:rate:60:<windowStart>`. */
  readonly key: string;
  /** What this request adds: 1 for a request, minor units for a payment. Safe integer ≥ 0. */
  readonly increment: number;
  /** The counter may reach this value but never exceed it. Safe integer ≥ 0. */
  readonly limit: number;
  /** When the counter's window ends: after this it may be forgotten (and reads as 0). */
  readonly expiresAt: Date;
}

export interface QuotaResult {
  /** Every counter had room: `before[i] + increment <= limit` for all entries. */
  readonly withinLimits: boolean;
  /** Each counter's value before this call, in the order of the entries given. */
  readonly before: readonly number[];
}

/**
 * Atomic multi-counter quotas shared by every replica (the envelope's rate, burst and spend
 * limits). `consume` checks all entries and adds every increment only if all of them fit, as one
 * atomic step: N replicas hit concurrently allow exactly the limit, and a refused request uses up
 * nothing. With `dryRun` it only reports (a step-up answer must not spend the budget).
 */
export interface QuotaStore {
  consume(entries: readonly QuotaEntry[], options?: { dryRun?: boolean }): Promise<QuotaResult>;
}
