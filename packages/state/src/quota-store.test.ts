import { describe, expect, it } from "vitest";
import { createMemoryQuotaStore } from "./memory-quota-store.js";
import { testQuotaStoreContract } from "./quota-store.contract.js";
import { redisUrl, uniqueKeyPrefix, useTestRedisPair } from "./redis.test-support.js";
import { createRedisQuotaStore } from "./redis-quota-store.js";
import { isStateError } from "./state-error.js";
import { createFrozenClock, systemClock } from "./test-clock.test-support.js";

describe("createMemoryQuotaStore", () => {
  testQuotaStoreContract(async () => {
    const clock = createFrozenClock();
    const store = createMemoryQuotaStore({ now: clock.now });
    return { store, peer: store, clock };
  });

  it("refuses a call that needs new counters when full, before changing any", async () => {
    const clock = createFrozenClock();
    const store = createMemoryQuotaStore({ now: clock.now, maxEntries: 3 });
    const inAMinute = new Date(clock.now().getTime() + 60_000);
    const entry = (key: string) => ({ key, increment: 1, limit: 5, expiresAt: inAMinute });
    await store.consume([entry("a"), entry("b")]);
    await expect(store.consume([entry("a"), entry("c"), entry("d")])).rejects.toSatisfy((error) =>
      isStateError(error, "ERR_STATE_CAPACITY_EXCEEDED"),
    );
    // "a" was not counted, and one more new counter still fits.
    expect(await store.consume([entry("a"), entry("c")])).toEqual({
      withinLimits: true,
      before: [1, 0],
    });
    await clock.advance(60_000);
    expect(await store.consume([entry("d"), entry("e"), entry("f")])).toMatchObject({
      withinLimits: true,
    });
  });
});

describe.runIf(redisUrl !== undefined)("createRedisQuotaStore", () => {
  const keyPrefix = uniqueKeyPrefix();
  const redis = useTestRedisPair(keyPrefix);

  testQuotaStoreContract(async () => ({
    store: createRedisQuotaStore(redis.client, { keyPrefix }),
    peer: createRedisQuotaStore(redis.otherClient, { keyPrefix }),
    clock: systemClock,
  }));

  it("keeps each counter under the prefix until its entry's expiresAt", async () => {
    const store = createRedisQuotaStore(redis.client, { keyPrefix });
    const expiresAt = new Date(Date.now() + 30_000);
    await store.consume([{ key: "grant:g-1:rate", increment: 2, limit: 5, expiresAt }]);
    const key = `${keyPrefix}quota:grant:g-1:rate`;
    expect(await redis.client.get(key)).toBe("2");
    expect(Number(await redis.client.pexpiretime(key))).toBe(expiresAt.getTime());
  });

  it("writes no key on a dry run or for a zero increment", async () => {
    const store = createRedisQuotaStore(redis.client, { keyPrefix });
    const expiresAt = new Date(Date.now() + 30_000);
    await store.consume([{ key: "grant:g-2:rate", increment: 1, limit: 5, expiresAt }], {
      dryRun: true,
    });
    await store.consume([{ key: "grant:g-2:spend", increment: 0, limit: 5, expiresAt }]);
    expect(
      await redis.client.exists(
        `${keyPrefix}quota:grant:g-2:rate`,
        `${keyPrefix}quota:grant:g-2:spend`,
      ),
    ).toBe(0);
  });
});
