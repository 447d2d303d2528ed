import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay, type RetryPolicy, retryAfterDelay } from "./backoff.js";

const policy: RetryPolicy = {
  retries: 3,
  minDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterSeconds: 30,
};

describe("backoffDelay", () => {
  it("doubles the window each retry, up to the cap", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, policy, () => 1))).toEqual([
      200, 400, 800, 1600, 3200, 5000, 5000,
    ]);
    expect([0, 1, 5].map((attempt) => backoffDelay(attempt, policy, () => 0))).toEqual([
      100, 200, 2500,
    ]);
  });

  it("stays in the upper half of the window for any random value (property)", () => {
    fc.assert(
      fc.property(fc.nat(40), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, random) => {
        const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
        const delay = backoffDelay(attempt, policy, () => random);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }),
    );
  });
});

describe("retryAfterDelay", () => {
  it("waits what the server asked, plus jitter, unless that is too long", () => {
    expect(retryAfterDelay(2, policy, () => 0.5)).toBe(2100);
    expect(retryAfterDelay(0, policy, () => 0)).toBe(0);
    expect(retryAfterDelay(30, policy, () => 0)).toBe(30_000);
    expect(retryAfterDelay(31, policy, () => 0)).toBeUndefined();
  });
});
