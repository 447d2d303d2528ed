import { randomUUID } from "node:crypto";
import type { TestAgent } from "@agentauth/registry/testing";
import { createRedisRevocationBus, pingRedis } from "@agentauth/state";
import { connectTestRedis, deleteKeys, redisUrl, uniqueKeyPrefix } from "@agentauth/state/testing";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Exchange, exchange } from "../support/http.js";
import { type OutageProxy, startOutageProxy } from "../support/outage-proxy.js";
import { createRedisVerifierState } from "../support/redis-state.js";
import {
  agentWithToken,
  createVerifierHarness,
  learnNonce,
  type RunningVerifier,
  type VerifierHarness,
  verifyBody,
} from "../support/verifier-harness.js";

// Redis failing under a running verifier, through a proxy the test controls: the verifier must
// fail closed (503 with Retry-After, readiness false), allow nothing it could not check, and
// recover by itself when Redis is back — having missed no revocation published meanwhile.

const read = { type: "read", resource: "reports/q3" };
const rateLimited = (max: number) => [
  { type: "read", resource: "reports/*" },
  { type: "envelope", rate_limit: { max_requests: max, window_seconds: 3600 } },
];

describe.runIf(redisUrl !== undefined)("the verifier when Redis fails", () => {
  const keyPrefix = uniqueKeyPrefix();
  const clients: Redis[] = [];
  const proxies: OutageProxy[] = [];
  let direct: Redis;
  let harness: VerifierHarness;

  const connect = async (url?: string) => {
    const client = await connectTestRedis({}, url);
    clients.push(client);
    return client;
  };
  const proxy = async () => {
    const started = await startOutageProxy(redisUrl as string);
    proxies.push(started);
    return started;
  };

  beforeAll(async () => {
    direct = await connect();
    // The registry reaches Redis directly: it goes on publishing while a verifier is cut off.
    // (Its decision log stays in-process: nothing here is about auditing.)
    const shared = createRedisVerifierState(direct, { keyPrefix });
    harness = await createVerifierHarness({
      registry: { revocationBus: shared.revocationBus, keyDirectory: shared.keyDirectory },
      state: shared,
    });
  });
  afterAll(async () => {
    await harness?.close();
    for (const started of proxies) await started.close();
    if (direct !== undefined) await deleteKeys(direct, keyPrefix);
    for (const client of clients) client.disconnect();
  });

  /** A verifier whose whole state goes through a proxy, with the Redis readiness check. */
  async function verifierBehind(outage: OutageProxy) {
    const client = await connect(outage.url);
    return harness.startVerifier({
      state: createRedisVerifierState(client, { keyPrefix, subscriberName: uniqueName() }),
      readinessChecks: { redis: () => pingRedis(client) },
    });
  }

  const callVerify = (verifier: RunningVerifier, body: unknown): Promise<Exchange> =>
    exchange(`${verifier.url}/v1/verify`, {
      headers: { authorization: `Bearer ${harness.apiKey}` },
      body,
    });

  let shared: TestAgent | undefined;
  async function holder(verifier: RunningVerifier, details: unknown = rateLimited(100)) {
    const { agent, token } = await agentWithToken(harness, details, shared);
    shared = agent;
    const nonce = await learnNonce(verifier, agent, token.accessToken);
    const call = async () =>
      callVerify(verifier, await verifyBody(agent, token.accessToken, { nonce, action: read }));
    return { token, call };
  }

  it("answers 503 with Retry-After while Redis is gone, allows nothing, and recovers when it returns", async () => {
    const outage = await proxy();
    const verifier = await verifierBehind(outage);
    const limited = await holder(verifier, rateLimited(3));
    const revokedMeanwhile = await holder(verifier);
    expect((await limited.call()).json.decision).toBe("allow");
    expect((await limited.call()).json.decision).toBe("allow");
    expect((await revokedMeanwhile.call()).json.decision).toBe("allow");
    expect((await ready(verifier)).status).toBe(200);

    await outage.cut();
    const unavailable = await limited.call();
    expectUnavailable(unavailable);
    const readiness = await ready(verifier);
    expect(readiness.status).toBe(503);
    expect(readiness.json).toMatchObject({ status: "not_ready", checks: { redis: false } });
    // Published while this verifier cannot hear it.
    await harness.test.admin
      .post(`/api/grants/${revokedMeanwhile.token.grantId}/revoke`)
      .expect(204);
    // However many times it is asked, it allows nothing it could not count.
    const during = await Promise.all(Array.from({ length: 6 }, () => limited.call()));
    for (const answer of during) expectUnavailable(answer);
    expectUnavailable(await revokedMeanwhile.call());

    await outage.restore();
    await waitUntilReady(verifier);
    // One request of three was left before the outage, and still is: none was counted or let
    // through while Redis was away.
    expect((await limited.call()).json).toMatchObject({ decision: "allow" });
    expect((await limited.call()).json).toMatchObject({ decision: "deny", reason: "rate_limited" });
    // The revocation published during the outage came with the reload.
    expect((await revokedMeanwhile.call()).json).toMatchObject({
      decision: "deny",
      reason: "grant_revoked",
    });
    expect(await metric(verifier, "agentauth_verifier_state_errors_total")).toBeGreaterThan(0);
  });

  it("fails closed within the command timeout when Redis stops answering (half-open link), and recovers", async () => {
    const outage = await proxy();
    const verifier = await verifierBehind(outage);
    const limited = await holder(verifier, rateLimited(2));
    expect((await limited.call()).json.decision).toBe("allow");

    outage.freeze();
    const started = performance.now();
    const unavailable = await limited.call();
    const elapsedMs = performance.now() - started;
    expectUnavailable(unavailable);
    // createRedisClient's commandTimeout is 1 s: a silent Redis does not hold requests longer.
    expect(elapsedMs).toBeLessThan(3000);
    const readiness = await ready(verifier);
    expect(readiness.status).toBe(503);
    expect(readiness.json).toMatchObject({ checks: { redis: false } });

    await outage.restore();
    await waitUntilReady(verifier);
    expect((await limited.call()).json).toMatchObject({ decision: "allow" });
    expect((await limited.call()).json).toMatchObject({ decision: "deny", reason: "rate_limited" });
  });

  it("refuses with 503 while its revocation subscription is down, until it has reloaded", async () => {
    const outage = await proxy();
    // Everything direct, except the revocation subscription.
    const viaProxy = await connect(outage.url);
    const verifier = await harness.startVerifier({
      state: {
        revocationBus: createRedisRevocationBus(viaProxy, {
          keyPrefix,
          subscriberName: uniqueName(),
        }),
      },
      readinessChecks: { redis: () => pingRedis(direct) },
    });
    const kept = await holder(verifier);
    const revoked = await holder(verifier);
    expect((await kept.call()).json.decision).toBe("allow");

    await outage.cut();
    await vi.waitFor(async () => expect((await ready(verifier)).status).toBe(503), {
      timeout: 3000,
      interval: 20,
    });
    expect((await ready(verifier)).json).toMatchObject({
      checks: { redis: true, jwks: true, revocations: false },
    });
    // Redis answers, but the verifier cannot know what was revoked: it allows nothing.
    expectUnavailable(await kept.call());
    await harness.test.admin.post(`/api/grants/${revoked.token.grantId}/revoke`).expect(204);
    expectUnavailable(await revoked.call());

    await outage.restore();
    await waitUntilReady(verifier);
    expect((await kept.call()).json).toMatchObject({ decision: "allow" });
    expect((await revoked.call()).json).toMatchObject({
      decision: "deny",
      reason: "grant_revoked",
    });
    expect(await metric(verifier, "agentauth_verifier_revocation_reloads_total")).toBe(2);
  });
});

function uniqueName(): string {
  return `agentauth-verifier-test-${randomUUID()}`;
}

function expectUnavailable(answer: Exchange): void {
  expect(answer.status, answer.text).toBe(503);
  expect(answer.headers.get("content-type")).toBe("application/problem+json");
  expect(answer.headers.get("retry-after")).toBe("1");
  expect(answer.json).toMatchObject({ status: 503, code: "ERR_UNAVAILABLE" });
  expect(answer.json.decision).toBeUndefined();
}

function ready(verifier: RunningVerifier): Promise<Exchange> {
  return exchange(`${verifier.url}/health/ready`);
}

async function waitUntilReady(verifier: RunningVerifier): Promise<void> {
  await vi.waitFor(async () => expect((await ready(verifier)).status).toBe(200), {
    timeout: 10_000,
    interval: 50,
  });
}

/** The sum of a metric's samples, scraped from /metrics. */
async function metric(verifier: RunningVerifier, name: string): Promise<number> {
  const { text } = await exchange(`${verifier.url}/metrics`);
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}
