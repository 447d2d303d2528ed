import { connectTestRedis, deleteKeys, redisUrl, uniqueKeyPrefix } from "@agentauth/state/testing";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryPayloadStore } from "./memory-payload-store.js";
import { testPayloadStoreContract } from "./payload-store.contract.js";
import { createRedisPayloadStore } from "./redis-payload-store.js";

describe("createMemoryPayloadStore", () => {
  testPayloadStoreContract(async () => ({
    store: createMemoryPayloadStore({ retentionSeconds: 3600 }),
    retentionSeconds: 3600,
  }));
});

describe.runIf(redisUrl !== undefined)("createRedisPayloadStore", () => {
  const keyPrefix = uniqueKeyPrefix();
  let client: Redis;
  beforeAll(async () => {
    client = await connectTestRedis();
  });
  afterAll(async () => {
    await deleteKeys(client, keyPrefix);
    client.disconnect();
  });

  testPayloadStoreContract(async () => ({
    store: createRedisPayloadStore(client, { keyPrefix, retentionSeconds: 3600 }),
    retentionSeconds: 3600,
  }));

  it("keeps no ciphertext once a one-time payload is taken", async () => {
    const store = createRedisPayloadStore(client, { keyPrefix });
    const now = new Date();
    await store.put({
      tokenHash: "f".repeat(64),
      namespace: "n",
      ciphertext: "v1.secret-looking.bytes",
      contentType: undefined,
      mode: "once",
      publishedBy: "agt_x",
      createdAt: now,
      expiresAt: new Date(now.getTime() + 60_000),
    });
    await store.take("f".repeat(64), { namespace: "n", now });
    expect(
      await client.hget(`${keyPrefix}exchange:payload:${"f".repeat(64)}`, "ciphertext"),
    ).toBeNull();
    expect(await client.pttl(`${keyPrefix}exchange:payload:${"f".repeat(64)}`)).toBeGreaterThan(
      60_000,
    );
  });

  it("answers ERR_STORE_UNAVAILABLE when Redis is gone", async () => {
    const gone = await connectTestRedis();
    gone.disconnect();
    const store = createRedisPayloadStore(gone, { keyPrefix });
    await expect(store.ping()).rejects.toMatchObject({ code: "ERR_STORE_UNAVAILABLE" });
    await expect(
      store.take("a".repeat(64), { namespace: "n", now: new Date() }),
    ).rejects.toMatchObject({ code: "ERR_STORE_UNAVAILABLE" });
  });
});
