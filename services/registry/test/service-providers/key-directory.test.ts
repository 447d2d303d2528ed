import { createHash, randomUUID } from "node:crypto";
import {
  createMemoryServiceProviderKeyDirectory,
  createRedisClient,
  createRedisServiceProviderKeyDirectory,
  type ServiceProviderKeyDirectory,
} from "@agentauth/state";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import {
  createReadProvider,
  createTestRegistry,
  type TestRegistry,
} from "../support/test-registry.js";

const redisUrl = process.env.REDIS_URL;

/** A directory whose `put` fails while it is down, as during a Redis outage. */
function withOutage(directory: ServiceProviderKeyDirectory) {
  let down = false;
  const flaky: ServiceProviderKeyDirectory = {
    put: (records) =>
      down ? Promise.reject(new Error("Redis is unreachable")) : directory.put(records),
    get: (prefix) => directory.get(prefix),
  };
  return {
    directory: flaky,
    setDown(value: boolean) {
      down = value;
    },
  };
}

/** The key's secret part (its last 43 characters), hashed as verifiers hash it. */
function verifierHashOf(key: string): string {
  return createHash("sha256").update(key.slice(-43)).digest("hex");
}

/** What verifiers find for API keys, published by the registry to `makeDirectory()`'s directory. */
function keyDirectoryBehaviour(
  title: string,
  makeDirectory: () => Promise<ServiceProviderKeyDirectory>,
): void {
  describeEachDatabase(`service-provider API keys published to ${title}`, (database) => {
    let test: TestRegistry;
    let directory: ServiceProviderKeyDirectory;
    let outage: ReturnType<typeof withOutage>;
    let providers = 0;

    beforeAll(async () => {
      directory = await makeDirectory();
      outage = withOutage(directory);
      test = await createTestRegistry(database.db(), { keyDirectory: outage.directory });
    });

    const path = (id: string, rest = "") => `/api/service-providers/${id}${rest}`;
    const newProvider = async () => {
      providers += 1;
      const id = `keyed-${providers}`;
      await createReadProvider(test.admin, id);
      return id;
    };
    const newKey = async (provider: string) =>
      (await test.admin.post(path(provider, "/keys")).expect(201)).body as {
        id: string;
        prefix: string;
        key: string;
      };
    const storedHash = async (keyId: string) =>
      (
        await database
          .db()
          .selectFrom("service_provider_keys")
          .select("secret_hash")
          .where("id", "=", keyId)
          .executeTakeFirstOrThrow()
      ).secret_hash;

    it("publishes a new key with exactly the hash the registry stores", async () => {
      const provider = await newProvider();
      const key = await newKey(provider);
      const record = await directory.get(key.prefix);
      expect(record).toEqual({
        prefix: key.prefix,
        serviceProviderId: provider,
        secretHash: await storedHash(key.id),
        revoked: false,
      });
      expect(record?.secretHash).toBe(verifierHashOf(key.key));
    });

    it("publishes a revoked key as revoked", async () => {
      const provider = await newProvider();
      const key = await newKey(provider);
      await test.admin.delete(path(provider, `/keys/${key.id}`)).expect(204);
      expect(await directory.get(key.prefix)).toMatchObject({ revoked: true });
    });

    it("publishes every key of a disabled service provider as revoked", async () => {
      const provider = await newProvider();
      const keys = [await newKey(provider), await newKey(provider)];
      const other = await newKey(await newProvider());
      await test.admin.post(path(provider, "/disable")).expect(204);
      for (const key of keys) {
        expect(await directory.get(key.prefix)).toMatchObject({
          serviceProviderId: provider,
          revoked: true,
        });
      }
      expect(await directory.get(other.prefix)).toMatchObject({ revoked: false });
    });

    it("heals publishes lost to an outage at the next reconciliation", async () => {
      const provider = await newProvider();
      const revoked = await newKey(provider);
      outage.setDown(true);
      try {
        // The changes commit and answer as usual; only their publication is lost.
        const created = await newKey(provider);
        await test.admin.delete(path(provider, `/keys/${revoked.id}`)).expect(204);
        expect(await directory.get(created.prefix)).toBeUndefined();
        expect(await directory.get(revoked.prefix)).toMatchObject({ revoked: false });
        await expect(test.registry.keyPublisher.reconcile()).rejects.toThrow(/unreachable/);

        outage.setDown(false);
        expect(await test.registry.keyPublisher.reconcile()).toBeGreaterThanOrEqual(2);
        expect(await directory.get(created.prefix)).toMatchObject({ revoked: false });
        expect(await directory.get(revoked.prefix)).toMatchObject({ revoked: true });
      } finally {
        outage.setDown(false);
      }
    });

    it("reconciles every key when the registry starts, and every 30 seconds", async () => {
      const provider = await newProvider();
      const [first, second] = [await newKey(provider), await newKey(provider)];
      // Changed behind the registry's back: only reconciliation publishes these.
      const revokeQuietly = (keyId: string) =>
        database
          .db()
          .updateTable("service_provider_keys")
          .set({ revoked_at: new Date() })
          .where("id", "=", keyId)
          .execute();
      await revokeQuietly(first.id);
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      test.registry.start();
      try {
        await vi.waitFor(async () =>
          expect(await directory.get(first.prefix)).toMatchObject({ revoked: true }),
        );
        await revokeQuietly(second.id);
        expect(await directory.get(second.prefix)).toMatchObject({ revoked: false });
        vi.advanceTimersByTime(30_000);
        await vi.waitFor(async () =>
          expect(await directory.get(second.prefix)).toMatchObject({ revoked: true }),
        );
      } finally {
        vi.useRealTimers();
        await test.registry.stop();
      }
    });
  });
}

keyDirectoryBehaviour("an in-process directory", async () =>
  createMemoryServiceProviderKeyDirectory(),
);

describe.runIf(redisUrl !== undefined)("with Redis", () => {
  const keyPrefix = `agentauth-test:${randomUUID()}:`;
  let redis: Redis | undefined;
  afterAll(async () => {
    if (redis === undefined) return;
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  keyDirectoryBehaviour("Redis", async () => {
    redis ??= createRedisClient(redisUrl as string);
    return createRedisServiceProviderKeyDirectory(redis, { keyPrefix });
  });
});
