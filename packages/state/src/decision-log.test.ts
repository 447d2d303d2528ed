import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { testDecisionLogContract } from "./decision-log.contract.js";
import { createMemoryDecisionLog } from "./memory-decision-log.js";
import { connectTestRedis, deleteKeys, redisUrl, uniqueKeyPrefix } from "./redis.test-support.js";
import { createRedisDecisionLog, type RedisDecisionLog } from "./redis-decision-log.js";
import { createFrozenClock, systemClock } from "./test-clock.test-support.js";

describe("createMemoryDecisionLog", () => {
  testDecisionLogContract(async () => {
    const clock = createFrozenClock();
    const log = createMemoryDecisionLog({ now: clock.now });
    return { log, reopen: () => log, clock };
  });

  it("drops the oldest records past maxLength, delivered or not", async () => {
    const log = createMemoryDecisionLog({ maxLength: 3 });
    const record = (reason: string) => ({
      at: "2030-01-01T00:00:00.000Z",
      outcome: "deny" as const,
      reason,
      serviceProviderId: "sp_1",
    });
    await log.append([record("a"), record("b")]);
    await log.read({ consumer: "r", count: 1, blockMs: 0, redeliverAfterMs: 1 });
    await log.append([record("c"), record("d")]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const delivered = await log.read({ consumer: "r", count: 10, blockMs: 0, redeliverAfterMs: 1 });
    expect(delivered.map((d) => d.record.reason)).toEqual(["b", "c", "d"]);
  });
});

describe.runIf(redisUrl !== undefined)("createRedisDecisionLog", () => {
  const keyPrefixes: string[] = [];
  const logs: RedisDecisionLog[] = [];
  let client: Redis;
  let otherClient: Redis;
  beforeAll(async () => {
    [client, otherClient] = await Promise.all([connectTestRedis(), connectTestRedis()]);
  });
  afterEach(async () => {
    await Promise.all(logs.splice(0).map((log) => log.close()));
  });
  afterAll(async () => {
    for (const keyPrefix of keyPrefixes) await deleteKeys(client, keyPrefix);
    client.disconnect();
    otherClient.disconnect();
  });

  // A fresh stream per test.
  testDecisionLogContract(async () => {
    const keyPrefix = uniqueKeyPrefix();
    keyPrefixes.push(keyPrefix);
    const open = (on: Redis) => {
      const log = createRedisDecisionLog(on, { keyPrefix });
      logs.push(log);
      return log;
    };
    return { log: open(client), reopen: () => open(otherClient), clock: systemClock };
  });
});
