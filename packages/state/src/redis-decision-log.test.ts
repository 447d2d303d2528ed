import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { DecisionRecord } from "./decision-log.js";
import {
  connectTestRedis,
  deleteKeys,
  killConnections,
  redisUrl,
  uniqueKeyPrefix,
} from "./redis.test-support.js";
import { createRedisDecisionLog, type RedisDecisionLogOptions } from "./redis-decision-log.js";
import { isStateError } from "./state-error.js";
import { startTcpProxy } from "./tcp-proxy.test-support.js";

const isUnavailable = (error: unknown) => isStateError(error, "ERR_STATE_UNAVAILABLE");

// What only Redis has: the connection for waiting reads, failures, the stream itself. The shared
// behaviour is in decision-log.contract.ts.
describe.runIf(redisUrl !== undefined)("createRedisDecisionLog, on Redis", () => {
  const keyPrefixes: string[] = [];
  const clients: Redis[] = [];
  const closers: (() => Promise<void>)[] = [];
  let admin: Redis;
  const decision = (): DecisionRecord => ({
    at: new Date().toISOString(),
    outcome: "deny",
    reason: "ERR_TOKEN_REVOKED",
    serviceProviderId: "sp_1",
    tokenId: `jti-${randomUUID()}`,
  });
  /** A key prefix of this file's, deleted after it. */
  const freshPrefix = () => {
    const keyPrefix = uniqueKeyPrefix();
    keyPrefixes.push(keyPrefix);
    return keyPrefix;
  };
  /** A log on a fresh stream, over `client` (default: the admin connection). */
  const open = (options: RedisDecisionLogOptions = {}, client = admin) => {
    const log = createRedisDecisionLog(client, { keyPrefix: freshPrefix(), ...options });
    closers.push(() => log.close());
    return log;
  };
  const connect = async (...args: Parameters<typeof connectTestRedis>) => {
    const client = await connectTestRedis(...args);
    clients.push(client);
    return client;
  };
  const options = { consumer: "registry-1", count: 10, redeliverAfterMs: 60_000 };

  beforeAll(async () => {
    admin = await connectTestRedis();
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    for (const keyPrefix of keyPrefixes) await deleteKeys(admin, keyPrefix);
    admin.disconnect();
  });

  it("waits longer than the client's command timeout, on a connection of its own", async () => {
    const readerName = `decisions-${randomUUID()}`;
    const log = open({ readerName });
    expect(admin.options.commandTimeout).toBe(1000);
    const started = performance.now();
    const waiting = log.read({ ...options, blockMs: 1500 });
    await sleep(200);
    // The shared connection answers at once while the read waits on the other one.
    const pingStarted = performance.now();
    await admin.ping();
    expect(performance.now() - pingStarted).toBeLessThan(100);
    const list = String(await admin.client("LIST"));
    expect(list).toMatch(new RegExp(`name=${readerName} .*cmd=xreadgroup`));
    expect(await waiting).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1450);
  });

  it("refuses a blockMs above maxBlockMs with TypeError", async () => {
    const log = open({ maxBlockMs: 100 });
    await expect(log.read({ ...options, blockMs: 101 })).rejects.toThrow(TypeError);
    await expect(log.read({ ...options, blockMs: 100 })).resolves.toEqual([]);
    expect(() => open({ maxBlockMs: 0 })).toThrow(TypeError);
    expect(() => open({ maxLength: 1.5 })).toThrow(TypeError);
  });

  it("fails a waiting read within maxBlockMs + commandTimeout once Redis stops answering", async () => {
    if (redisUrl === undefined) return;
    const proxy = await startTcpProxy(redisUrl);
    try {
      const log = open({ maxBlockMs: 500 }, await connect({}, proxy.url));
      // Opens the connection for waiting reads, through the proxy.
      expect(await log.read({ ...options, blockMs: 10 })).toEqual([]);
      const started = performance.now();
      const waiting = log.read({ ...options, blockMs: 500 });
      await sleep(100);
      proxy.freeze();
      await expect(waiting).rejects.toSatisfy(isUnavailable);
      const elapsedMs = performance.now() - started;
      expect(elapsedMs).toBeGreaterThanOrEqual(1400);
      expect(elapsedMs).toBeLessThan(2500);
      // The frozen proxy forwards nothing, so these leave nothing behind.
      await expect(log.append([decision()])).rejects.toSatisfy(isUnavailable);
      await expect(log.read({ ...options, blockMs: 0 })).rejects.toSatisfy(isUnavailable);
      await expect(log.ack(["1-0"])).rejects.toSatisfy(isUnavailable);
    } finally {
      await proxy.close();
    }
  });

  it("fails a read whose connection drops, and reads again once it is back", async () => {
    const readerName = `decisions-${randomUUID()}`;
    const log = open({ readerName }, await connect({ retryStrategy: () => 50 }));
    // The assertion is attached at once: the read may reject before CLIENT KILL's reply arrives.
    const failed = expect(log.read({ ...options, blockMs: 3000 })).rejects.toSatisfy(isUnavailable);
    await sleep(200);
    expect(await killConnections(admin, readerName)).toBe(1);
    await failed;
    const record = decision();
    await log.append([record]);
    await vi.waitFor(async () => {
      const delivered = await log.read({ ...options, blockMs: 100 });
      expect(delivered.map((d) => d.record)).toEqual([record]);
    });
  });

  it("stops reading when closed, and goes on appending", async () => {
    const log = open();
    const failed = expect(log.read({ ...options, blockMs: 3000 })).rejects.toSatisfy(isUnavailable);
    await sleep(200);
    await log.close();
    await failed;
    await expect(log.read({ ...options, blockMs: 0 })).rejects.toSatisfy(isUnavailable);
    await log.append([decision()]);
  });

  it("delivers what was appended before any read, and deletes what is acknowledged", async () => {
    const prefix = freshPrefix();
    const stream = `${prefix}decisions`;
    const log = open({ keyPrefix: prefix });
    const records = [decision(), decision()];
    await log.append(records);
    const delivered = await log.read({ ...options, blockMs: 0 });
    expect(delivered.map((d) => d.record)).toEqual(records);
    expect(await admin.xlen(stream)).toBe(2);
    await log.ack(delivered.map((d) => d.id));
    expect(await admin.xlen(stream)).toBe(0);
  });

  it("creates its consumer group again when the stream is deleted", async () => {
    const prefix = freshPrefix();
    const log = open({ keyPrefix: prefix });
    expect(await log.read({ ...options, blockMs: 0 })).toEqual([]);
    await admin.del(`${prefix}decisions`);
    const record = decision();
    await log.append([record]);
    expect((await log.read({ ...options, blockMs: 0 })).map((d) => d.record)).toEqual([record]);
  });

  it("trims the stream to about maxLength", async () => {
    const prefix = freshPrefix();
    const log = open({ keyPrefix: prefix, maxLength: 10 });
    for (let i = 0; i < 5; i += 1) await log.append(Array.from({ length: 100 }, decision));
    const length = await admin.xlen(`${prefix}decisions`);
    // `~` trims whole stream nodes (100 entries each by default), never below maxLength.
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThanOrEqual(110);
  });

  it("leaves an entry it cannot read pending, and delivers the rest", async () => {
    const prefix = freshPrefix();
    const stream = `${prefix}decisions`;
    const log = open({ keyPrefix: prefix });
    const record = decision();
    await admin.xadd(stream, "*", "record", "{not json");
    await admin.xadd(stream, "*", "record", JSON.stringify({ ...record, outcome: "challenge" }));
    await log.append([record]);
    const readAll = { ...options, blockMs: 0, redeliverAfterMs: 1 };
    expect((await log.read(readAll)).map((d) => d.record)).toEqual([record]);
    await sleep(10);
    // Claimed again, skipped again: still pending for a version that can read them.
    expect((await log.read(readAll)).map((d) => d.record)).toEqual([record]);
    expect((await admin.xpending(stream, "registry"))[0]).toBe(3);
  });
});
