import { assertNonEmptyString, assertPositiveInteger, toEpochMs } from "./validate.js";
/** The outcome of one {@link FixedWindowLimiter.hit}. */
export interface FixedWindowHitResult {
  /** Whether this hit is within the limit. */
  allowed: boolean;
  /** Hits still allowed in the current window. */
  remaining: number;
  /** Seconds until the window resets when refused (for `Retry-After`); 0 when allowed. */
  retryAfterSeconds: number;
}

/**
 * Endpoint rate limits (enrolment, sign-in, grant requests) over fixed windows aligned to the
 * epoch, counted atomically across replicas.
 */
export interface FixedWindowLimiter {
  /**
   * Counts one hit on `key` in the `windowSeconds`-long window containing `now`, and says whether
   * it is within `limit`. Refused hits count too, so hammering does not help.
   */
  hit(key: string, limit: number, windowSeconds: number, now: Date): Promise<FixedWindowHitResult>;
}

/** The fixed window containing `nowMs`: [startMs, endMs). */
/** One hit's window, from checked arguments: its counter id (key, length, start) and end. */
export interface FixedWindowHit {
  readonly counterId: string;
  readonly endMs: number;
  readonly nowMs: number;
}

/**
 * Checks a hit's arguments and places it in its window. Counters are keyed by window, so hits
 * that arrive out of order count in the window their `now` falls in, and limits of different
 * lengths on one key stay apart.
 */
export function placeFixedWindowHit(
  key: string,
  limit: number,
  windowSeconds: number,
  now: Date,
): FixedWindowHit {
  assertNonEmptyString(key, "key");
  assertPositiveInteger(limit, "limit");
  assertPositiveInteger(windowSeconds, "windowSeconds");
  const nowMs = toEpochMs(now, "now");
  const { startMs, endMs } = fixedWindowAt(nowMs, windowSeconds);
  return { counterId: `${key}:${windowSeconds}:${startMs}`, endMs, nowMs };
}

export function fixedWindowAt(
  nowMs: number,
  windowSeconds: number,
): { startMs: number; endMs: number } {
  const windowMs = windowSeconds * 1000;
  const startMs = Math.floor(nowMs / windowMs) * windowMs;
  return { startMs, endMs: startMs + windowMs };
}

/** The result of the `count`-th hit in a window ending at `endMs`. */
export function toFixedWindowHitResult(
  count: number,
  limit: number,
  endMs: number,
  nowMs: number,
): FixedWindowHitResult {
  const allowed = count <= limit;
  return {
    allowed,
    remaining: Math.max(0, limit - count),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((endMs - nowMs) / 1000)),
  };
}
