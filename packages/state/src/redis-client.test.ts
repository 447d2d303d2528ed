import { once } from "node:events";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTestRedis, redisUrl, uniqueKeyPrefix } from "./redis.test-support.js";
import { createRedisClient, pingRedis } from "./redis-client.js";
import { createRedisDecisionLog } from "./redis-decision-log.js";
import { createRedisFixedWindowLimiter } from "./redis-fixed-window-limiter.js";
import { createRedisQuotaStore } from "./redis-quota-store.js";
import { createRedisReplayStore } from "./redis-replay-store.js";
import { createRedisRevocationBus } from "./redis-revocation-bus.js";
import { createRedisServiceProviderKeyDirectory } from "./redis-service-provider-key-directory.js";
import { isStateError } from "./state-error.js";
import { startTcpProxy } from "./tcp-proxy.test-support.js";

/** Resolves how long `operation` took to reject, expecting `ERR_STATE_UNAVAILABLE`. */
async function timeUnavailable(operation: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await expect(operation()).rejects.toSatisfy((error) =>
    isStateError(error, "ERR_STATE_UNAVAILABLE"),
  );
  return performance.now() - started;
}

/** Every adapter operation must fail fast with a StateError against `client`. */
async function expectEveryOperationToFailFast(client: Redis, withinMs: number): Promise<void> {
  const replay = createRedisReplayStore(client);
  const limiter = createRedisFixedWindowLimiter(client);
  const bus = createRedisRevocationBus(client);
  const quotas = createRedisQuotaStore(client);
  const keys = createRedisServiceProviderKeyDirectory(client);
  const decisions = createRedisDecisionLog(client);
  const inAMinute = new Date(Date.now() + 60_000);
  const operations: Record<string, () => Promise<unknown>> = {
    pingRedis: () => pingRedis(client),
    markUsed: () => replay.markUsed("jti", inAMinute),
    hit: () => limiter.hit("sign-in", 5, 60, new Date()),
    publish: () => bus.publish({ kind: "token", subject: "jti", expiresAt: inAMinute }),
    loadAll: () => bus.loadAll(),
    subscribe: () => bus.subscribe({ onRevocation() {}, onReload() {} }),
    consume: () =>
      quotas.consume([{ key: "grant:g:rate", increment: 1, limit: 5, expiresAt: inAMinute }]),
    put: () =>
      keys.put([
        { prefix: "p", serviceProviderId: "sp", secretHash: "0".repeat(64), revoked: false },
      ]),
    get: () => keys.get("p"),
    append: () =>
      decisions.append([
        { at: new Date().toISOString(), outcome: "deny", reason: "r", serviceProviderId: "sp" },
      ]),
    read: () => decisions.read({ consumer: "c", count: 1, blockMs: 100, redeliverAfterMs: 1000 }),
    ack: () => decisions.ack(["1-0"]),
  };
  try {
    for (const [name, operation] of Object.entries(operations)) {
      const elapsedMs = await timeUnavailable(operation);
      expect(elapsedMs, name).toBeLessThan(withinMs);
    }
  } finally {
    await decisions.close();
  }
}

describe("createRedisClient", () => {
  it("fails every operation fast with StateError when nothing listens on the port", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, "close");

    const client = createRedisClient(`redis://127.0.0.1:${port}`);
    client.on("error", () => {});
    try {
      await expectEveryOperationToFailFast(client, 500);
    } finally {
      client.disconnect();
    }
  });

  describe("against a server that accepts connections and never answers", () => {
    let server: Server;
    let port: number;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      server = createServer((socket) => {
        sockets.add(socket.on("close", () => sockets.delete(socket)));
      }).listen(0, "127.0.0.1");
      await once(server, "listening");
      ({ port } = server.address() as AddressInfo);
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    });

    it("fails every operation with StateError within the timeouts, without hanging", async () => {
      const client = createRedisClient(`redis://127.0.0.1:${port}`);
      client.on("error", () => {});
      try {
        // Commands fail at once (the connection never becomes ready); subscribe gives up when
        // its handshake times out (commandTimeout, 1 s).
        await expectEveryOperationToFailFast(client, 2500);
      } finally {
        client.disconnect();
      }
    });
  });

  it("refuses a URL that is not redis:// or rediss://", () => {
    expect(() => createRedisClient("http://127.0.0.1:6379")).toThrow(TypeError);
  });
});

describe.runIf(redisUrl !== undefined)("createRedisClient, when a live Redis goes away", () => {
  it("fails a command within commandTimeout once Redis stops answering", async () => {
    if (redisUrl === undefined) return;
    const proxy = await startTcpProxy(redisUrl);
    const client = await connectTestRedis({}, proxy.url);
    try {
      await pingRedis(client);
      proxy.freeze();
      // The frozen proxy forwards nothing, so this leaves no key behind.
      const replay = createRedisReplayStore(client, { keyPrefix: uniqueKeyPrefix() });
      const elapsedMs = await timeUnavailable(() =>
        replay.markUsed("jti", new Date(Date.now() + 60_000)),
      );
      expect(elapsedMs).toBeGreaterThanOrEqual(900);
      expect(elapsedMs).toBeLessThan(2000);
    } finally {
      client.disconnect();
      await proxy.close();
    }
  });

  it("fails commands at once while the connection is down", async () => {
    if (redisUrl === undefined) return;
    const proxy = await startTcpProxy(redisUrl);
    const client = await connectTestRedis({ retryStrategy: () => 5000 }, proxy.url);
    try {
      await proxy.close();
      await once(client, "close");
      const replay = createRedisReplayStore(client, { keyPrefix: uniqueKeyPrefix() });
      const elapsedMs = await timeUnavailable(() =>
        replay.markUsed("jti", new Date(Date.now() + 60_000)),
      );
      expect(elapsedMs).toBeLessThan(50);
    } finally {
      client.disconnect();
    }
  });
});

describe.runIf(redisUrl !== undefined)("pingRedis", () => {
  it("resolves against a live Redis", async () => {
    const client = await connectTestRedis();
    try {
      await expect(pingRedis(client)).resolves.toBeUndefined();
    } finally {
      client.disconnect();
    }
  });
});
