import { describe, expect, it } from "vitest";
import { createMemoryServiceProviderKeyDirectory } from "./memory-service-provider-key-directory.js";
import { redisUrl, uniqueKeyPrefix, useTestRedisPair } from "./redis.test-support.js";
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
  const redis = useTestRedisPair(keyPrefix);

  testServiceProviderKeyDirectoryContract(async () => ({
    registry: createRedisServiceProviderKeyDirectory(redis.client, { keyPrefix }),
    verifier: createRedisServiceProviderKeyDirectory(redis.otherClient, { keyPrefix }),
  }));

  it("stores one string per prefix, with no expiry", async () => {
    const directory = createRedisServiceProviderKeyDirectory(redis.client, { keyPrefix });
    const secretHash = "ab".repeat(32);
    await directory.put([
      { prefix: "p-layout", serviceProviderId: "sp_1", secretHash, revoked: false },
    ]);
    const key = `${keyPrefix}sp-key:p-layout`;
    expect(JSON.parse((await redis.client.get(key)) ?? "")).toEqual({
      serviceProviderId: "sp_1",
      secretHash,
      revoked: false,
    });
    expect(await redis.client.pttl(key)).toBe(-1);
  });

  it("refuses to read a stored value it does not understand, and reads extra fields past", async () => {
    const directory = createRedisServiceProviderKeyDirectory(redis.client, { keyPrefix });
    const secretHash = "cd".repeat(32);
    await redis.client.set(`${keyPrefix}sp-key:p-corrupt`, "{not json");
    await redis.client.set(
      `${keyPrefix}sp-key:p-old`,
      JSON.stringify({ serviceProviderId: "sp_2", secretHash }),
    );
    await redis.client.set(
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
