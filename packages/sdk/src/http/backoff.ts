/** How the SDK retries a request that is safe to repeat. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 disables retrying). */
  readonly retries: number;
  /** The first retry waits between half of this and this, in milliseconds. */
  readonly minDelayMs: number;
  /** No computed wait is longer, in milliseconds. */
  readonly maxDelayMs: number;
  /** A `Retry-After` longer than this (seconds) is not waited for: the error surfaces. */
  readonly maxRetryAfterSeconds: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): exponential, capped, with
 * "equal jitter" — a random point in the upper half of the window — so that agents that failed
 * together do not retry together, yet never retry at once.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * The wait a `Retry-After` of `seconds` asks for, plus up to `minDelayMs` of jitter; `undefined`
 * when it is longer than the policy waits.
 */
export function retryAfterDelay(
  seconds: number,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  if (seconds > policy.maxRetryAfterSeconds) return undefined;
  return seconds * 1000 + Math.round(random() * policy.minDelayMs);
}
