import {
  createMemoryServiceProviderKeyDirectory,
  type ServiceProviderKeyDirectory,
  StateError,
} from "@agentauth/state";
import { describe, expect, it, vi } from "vitest";
import { createApiKeyAuthenticator } from "../../src/service-providers/api-key-authenticator.js";
import { createApiKey, PROVIDER, publishKey, startBareVerifier } from "../support/bare-verifier.js";
import { exchange } from "../support/http.js";

/** A key directory that counts lookups, and can hold them or fail them. */
function createCountingDirectory() {
  const inner = createMemoryServiceProviderKeyDirectory();
  const counting = {
    lookups: 0,
    gate: undefined as Promise<void> | undefined,
    failWith: undefined as Error | undefined,
    directory: {
      put: (records) => inner.put(records),
      async get(prefix) {
        counting.lookups += 1;
        await counting.gate;
        if (counting.failWith !== undefined) throw counting.failWith;
        return inner.get(prefix);
      },
    } satisfies ServiceProviderKeyDirectory,
  };
  return counting;
}

async function setUp(cacheMs = 5000) {
  const counting = createCountingDirectory();
  const apiKey = createApiKey();
  await publishKey(counting.directory, apiKey);
  let nowMs = 1_000_000;
  const authenticator = createApiKeyAuthenticator({
    directory: counting.directory,
    cacheMs,
    now: () => nowMs,
  });
  return {
    counting,
    apiKey,
    authenticator,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

describe("createApiKeyAuthenticator", () => {
  it("names the service provider of a valid key, looking its prefix up once per cacheMs", async () => {
    const { counting, apiKey, authenticator, advance } = await setUp(5000);
    expect(await authenticator.authenticate(`Bearer ${apiKey}`)).toBe(PROVIDER);
    expect(await authenticator.authenticate(`bearer ${apiKey}`)).toBe(PROVIDER);
    advance(4999);
    expect(await authenticator.authenticate(`Bearer ${apiKey}`)).toBe(PROVIDER);
    expect(counting.lookups).toBe(1);
    advance(1);
    expect(await authenticator.authenticate(`Bearer ${apiKey}`)).toBe(PROVIDER);
    expect(counting.lookups).toBe(2);
  });

  it("stops accepting a revoked key once its cached lookup is cacheMs old", async () => {
    const { counting, apiKey, authenticator, advance } = await setUp(5000);
    expect(await authenticator.authenticate(`Bearer ${apiKey}`)).toBe(PROVIDER);
    await publishKey(counting.directory, apiKey, PROVIDER, true);
    advance(4999);
    // Still trusted from the cache: this is the documented delay.
    expect(await authenticator.authenticate(`Bearer ${apiKey}`)).toBe(PROVIDER);
    advance(1);
    expect(await authenticator.authenticate(`Bearer ${apiKey}`)).toBeUndefined();
    advance(60_000);
    expect(await authenticator.authenticate(`Bearer ${apiKey}`)).toBeUndefined();
  });

  it("refuses a wrong secret under a known prefix, and an unknown prefix (cached as well)", async () => {
    const { counting, apiKey, authenticator } = await setUp();
    const wrongSecret = `${apiKey.slice(0, 17)}${createApiKey().slice(17)}`;
    expect(wrongSecret.slice(0, 17)).toBe(apiKey.slice(0, 17));
    expect(wrongSecret).not.toBe(apiKey);
    expect(await authenticator.authenticate(`Bearer ${wrongSecret}`)).toBeUndefined();
    expect(await authenticator.authenticate(`Bearer ${apiKey}`)).toBe(PROVIDER);
    const unknown = createApiKey();
    expect(await authenticator.authenticate(`Bearer ${unknown}`)).toBeUndefined();
    expect(await authenticator.authenticate(`Bearer ${unknown}`)).toBeUndefined();
    expect(counting.lookups).toBe(2);
  });

  it.each([
    ["no header", undefined],
    ["an empty header", ""],
    ["the bare scheme", "Bearer"],
    ["two spaces", "Bearer  KEY"],
    ["another scheme", "Token KEY"],
    ["a key of another shape", "Bearer aask_short_secret"],
    ["the key without its scheme", "KEY"],
    ["trailing text", "Bearer KEY extra"],
  ])("refuses %s without asking the directory", async (_name, header) => {
    const { counting, apiKey, authenticator } = await setUp();
    expect(await authenticator.authenticate(header?.replace("KEY", apiKey))).toBeUndefined();
    expect(counting.lookups).toBe(0);
  });

  it("shares one directory lookup between concurrent requests", async () => {
    const { counting, apiKey, authenticator } = await setUp();
    let open: () => void = () => {};
    counting.gate = new Promise((resolve) => {
      open = resolve;
    });
    const answers = Promise.all(
      Array.from({ length: 10 }, () => authenticator.authenticate(`Bearer ${apiKey}`)),
    );
    open();
    expect(await answers).toEqual(Array(10).fill(PROVIDER));
    expect(counting.lookups).toBe(1);
  });

  it("lets a directory failure through, to every waiting request, and does not remember it", async () => {
    const { counting, apiKey, authenticator } = await setUp();
    counting.failWith = new StateError("ERR_STATE_UNAVAILABLE", "Redis is away");
    const attempts = await Promise.allSettled([
      authenticator.authenticate(`Bearer ${apiKey}`),
      authenticator.authenticate(`Bearer ${apiKey}`),
    ]);
    for (const attempt of attempts) {
      expect(attempt.status).toBe("rejected");
      expect((attempt as PromiseRejectedResult).reason).toBeInstanceOf(StateError);
    }
    expect(counting.lookups).toBe(1);
    counting.failWith = undefined;
    expect(await authenticator.authenticate(`Bearer ${apiKey}`)).toBe(PROVIDER);
    expect(counting.lookups).toBe(2);
  });
});

describe("service-provider authentication over HTTP", () => {
  it("answers 503 with Retry-After when the key directory is unavailable, 500 without detail on a bug", async () => {
    const counting = createCountingDirectory();
    const verifier = await startBareVerifier({ state: { keyDirectory: counting.directory } });
    try {
      counting.failWith = new StateError("ERR_STATE_UNAVAILABLE", "Redis is away");
      const unavailable = await verifier.verify({});
      expect(unavailable.status).toBe(503);
      expect(unavailable.headers.get("content-type")).toBe("application/problem+json");
      expect(unavailable.headers.get("retry-after")).toBe("1");
      expect(unavailable.json).toMatchObject({ code: "ERR_UNAVAILABLE", status: 503 });

      counting.failWith = new TypeError("secret internal detail");
      const broken = await verifier.verify({});
      expect(broken.status).toBe(500);
      expect(broken.json).toMatchObject({ code: "ERR_INTERNAL" });
      expect(broken.text).not.toContain("secret internal detail");
      expect(broken.json.detail).toContain(broken.headers.get("x-request-id"));

      counting.failWith = undefined;
      expect((await verifier.verify({})).status).toBe(400);
    } finally {
      await verifier.stop();
    }
  });

  it("stops accepting a revoked key within VERIFIER_API_KEY_CACHE_SECONDS", async () => {
    const verifier = await startBareVerifier({ apiKeyCacheSeconds: 1 });
    try {
      const metadata = () =>
        exchange(`${verifier.url}/v1/protected-resource-metadata`, {
          headers: { authorization: `Bearer ${verifier.apiKey}` },
        });
      expect((await metadata()).status).toBe(200);
      await publishKey(verifier.state.keyDirectory, verifier.apiKey, PROVIDER, true);
      const revokedAt = performance.now();
      await vi.waitFor(async () => expect((await metadata()).status).toBe(401), {
        timeout: 3000,
        interval: 50,
      });
      expect(performance.now() - revokedAt).toBeLessThan(1500);
    } finally {
      await verifier.stop();
    }
  });
});
