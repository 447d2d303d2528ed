import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  connectTestRedis,
  deleteKeys,
  killConnections,
  redisUrl,
  uniqueKeyPrefix,
} from "./redis.test-support.js";
import { createRedisRevocationBus } from "./redis-revocation-bus.js";
import type { RevocationRecord, RevocationSubscription } from "./revocation-bus.js";
import { createRevocationRecorder } from "./revocation-recorder.test-support.js";
import { startTcpProxy } from "./tcp-proxy.test-support.js";

// Failure paths only Redis has; the shared behaviour is in revocation-bus.contract.ts.
describe.runIf(redisUrl !== undefined)("createRedisRevocationBus, when connections fail", () => {
  const keyPrefix = uniqueKeyPrefix();
  const clients: Redis[] = [];
  const subscriptions: RevocationSubscription[] = [];
  let admin: Redis;
  const revocation = (): RevocationRecord => ({
    kind: "token",
    subject: `jti-${randomUUID()}`,
    expiresAt: new Date(Date.now() + 60_000),
  });

  beforeAll(async () => {
    admin = await connectTestRedis();
  });
  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    await deleteKeys(admin, keyPrefix);
    admin.disconnect();
  });

  it("reloads after its connection is killed, and sees what was published meanwhile", async () => {
    // The subscriber connection (a duplicate of this client) stays away 300 ms after a drop.
    const client = await connectTestRedis({ retryStrategy: () => 300 });
    clients.push(client);
    const subscriberName = `revocations-${randomUUID()}`;
    const bus = createRedisRevocationBus(client, { keyPrefix, subscriberName });
    const replica = createRevocationRecorder();
    subscriptions.push(await bus.subscribe(replica.listener));
    expect(replica.reloads).toHaveLength(1);

    expect(await killConnections(admin, subscriberName)).toBe(1);
    const missed = revocation();
    await bus.publish(missed);

    await vi.waitFor(() => expect(replica.reloads).toHaveLength(2), { timeout: 3000 });
    expect(replica.received).toEqual([]);
    expect(replica.reloads[1]).toContainEqual(missed);
    expect(replica.set.isRevoked("token", missed.subject, new Date())).toBe(true);
    expect(replica.errors.map((error) => error.code)).toEqual(["ERR_STATE_UNAVAILABLE"]);

    const next = revocation();
    const arrived = replica.arrival(next.subject);
    await bus.publish(next);
    await arrived;
  });

  it("drops and reloads a connection that stops answering (half-open TCP)", async () => {
    if (redisUrl === undefined) return;
    const proxy = await startTcpProxy(redisUrl);
    try {
      const client = await connectTestRedis({ retryStrategy: () => 50 });
      clients.push(client);
      // Subscribe through the proxy, publish directly.
      const viaProxy = await connectTestRedis({ retryStrategy: () => 50 }, proxy.url);
      clients.push(viaProxy);
      const subscriberBus = createRedisRevocationBus(viaProxy, { keyPrefix, heartbeatMs: 200 });
      const publisherBus = createRedisRevocationBus(client, { keyPrefix });
      const replica = createRevocationRecorder();
      subscriptions.push(await subscriberBus.subscribe(replica.listener));

      proxy.freeze();
      const missed = revocation();
      await publisherBus.publish(missed);

      await vi.waitFor(() => expect(replica.reloads).toHaveLength(2), { timeout: 3000 });
      expect(replica.received).toEqual([]);
      expect(replica.reloads[1]).toContainEqual(missed);
      expect(replica.errors.map((error) => error.code)).toContain("ERR_STATE_UNAVAILABLE");
    } finally {
      await proxy.close();
    }
  });

  it("skips records it cannot read, reports them, and keeps delivering the rest", async () => {
    const prefix = uniqueKeyPrefix();
    const client = await connectTestRedis();
    clients.push(client);
    const bus = createRedisRevocationBus(client, { keyPrefix: prefix });
    const good = revocation();
    await bus.publish(good);
    // A kind from a newer version, and a value that is not an expiry.
    await client.set(`${prefix}revoked:human:h-1`, String(Date.now() + 60_000), "PX", 60_000);
    await client.set(`${prefix}revoked:token:bad`, "soon", "PX", 60_000);

    const replica = createRevocationRecorder();
    subscriptions.push(await bus.subscribe(replica.listener));
    expect(replica.reloads[0]).toEqual([good]);
    expect(await bus.loadAll()).toEqual([good]);
    expect(replica.errors.map((error) => error.code)).toEqual([
      "ERR_STATE_RECORD_INVALID",
      "ERR_STATE_RECORD_INVALID",
    ]);

    await client.publish(`${prefix}revocations`, "{not json");
    const next = revocation();
    const arrived = replica.arrival(next.subject);
    await bus.publish(next);
    await arrived;
    expect(replica.received).toEqual([next]);
    expect(replica.errors).toHaveLength(3);
    await deleteKeys(client, prefix);
  });
});
