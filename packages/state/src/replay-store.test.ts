import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { createMemoryReplayStore } from "./memory-replay-store.js";
import { connectTestRedis, deleteKeys, redisUrl, uniqueKeyPrefix } from "./redis.test-support.js";
import { createRedisReplayStore } from "./redis-replay-store.js";
import { testReplayStoreContract } from "./replay-store.contract.js";
import { createFrozenClock, systemClock } from "./test-clock.test-support.js";

describe("createMemoryReplayStore", () => {
  testReplayStoreContract(async () => {
    const clock = createFrozenClock();
    return { store: createMemoryReplayStore({ now: clock.now }), clock };
  });
});

describe.runIf(redisUrl !== undefined)("createRedisReplayStore", () => {
  const keyPrefix = uniqueKeyPrefix();
  let client: Redis;
  beforeAll(async () => {
    client = await connectTestRedis();
  });
  afterAll(async () => {
    await deleteKeys(client, keyPrefix);
    client.disconnect();
  });

  testReplayStoreContract(async () => ({
    store: createRedisReplayStore(client, { keyPrefix }),
    clock: systemClock,
  }));
});
