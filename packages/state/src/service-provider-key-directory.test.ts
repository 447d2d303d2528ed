import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryServiceProviderKeyDirectory } from "./memory-service-provider-key-directory.js";
import { connectTestRedis, deleteKeys, redisUrl, uniqueKeyPrefix } from "./redis.test-support.js";
import { createRedisServiceProviderKeyDirectory } from "./redis-service-provider-key-directory.js";
import { testServiceProviderKeyDirectoryContract } from "./service-provider-key-directory.contract.js";
import { isStateError } from "./state-error.js";

describe("createMemoryServiceProviderKeyDirectory", () => {
  testServiceProviderKeyDirectoryContract(async () => {
    const directory = createMemoryServiceProviderKeyDirectory();
    return { registry: directory, verifier: directory };
  });
});

describe.runIf(redisUrl !== undefined)("createRedisServiceProviderKeyDirectory", () => {
  const keyPrefix = uniqueKeyPrefix();
  let client: Redis;
  let otherClient: Redis;
  beforeAll(async () => {
    [client, otherClient] = await Promise.all([connectTestRedis(), connectTestRedis()]);
  });
  afterAll(async () => {
    await deleteKeys(client, keyPrefix);
    client.disconnect();
    otherClient.disconnect();
  });

  testServiceProviderKeyDirectoryContract(async () => ({
    registry: createRedisServiceProviderKeyDirectory(client, { keyPrefix }),
    verifier: createRedisServiceProviderKeyDirectory(otherClient, { keyPrefix }),
  }));

  it("stores one string per prefix, with no expiry", async () => {
    const directory = createRedisServiceProviderKeyDirectory(client, { keyPrefix });
    const secretHash = "ab".repeat(32);
    await directory.put([
      { prefix: "p-layout", serviceProviderId: "sp_1", secretHash, revoked: false },
    ]);
    const key = `${keyPrefix}sp-key:p-layout`;
    expect(JSON.parse((await client.get(key)) ?? "")).toEqual({
      serviceProviderId: "sp_1",
      secretHash,
      revoked: false,
    });
    expect(await client.pttl(key)).toBe(-1);
  });

  it("refuses to read a stored value it does not understand, and reads extra fields past", async () => {
    const directory = createRedisServiceProviderKeyDirectory(client, { keyPrefix });
    const secretHash = "cd".repeat(32);
    await client.set(`${keyPrefix}sp-key:p-corrupt`, "{not json");
    await client.set(
      `${keyPrefix}sp-key:p-old`,
      JSON.stringify({ serviceProviderId: "sp_2", secretHash }),
    );
    await client.set(
      `${keyPrefix}sp-key:p-newer`,
      JSON.stringify({ serviceProviderId: "sp_3", secretHash, revoked: true, scopes: ["x"] }),
    );
    for (const prefix of ["p-corrupt", "p-old"]) {
      await expect(directory.get(prefix)).rejects.toSatisfy((error) =>
        isStateError(error, "ERR_STATE_RECORD_INVALID"),
      );
    }
    expect(await directory.get("p-newer")).toEqual({
      prefix: "p-newer",
      serviceProviderId: "sp_3",
      secretHash,
      revoked: true,
    });
  });
});
