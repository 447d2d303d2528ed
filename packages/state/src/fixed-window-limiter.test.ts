import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testFixedWindowLimiterContract } from "./fixed-window-limiter.contract.js";
import { createMemoryFixedWindowLimiter } from "./memory-fixed-window-limiter.js";
import { connectTestRedis, deleteKeys, redisUrl, uniqueKeyPrefix } from "./redis.test-support.js";
import { createRedisFixedWindowLimiter } from "./redis-fixed-window-limiter.js";
import { isStateError } from "./state-error.js";

describe("createMemoryFixedWindowLimiter", () => {
  testFixedWindowLimiterContract(async () => createMemoryFixedWindowLimiter());

  it("refuses new keys when full of live counters, and frees them as windows end", async () => {
    const limiter = createMemoryFixedWindowLimiter({ maxEntries: 2 });
    const now = new Date("2030-01-01T00:00:00.000Z");
    await limiter.hit("a", 5, 60, now);
    await limiter.hit("b", 5, 60, now);
    await expect(limiter.hit("c", 5, 60, now)).rejects.toSatisfy((error) =>
      isStateError(error, "ERR_STATE_CAPACITY_EXCEEDED"),
    );
    // A live key keeps counting: forgetting it would have handed it a fresh allowance.
    expect(await limiter.hit("a", 5, 60, now)).toMatchObject({ allowed: true, remaining: 3 });
    expect((await limiter.hit("c", 5, 60, new Date(now.getTime() + 60_000))).allowed).toBe(true);
  });
});

describe.runIf(redisUrl !== undefined)("createRedisFixedWindowLimiter", () => {
  const keyPrefix = uniqueKeyPrefix();
  let client: Redis;
  beforeAll(async () => {
    client = await connectTestRedis();
  });
  afterAll(async () => {
    await deleteKeys(client, keyPrefix);
    client.disconnect();
  });

  testFixedWindowLimiterContract(async () => createRedisFixedWindowLimiter(client, { keyPrefix }));

  it("lets Redis expire each counter one window after its first hit", async () => {
    const limiter = createRedisFixedWindowLimiter(client, { keyPrefix });
    const now = new Date("2030-01-01T00:00:30.000Z");
    await limiter.hit("enrol:ttl", 3, 60, now);
    await limiter.hit("enrol:ttl", 3, 60, now);
    const ttl = await client.pttl(`${keyPrefix}limit:enrol:ttl:60:${Date.UTC(2030, 0, 1)}`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
