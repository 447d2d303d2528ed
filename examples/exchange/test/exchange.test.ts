import { randomBytes } from "node:crypto";
import {
  type GuardedServiceProvider,
  startGuardedServiceProvider,
  startTestPlatform,
  type TestPlatform,
  testBackend,
} from "@agentauth/embedded-platform/testing";
import { EXCHANGE } from "@agentauth/examples-kit";
import type { Verification } from "@agentauth/express";
import { type Agent, isAgentAuthSdkError } from "@agentauth/sdk";
import { connectTestRedis, deleteKeys, redisUrl, uniqueKeyPrefix } from "@agentauth/state/testing";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createExchangeClient,
  createExchangeKey,
  type ExchangeClient,
  openPayloadText,
  sealPayload,
} from "../src/client/index.js";
import { createExchangeApp } from "../src/create-exchange-app.js";
import { ExchangeError } from "../src/errors.js";
import { createMemoryPayloadStore } from "../src/store/memory-payload-store.js";
import type { PayloadStore, StoredPayload } from "../src/store/payload-store.js";
import { createRedisPayloadStore } from "../src/store/redis-payload-store.js";

// The exchange end to end: a real registry and verifier (the embedded platform's co-hosting
// process), agents of the real SDK approved by a human with a software passkey, the exchange
// guarded by @agentauth/express asking the verifier over HTTP. The payload store is Redis with
// REDIS_URL, memory otherwise.

interface ExchangeUnderTest {
  url: string;
  /** Every payload the exchange stored, as it stored it. */
  readonly stored: StoredPayload[];
  /** How many decisions the exchange asked the verifier for. */
  verifications: number;
  storeDown: boolean;
}

async function startExchange(
  test: TestPlatform,
  store: PayloadStore,
): Promise<{ exchange: ExchangeUnderTest; provider: GuardedServiceProvider }> {
  const exchange: ExchangeUnderTest = { url: "", stored: [], verifications: 0, storeDown: false };
  const down = () => new ExchangeError("ERR_STORE_UNAVAILABLE", "The payload store is unavailable");
  const recording: PayloadStore = {
    async put(payload) {
      if (exchange.storeDown) throw down();
      exchange.stored.push(payload);
      return store.put(payload);
    },
    async take(hash, options) {
      if (exchange.storeDown) throw down();
      return store.take(hash, options);
    },
    async ping() {
      if (exchange.storeDown) throw down();
      return store.ping();
    },
    close: () => store.close(),
  };
  const provider = await startGuardedServiceProvider(
    test,
    EXCHANGE,
    (agentAuth) =>
      createExchangeApp({
        agentAuth,
        store: recording,
        clock: test.clock,
        logger: pino({ level: "silent" }),
        limits: { maxTtlSeconds: 3600, maxPayloadBytes: 4096 },
      }),
    {
      wrapVerification: (remote): Verification => ({
        verify(request) {
          exchange.verifications += 1;
          return remote.verify(request);
        },
        close: () => remote.close(),
      }),
    },
  );
  exchange.url = provider.url;
  return { exchange, provider };
}

function clientOf(agent: Agent, url: string): ExchangeClient {
  return createExchangeClient({
    baseUrl: url,
    fetch: (input, init) => agent.fetch(input, { ...init, serviceProvider: EXCHANGE.id }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

describe(`the exchange example (${testBackend().name}; ${redisUrl ? "Redis" : "memory"} store)`, () => {
  let test: TestPlatform;
  let provider: GuardedServiceProvider;
  let exchange: ExchangeUnderTest;
  let redis: Redis | undefined;
  const keyPrefix = uniqueKeyPrefix();
  let publisher: { agent: Agent; client: ExchangeClient };
  let reader: { agent: Agent; client: ExchangeClient };

  beforeAll(async () => {
    test = await startTestPlatform();
    redis = redisUrl === undefined ? undefined : await connectTestRedis();
    const store =
      redis === undefined
        ? createMemoryPayloadStore()
        : createRedisPayloadStore(redis, { keyPrefix });
    ({ exchange, provider } = await startExchange(test, store));
    const [write, read] = await Promise.all([
      test.agentWithGrant({
        serviceProvider: EXCHANGE.id,
        capabilities: [{ type: "write", resource: "exchange/*" }],
      }),
      test.agentWithGrant({
        serviceProvider: EXCHANGE.id,
        capabilities: [{ type: "read", resource: "exchange/*" }],
      }),
    ]);
    publisher = { agent: write.agent, client: clientOf(write.agent, exchange.url) };
    reader = { agent: read.agent, client: clientOf(read.agent, exchange.url) };
  });
  afterAll(async () => {
    await provider?.close();
    if (redis !== undefined) {
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
    }
    await test?.close();
  });

  it("passes a sealed payload from one agent to another; the exchange never sees the plaintext", async () => {
    const key = createExchangeKey();
    const plaintext = `Boarding pass ${randomBytes(8).toString("hex")}`;
    const sealed = await sealPayload({ key, namespace: "trip-42", plaintext });
    const published = await publisher.client.publish({
      namespace: "trip-42",
      sealed,
      mode: "reusable",
      ttlSeconds: 600,
      contentType: "text/plain",
    });
    expect(published.token).toMatch(/^dt_[A-Za-z0-9_-]{43}$/);
    expect(published.expiresAt.getTime()).toBeGreaterThan(test.clock.now().getTime());

    for (const count of [1, 2]) {
      const retrieved = await reader.client.retrieve({
        namespace: "trip-42",
        token: published.token,
      });
      expect(retrieved).toMatchObject({
        mode: "reusable",
        contentType: "text/plain",
        publishedBy: publisher.agent.id,
        retrievals: count,
      });
      expect(await openPayloadText({ key, namespace: "trip-42", sealed: retrieved.sealed })).toBe(
        plaintext,
      );
    }
    // What the service kept: ciphertext, the token only hashed, no plaintext and no key.
    const kept = JSON.stringify(exchange.stored);
    expect(kept).not.toContain(plaintext);
    expect(kept).not.toContain(Buffer.from(plaintext).toString("base64url").slice(0, 12));
    expect(kept).not.toContain(key);
    expect(kept).not.toContain(published.token);
  });

  it("hands a one-time payload to exactly one of 25 concurrent retrievals", async () => {
    const key = createExchangeKey();
    const sealed = await sealPayload({ key, namespace: "race", plaintext: "only once" });
    const { token } = await publisher.client.publish({
      namespace: "race",
      sealed,
      mode: "once",
      ttlSeconds: 600,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 25 }, () => reader.client.retrieve({ namespace: "race", token })),
    );
    const fulfilled = results.filter((result) => result.status === "fulfilled");
    expect(fulfilled).toHaveLength(1);
    const won = (fulfilled[0] as PromiseFulfilledResult<{ sealed: string; retrievals: number }>)
      .value;
    expect(won.retrievals).toBe(1);
    expect(await openPayloadText({ key, namespace: "race", sealed: won.sealed })).toBe("only once");
    for (const result of results.filter((r) => r.status === "rejected")) {
      expect((result as PromiseRejectedResult).reason).toMatchObject({
        code: "ERR_DATA_TOKEN_USED",
        status: 410,
      });
    }
    // And it stays used.
    expect(await rejection(reader.client.retrieve({ namespace: "race", token }))).toMatchObject({
      code: "ERR_DATA_TOKEN_USED",
    });
  });

  it("refuses an expired token, one-time or reusable, with a clear error", async () => {
    const key = createExchangeKey();
    const tokens = await Promise.all(
      (["once", "reusable"] as const).map(async (mode) => {
        const sealed = await sealPayload({ key, namespace: "ttl", plaintext: mode });
        return (await publisher.client.publish({ namespace: "ttl", sealed, mode, ttlSeconds: 30 }))
          .token;
      }),
    );
    test.clock.advance(31);
    for (const token of tokens) {
      const error = await rejection(reader.client.retrieve({ namespace: "ttl", token }));
      expect(error).toBeInstanceOf(ExchangeError);
      expect(error).toMatchObject({ code: "ERR_DATA_TOKEN_EXPIRED", status: 410 });
      expect((error as Error).message).toBe("This data token has expired");
    }
  });

  it("knows no token of another namespace, and consumes nothing trying", async () => {
    const sealed = await sealPayload({ key: createExchangeKey(), namespace: "a", plaintext: "x" });
    const { token } = await publisher.client.publish({
      namespace: "a",
      sealed,
      mode: "once",
      ttlSeconds: 600,
    });
    expect(await rejection(reader.client.retrieve({ namespace: "b", token }))).toMatchObject({
      code: "ERR_DATA_TOKEN_UNKNOWN",
      status: 404,
    });
    const unknown = `dt_${randomBytes(32).toString("base64url")}`;
    expect(
      await rejection(reader.client.retrieve({ namespace: "a", token: unknown })),
    ).toMatchObject({
      code: "ERR_DATA_TOKEN_UNKNOWN",
    });
    expect((await reader.client.retrieve({ namespace: "a", token })).retrievals).toBe(1);
  });

  it("lets the verifier enforce the capabilities: write to publish, read to retrieve, per namespace", async () => {
    const sealed = await sealPayload({
      key: createExchangeKey(),
      namespace: "caps",
      plaintext: "x",
    });
    const readerPublishes = await rejection(
      reader.client.publish({ namespace: "caps", sealed, mode: "once", ttlSeconds: 60 }),
    );
    expect(isAgentAuthSdkError(readerPublishes, "ERR_INSUFFICIENT_CAPABILITY")).toBe(true);
    const { token } = await publisher.client.publish({
      namespace: "caps",
      sealed,
      mode: "once",
      ttlSeconds: 60,
    });
    const publisherReads = await rejection(publisher.client.retrieve({ namespace: "caps", token }));
    expect(isAgentAuthSdkError(publisherReads, "ERR_INSUFFICIENT_CAPABILITY")).toBe(true);

    const narrow = await test.agentWithGrant({
      serviceProvider: EXCHANGE.id,
      capabilities: [{ type: "read", resource: "exchange/team-a" }],
    });
    const narrowClient = clientOf(narrow.agent, exchange.url);
    const elsewhere = await rejection(narrowClient.retrieve({ namespace: "caps", token }));
    expect(isAgentAuthSdkError(elsewhere, "ERR_INSUFFICIENT_CAPABILITY")).toBe(true);
    // None of those refusals used the one-time token up.
    expect((await reader.client.retrieve({ namespace: "caps", token })).retrievals).toBe(1);
  });

  it("refuses an agent without a token, and malformed requests before asking the verifier", async () => {
    const sealed = await sealPayload({ key: createExchangeKey(), namespace: "n", plaintext: "x" });
    const anonymous = await fetch(`${exchange.url}/v1/namespaces/n/payloads`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ciphertext: sealed, mode: "once", ttl_seconds: 60 }),
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^DPoP /);

    const before = exchange.verifications;
    const publish = (namespace: string, body: unknown) =>
      publisher.agent.fetch(`${exchange.url}/v1/namespaces/${namespace}/payloads`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        serviceProvider: EXCHANGE.id,
      });
    const cases: Array<[string, unknown, number, string]> = [
      [
        "n",
        { ciphertext: "plain text, not sealed", mode: "once", ttl_seconds: 60 },
        400,
        "ciphertext",
      ],
      ["n", { ciphertext: sealed, mode: "once", ttl_seconds: 3601 }, 400, "ttl_seconds"],
      ["n", { ciphertext: sealed, mode: "twice", ttl_seconds: 60 }, 400, "mode"],
      ["n", { ciphertext: sealed, mode: "once", ttl_seconds: 60, extra: 1 }, 400, "extra"],
      ["Bad_Namespace", { ciphertext: sealed, mode: "once", ttl_seconds: 60 }, 400, "must be"],
      [
        "n",
        { ciphertext: `v1.${"A".repeat(16)}.${"B".repeat(5000)}`, mode: "once", ttl_seconds: 60 },
        400,
        "at most",
      ],
      ["n", { ciphertext: "x".repeat(10_000), mode: "once", ttl_seconds: 60 }, 413, "too large"],
    ];
    for (const [namespace, body, status, mentions] of cases) {
      const response = await publish(namespace, body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      const problem = (await response.json()) as { code: string; detail: string };
      expect(problem.code).toBe(status === 413 ? "ERR_PAYLOAD_TOO_LARGE" : "ERR_VALIDATION");
      expect(problem.detail).toContain(mentions);
    }
    const badToken = await reader.agent.fetch(`${exchange.url}/v1/namespaces/n/retrievals`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: "dt_short" }),
      serviceProvider: EXCHANGE.id,
    });
    expect(badToken.status).toBe(400);
    expect(exchange.verifications).toBe(before);
  });

  it("answers 503 while its store is down, and is not ready", async () => {
    exchange.storeDown = true;
    try {
      const sealed = await sealPayload({
        key: createExchangeKey(),
        namespace: "n",
        plaintext: "x",
      });
      expect(
        await rejection(
          publisher.client.publish({ namespace: "n", sealed, mode: "once", ttlSeconds: 60 }),
        ),
      ).toMatchObject({ code: "ERR_STORE_UNAVAILABLE", status: 503 });
      expect((await fetch(`${exchange.url}/health/ready`)).status).toBe(503);
    } finally {
      exchange.storeDown = false;
    }
    expect((await fetch(`${exchange.url}/health/ready`)).status).toBe(200);
    expect((await fetch(`${exchange.url}/health/live`)).status).toBe(200);
  });
});
