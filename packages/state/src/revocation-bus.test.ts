import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe } from "vitest";
import { createMemoryRevocationBus } from "./memory-revocation-bus.js";
import { connectTestRedis, deleteKeys, redisUrl, uniqueKeyPrefix } from "./redis.test-support.js";
import { createRedisRevocationBus } from "./redis-revocation-bus.js";
import { testRevocationBusContract } from "./revocation-bus.contract.js";
import { createFrozenClock, systemClock } from "./test-clock.test-support.js";

describe("createMemoryRevocationBus", () => {
  testRevocationBusContract(async () => {
    const clock = createFrozenClock();
    return { bus: createMemoryRevocationBus({ now: clock.now }), clock };
  });
});

describe.runIf(redisUrl !== undefined)("createRedisRevocationBus", () => {
  const keyPrefixes: string[] = [];
  let client: Redis;
  beforeAll(async () => {
    client = await connectTestRedis();
  });
  afterAll(async () => {
    for (const keyPrefix of keyPrefixes) await deleteKeys(client, keyPrefix);
    client.disconnect();
  });

  // A fresh prefix per test, so `loadAll` sees only that test's records.
  testRevocationBusContract(async () => {
    const keyPrefix = uniqueKeyPrefix();
    keyPrefixes.push(keyPrefix);
    return { bus: createRedisRevocationBus(client, { keyPrefix }), clock: systemClock };
  });
});
