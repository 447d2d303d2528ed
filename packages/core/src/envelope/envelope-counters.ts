/**
 * The caller's usage snapshot for one grant, taken BEFORE the request being evaluated and
 * counting only requests that were allowed. Each counter belongs to the current fixed window
 * (see {@link currentWindowStart}); a counter of a past window is 0 for the current one.
 */
export interface EnvelopeCounters {
  /** Allowed requests in the current `rate_limit.window_seconds` window. */
  requestsInWindow: number;
  /** Allowed requests in the current 1-second window. */
  requestsInBurstWindow: number;
  /** Minor units spent in each spend cap's current window, keyed by {@link spendCounterKey}. */
  spent: Readonly<Record<string, number>>;
}

/** The key of a spend counter: `spendCounterKey("EUR", 86400)` is `"EUR:86400"`. */
export function spendCounterKey(currency: string, windowSeconds: number): string {
  return `${currency}:${windowSeconds}`;
}

/**
 * Start, in Unix seconds, of the fixed `windowSeconds` window containing `now`. Windows are
 * aligned to the Unix epoch (`floor(now_s / windowSeconds) * windowSeconds`), so every replica
 * and every counter agrees on them without coordination.
 */
export function currentWindowStart(windowSeconds: number, now: Date): number {
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 1) {
    throw new TypeError("windowSeconds must be a positive integer");
  }
  const nowSeconds = Math.floor(readTime(now) / 1000);
  return Math.floor(nowSeconds / windowSeconds) * windowSeconds;
}

/** Milliseconds since the epoch of `now`, or a `TypeError` for anything but a valid Date. */
export function readTime(now: Date): number {
  const time = now instanceof Date ? now.getTime() : Number.NaN;
  if (Number.isNaN(time)) throw new TypeError("now must be a valid Date");
  return time;
}
