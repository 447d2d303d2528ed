import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { testAdmissionStoreContract } from "./admission-store.contract.js";
import type { AdmissionStore } from "./admission-store.js";
import { createComposedAdmissionStore } from "./composed-admission-store.js";
import { createMemoryAdmissionStore } from "./memory-admission-store.js";
import { createMemoryQuotaStore } from "./memory-quota-store.js";
import { createMemoryReplayStore } from "./memory-replay-store.js";
import { testQuotaStoreContract } from "./quota-store.contract.js";
import type { QuotaStore } from "./quota-store.js";
import {
  connectTestRedis,
  redisUrl,
  uniqueKeyPrefix,
  useTestRedisPair,
} from "./redis.test-support.js";
import { createRedisAdmissionStore } from "./redis-admission-store.js";
import { createRedisClient } from "./redis-client.js";
import { createRedisQuotaStore } from "./redis-quota-store.js";
import { createRedisReplayStore } from "./redis-replay-store.js";
import { testReplayStoreContract } from "./replay-store.contract.js";
import type { ReplayStore } from "./replay-store.js";
import { isStateError } from "./state-error.js";
import { startTcpProxy } from "./tcp-proxy.test-support.js";
import { createFrozenClock, systemClock } from "./test-clock.test-support.js";

// An admission store is a replay store and a quota store judged in one step: its views (a mark
// with no counters; counters under a fresh mark) pass both of their contracts, and its own
// contract adds what only the combination shows.

/** The replay store an admission store is when it has no counters to judge. */
function asReplayStore(store: AdmissionStore): ReplayStore {
  return {
    async markUsed(key, expiresAt) {
      const result = await store.admit({ replayKey: key, replayExpiresAt: expiresAt, quotas: [] });
      return !result.replayed;
    },
  };
}

/** The quota store an admission store is when every call presents a fresh value. */
function asQuotaStore(store: AdmissionStore, clock: () => Date): QuotaStore {
  return {
    async consume(entries, options) {
      // `consume` needs one entry at least, where `admit` may judge none.
      if (!Array.isArray(entries) || entries.length === 0)
        throw new TypeError("entries must be a non-empty array");
      const result = await store.admit({
        replayKey: `fresh:${randomUUID()}`,
        replayExpiresAt: new Date(clock().getTime() + 60_000),
        quotas: entries,
        ...(options === undefined ? {} : { dryRun: options.dryRun as boolean }),
      });
      if (result.replayed) throw new Error("a fresh value was reported replayed");
      return { withinLimits: result.withinLimits, before: result.before };
    },
  };
}

describe("createComposedAdmissionStore", () => {
  const composed = () => {
    const clock = createFrozenClock();
    const store = createComposedAdmissionStore({
      replayStore: createMemoryReplayStore({ now: clock.now }),
      quotaStore: createMemoryQuotaStore({ now: clock.now }),
    });
    return { store, clock };
  };
  testAdmissionStoreContract(async () => {
    const { store, clock } = composed();
    return { store, peer: store, clock };
  });
  describe("as a replay store", () => {
    testReplayStoreContract(async () => {
      const { store, clock } = composed();
      return { store: asReplayStore(store), clock };
    });
  });
  describe("as a quota store", () => {
    testQuotaStoreContract(async () => {
      const { store, clock } = composed();
      const quotas = asQuotaStore(store, clock.now);
      return { store: quotas, peer: quotas, clock };
    });
  });
});

describe("createMemoryAdmissionStore", () => {
  const memory = () => {
    const clock = createFrozenClock();
    return { store: createMemoryAdmissionStore({ now: clock.now }), clock };
  };
  testAdmissionStoreContract(async () => {
    const { store, clock } = memory();
    return { store, peer: store, clock };
  });
  describe("as a replay store", () => {
    testReplayStoreContract(async () => {
      const { store, clock } = memory();
      return { store: asReplayStore(store), clock };
    });
  });
  describe("as a quota store", () => {
    testQuotaStoreContract(async () => {
      const { store, clock } = memory();
      const quotas = asQuotaStore(store, clock.now);
      return { store: quotas, peer: quotas, clock };
    });
  });

  it("refuses, changing nothing, when its marks or its counters are full", async () => {
    const clock = createFrozenClock();
    const store = createMemoryAdmissionStore({ now: clock.now, maxMarks: 2, maxCounters: 2 });
    const expiresAt = new Date(clock.now().getTime() + 60_000);
    const counter = (key: string) => ({ key, increment: 1, limit: 5, expiresAt });
    const admit = (replayKey: string, keys: string[]) =>
      store.admit({ replayKey, replayExpiresAt: expiresAt, quotas: keys.map(counter) });
    await admit("a", ["x"]);
    // A third counter does not fit: "b" is not marked and "x" not counted.
    await expect(admit("b", ["x", "y", "z"])).rejects.toSatisfy((error) =>
      isStateError(error, "ERR_STATE_CAPACITY_EXCEEDED"),
    );
    expect(await admit("b", ["x"])).toEqual({ replayed: false, withinLimits: true, before: [1] });
    // A third mark does not fit either, and counts nothing.
    await expect(admit("c", ["x"])).rejects.toSatisfy((error) =>
      isStateError(error, "ERR_STATE_CAPACITY_EXCEEDED"),
    );
    await clock.advance(60_000);
    expect(await admit("c", ["x", "y"])).toEqual({
      replayed: false,
      withinLimits: true,
      before: [0, 0],
    });
  });
});

describe.runIf(redisUrl !== undefined)("createRedisAdmissionStore", () => {
  const keyPrefix = uniqueKeyPrefix();
  const redis = useTestRedisPair(keyPrefix);

  testAdmissionStoreContract(async () => ({
    store: createRedisAdmissionStore(redis.client, { keyPrefix }),
    peer: createRedisAdmissionStore(redis.otherClient, { keyPrefix }),
    clock: systemClock,
  }));
  describe("as a replay store", () => {
    testReplayStoreContract(async () => ({
      store: asReplayStore(createRedisAdmissionStore(redis.client, { keyPrefix })),
      clock: systemClock,
    }));
  });
  describe("as a quota store", () => {
    testQuotaStoreContract(async () => ({
      store: asQuotaStore(createRedisAdmissionStore(redis.client, { keyPrefix }), systemClock.now),
      peer: asQuotaStore(
        createRedisAdmissionStore(redis.otherClient, { keyPrefix }),
        systemClock.now,
      ),
      clock: systemClock,
    }));
  });

  it("shares its marks and counters with the Redis replay and quota stores", async () => {
    const admissions = createRedisAdmissionStore(redis.client, { keyPrefix });
    const replays = createRedisReplayStore(redis.otherClient, { keyPrefix });
    const quotas = createRedisQuotaStore(redis.otherClient, { keyPrefix });
    const expiresAt = new Date(Date.now() + 30_000);
    const counter = { key: `grant:${randomUUID()}:rate`, increment: 1, limit: 5, expiresAt };
    await admissions.admit({
      replayKey: "dpop:k:j1",
      replayExpiresAt: expiresAt,
      quotas: [counter],
    });
    expect(await replays.markUsed("dpop:k:j1", expiresAt)).toBe(false);
    expect(await quotas.consume([counter])).toEqual({ withinLimits: true, before: [1] });
    expect(await replays.markUsed("dpop:k:j2", expiresAt)).toBe(true);
    expect(
      await admissions.admit({
        replayKey: "dpop:k:j2",
        replayExpiresAt: expiresAt,
        quotas: [counter],
      }),
    ).toEqual({ replayed: true });
    expect(
      await admissions.admit({
        replayKey: "dpop:k:j3",
        replayExpiresAt: expiresAt,
        quotas: [counter],
      }),
    ).toEqual({ replayed: false, withinLimits: true, before: [2] });
  });

  it("keeps marks and counters under the prefix until their expiry", async () => {
    const store = createRedisAdmissionStore(redis.client, { keyPrefix });
    const markExpiresAt = new Date(Date.now() + 20_000);
    const windowEndsAt = new Date(Date.now() + 30_000);
    const key = `grant:${randomUUID()}:rate`;
    const quotas = [{ key, increment: 2, limit: 5, expiresAt: windowEndsAt }];
    await store.admit({ replayKey: "dpop:k:expiry", replayExpiresAt: markExpiresAt, quotas });
    await store.admit({ replayKey: "dpop:k:expiry-2", replayExpiresAt: markExpiresAt, quotas });
    expect(await redis.client.get(`${keyPrefix}quota:${key}`)).toBe("4");
    expect(Number(await redis.client.pexpiretime(`${keyPrefix}quota:${key}`))).toBe(
      windowEndsAt.getTime(),
    );
    expect(Number(await redis.client.pexpiretime(`${keyPrefix}replay:dpop:k:expiry`))).toBe(
      markExpiresAt.getTime(),
    );
  });

  it("sends the admissions of one event-loop turn as one script call per batch", async () => {
    const batching = await connectTestRedis();
    try {
      const store = createRedisAdmissionStore(batching, {
        keyPrefix,
        maxBatch: 128,
        maxInFlight: 3,
      });
      const calls = vi.spyOn(batching, "evalsha");
      const expiresAt = new Date(Date.now() + 30_000);
      const counter = { key: `grant:${randomUUID()}:rate`, increment: 1, limit: 250, expiresAt };
      const results = await Promise.all(
        Array.from({ length: 300 }, () =>
          store.admit({
            replayKey: `dpop:${randomUUID()}`,
            replayExpiresAt: expiresAt,
            quotas: [counter],
          }),
        ),
      );
      expect(calls).toHaveBeenCalledTimes(3);
      // Judged one after another: 250 fit, each seeing a different count.
      const fresh = results.filter((result) => !result.replayed);
      const allowed = fresh.filter((result) => result.withinLimits);
      expect(fresh).toHaveLength(300);
      expect(new Set(allowed.map((result) => result.before[0])).size).toBe(250);
    } finally {
      batching.disconnect();
    }
  });

  it("sends what comes while a call is in flight together, once it returns", async () => {
    const batching = await connectTestRedis();
    try {
      const store = createRedisAdmissionStore(batching, { keyPrefix });
      const calls = vi.spyOn(batching, "evalsha");
      const expiresAt = new Date(Date.now() + 30_000);
      const admit = () =>
        store.admit({ replayKey: `dpop:${randomUUID()}`, replayExpiresAt: expiresAt, quotas: [] });
      const first = admit();
      // The first call is sent at the end of this turn; the next 50 find it in flight.
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls).toHaveBeenCalledTimes(1);
      const rest = Array.from({ length: 50 }, admit);
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls).toHaveBeenCalledTimes(1);
      const results = await Promise.all([first, ...rest]);
      expect(calls).toHaveBeenCalledTimes(2);
      expect(results.every((result) => !result.replayed)).toBe(true);
    } finally {
      batching.disconnect();
    }
  });

  it("changes nothing when its script reaches Redis after the client gave up on it", async () => {
    const proxy = await startTcpProxy(redisUrl as string);
    const slow = await connectTestRedis({ commandTimeout: 300 }, proxy.url);
    try {
      const store = createRedisAdmissionStore(slow, { keyPrefix });
      const expiresAt = new Date(Date.now() + 30_000);
      const counter = { key: `grant:${randomUUID()}:rate`, increment: 1, limit: 5, expiresAt };
      const admit = (replayKey: string) =>
        store.admit({ replayKey, replayExpiresAt: expiresAt, quotas: [counter] });
      // A first reply tells the store how Redis's clock stands against this one.
      expect(await admit(`dpop:${randomUUID()}`)).toMatchObject({ before: [0] });
      proxy.freeze();
      const held = `dpop:${randomUUID()}`;
      await expect(admit(held)).rejects.toSatisfy((error) =>
        isStateError(error, "ERR_STATE_UNAVAILABLE"),
      );
      // The link carries again, late: Redis runs the held script, which does nothing.
      proxy.thaw();
      await vi.waitFor(async () => expect(await slow.ping()).toBe("PONG"));
      const check = createRedisAdmissionStore(redis.otherClient, { keyPrefix });
      expect(
        await check.admit({ replayKey: held, replayExpiresAt: expiresAt, quotas: [counter] }),
      ).toEqual({ replayed: false, withinLimits: true, before: [1] });
    } finally {
      slow.disconnect();
      await proxy.close();
    }
  });

  it("rejects every admission of a batch with ERR_STATE_UNAVAILABLE when Redis is away", async () => {
    const away = createRedisClient("redis://127.0.0.1:1", { retryStrategy: () => null });
    away.on("error", () => {});
    try {
      const store = createRedisAdmissionStore(away, { keyPrefix });
      const expiresAt = new Date(Date.now() + 30_000);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 3 }, () =>
          store.admit({
            replayKey: `dpop:${randomUUID()}`,
            replayExpiresAt: expiresAt,
            quotas: [],
          }),
        ),
      );
      for (const outcome of outcomes) {
        expect(outcome.status).toBe("rejected");
        expect(
          isStateError((outcome as PromiseRejectedResult).reason, "ERR_STATE_UNAVAILABLE"),
        ).toBe(true);
      }
    } finally {
      away.disconnect();
    }
  });
});
