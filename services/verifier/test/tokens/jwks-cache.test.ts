import { AgentAuthError, createKeyCache, type JsonWebKeySet } from "@agentauth/core";
import { describe, expect, it, vi } from "vitest";
import { createJwksCache, type JwksCacheOptions } from "../../src/tokens/jwks-cache.js";
import { createTokenVerifier } from "../../src/tokens/token-verifier.js";
import {
  createAgentKey,
  createTokenSigner,
  ISSUER,
  PROVIDER,
  startBareVerifier,
  startJwksServer,
  tokenClaims,
} from "../support/bare-verifier.js";
import { exchange } from "../support/http.js";
import { verifyBody } from "../support/verifier-harness.js";

const URL_ = "https://registry.test/.well-known/jwks.json";
const key = (kid: string) => ({ kty: "EC", crv: "P-256", x: "x", y: "y", kid });

/** A registry's JWKS endpoint as a `fetch`: counts calls, can be held, broken or changed. */
function createFakeRegistry(keys: Record<string, unknown>[]) {
  const registry = {
    keys,
    calls: 0,
    down: false,
    /** Served instead of the key set when set. */
    body: undefined as string | undefined,
    status: 200,
    gate: undefined as Promise<void> | undefined,
    fetch: (async (url: string | URL | Request) => {
      registry.calls += 1;
      expect(String(url)).toBe(URL_);
      await registry.gate;
      if (registry.down) throw new TypeError("fetch failed: connect ECONNREFUSED");
      return new Response(registry.body ?? JSON.stringify({ keys: registry.keys }), {
        status: registry.status,
        headers: { "content-type": "application/json" },
      });
    }) as typeof globalThis.fetch,
  };
  return registry;
}

function cacheFor(
  registry: ReturnType<typeof createFakeRegistry>,
  options: Partial<JwksCacheOptions> = {},
) {
  let nowMs = 1_000_000;
  const outcomes: string[] = [];
  const changes: JsonWebKeySet[] = [];
  const cache = createJwksCache({
    url: URL_,
    fetch: registry.fetch,
    now: () => nowMs,
    onFetch: (outcome) => outcomes.push(outcome),
    ...options,
  });
  cache.onChange((keys) => changes.push(keys));
  return {
    cache,
    outcomes,
    changes,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

const kids = (keys: JsonWebKeySet | undefined) => keys?.keys.map((entry) => entry.kid);

describe("createJwksCache", () => {
  it("knows no keys before its first fetch, and the registry's after it", async () => {
    const registry = createFakeRegistry([key("k1")]);
    const { cache, outcomes, changes } = cacheFor(registry);
    expect(cache.current()).toBeUndefined();
    expect(await cache.start()).toBe(true);
    cache.stop();
    expect(kids(cache.current())).toEqual(["k1"]);
    expect(outcomes).toEqual(["changed"]);
    expect(changes).toHaveLength(1);
    expect(registry.calls).toBe(1);
  });

  it("refreshes in the background, telling listeners only of changes", async () => {
    const registry = createFakeRegistry([key("k1")]);
    const { cache, outcomes, changes } = cacheFor(registry, { refreshIntervalMs: 20 });
    await cache.start();
    try {
      await vi.waitFor(() => expect(outcomes).toContain("unchanged"), { timeout: 2000 });
      expect(changes).toHaveLength(1);
      registry.keys = [key("k1"), key("k2")];
      await vi.waitFor(() => expect(kids(cache.current())).toEqual(["k1", "k2"]), {
        timeout: 2000,
      });
      expect(changes.map(kids)).toEqual([["k1"], ["k1", "k2"]]);
    } finally {
      cache.stop();
    }
    const calls = registry.calls;
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(registry.calls).toBe(calls);
  });

  it("stops refreshing when stopped during a background fetch", async () => {
    const registry = createFakeRegistry([key("k1")]);
    const { cache } = cacheFor(registry, { refreshIntervalMs: 20 });
    await cache.start();
    let open: () => void = () => {};
    registry.gate = new Promise((resolve) => {
      open = resolve;
    });
    await vi.waitFor(() => expect(registry.calls).toBe(2), { timeout: 2000 });
    cache.stop();
    registry.gate = undefined;
    open();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(registry.calls).toBe(2);
  });

  it("refetches once for an unknown kid, shared by concurrent callers and rate-limited", async () => {
    const registry = createFakeRegistry([key("k1")]);
    const { cache, advance } = cacheFor(registry, { minRefetchIntervalMs: 10_000 });
    await cache.start();
    cache.stop();
    expect(registry.calls).toBe(1);
    // A known kid costs nothing.
    expect(await cache.refreshForKid("k1")).toBe(true);
    // Too soon after the last fetch: no refetch.
    advance(9_999);
    expect(await cache.refreshForKid("k2")).toBe(false);
    expect(registry.calls).toBe(1);

    advance(1);
    registry.keys = [key("k1"), key("k2")];
    let open: () => void = () => {};
    registry.gate = new Promise((resolve) => {
      open = resolve;
    });
    const answers = Promise.all(Array.from({ length: 20 }, () => cache.refreshForKid("k2")));
    open();
    expect(await answers).toEqual(Array(20).fill(true));
    expect(registry.calls).toBe(2);

    // Another unknown kid right after: refused without a fetch, then one fetch once allowed.
    expect(await cache.refreshForKid("k3")).toBe(false);
    expect(registry.calls).toBe(2);
    advance(10_000);
    expect(await Promise.all([cache.refreshForKid("k3"), cache.refreshForKid("k3")])).toEqual([
      false,
      false,
    ]);
    expect(registry.calls).toBe(3);
  });

  it("keeps its keys while the registry is down", async () => {
    const registry = createFakeRegistry([key("k1")]);
    const { cache, outcomes, advance } = cacheFor(registry, { refreshIntervalMs: 20 });
    await cache.start();
    try {
      registry.down = true;
      await vi.waitFor(() => expect(outcomes).toContain("failed"), { timeout: 2000 });
      advance(60_000);
      expect(await cache.refreshForKid("k2")).toBe(false);
      expect(kids(cache.current())).toEqual(["k1"]);
      expect(await cache.refreshForKid("k1")).toBe(true);
    } finally {
      cache.stop();
    }
  });

  it.each([
    ["an error status", { status: 503 }],
    ["a body that is not JSON", { body: "<html>" }],
    ["a body without a keys array", { body: '{"keys":"k1"}' }],
    ["keys that are not objects", { body: '{"keys":[1]}' }],
  ])("treats %s as a failed fetch and keeps its keys", async (_name, answer) => {
    const registry = createFakeRegistry([key("k1")]);
    const { cache, outcomes, advance } = cacheFor(registry);
    await cache.start();
    cache.stop();
    Object.assign(registry, answer);
    advance(60_000);
    expect(await cache.refreshForKid("k2")).toBe(false);
    expect(outcomes).toEqual(["changed", "failed"]);
    expect(kids(cache.current())).toEqual(["k1"]);
  });

  it("retries often until its first fetch succeeds", async () => {
    const registry = createFakeRegistry([key("k1")]);
    registry.down = true;
    const { cache } = cacheFor(registry, { retryIntervalMs: 20, refreshIntervalMs: 60_000 });
    expect(await cache.start()).toBe(false);
    try {
      expect(cache.current()).toBeUndefined();
      await vi.waitFor(() => expect(registry.calls).toBeGreaterThanOrEqual(3), { timeout: 2000 });
      registry.down = false;
      await vi.waitFor(() => expect(kids(cache.current())).toEqual(["k1"]), { timeout: 2000 });
      // Then it settles to the refresh interval.
      const calls = registry.calls;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(registry.calls).toBe(calls);
    } finally {
      cache.stop();
    }
  });
});

describe("createTokenVerifier with a JWKS that changes", () => {
  it("verifies a token signed with a new key after one refetch, and empties its cache when the key set changes", async () => {
    const first = await createTokenSigner("k1");
    const second = await createTokenSigner("k2");
    const served = await startJwksServer([first.jwk]);
    let nowMs = Date.now();
    const jwks = createJwksCache({ url: served.url, now: () => nowMs });
    const tokens = createTokenVerifier({
      jwks,
      issuer: ISSUER,
      clockSkewSeconds: 5,
      keyCache: createKeyCache(),
      cacheSize: 100,
    });
    try {
      await jwks.start();
      jwks.stop();
      const agent = await createAgentKey();
      const oldToken = await first.sign(tokenClaims(agent));
      const verify = (token: string) => tokens.verify(token, PROVIDER, new Date());
      expect((await verify(oldToken)).cached).toBe(false);
      expect((await verify(oldToken)).cached).toBe(true);

      // The registry rotates: the new key joins the set, the old one stays for its tokens.
      served.keys = [second.jwk, first.jwk];
      nowMs += 10_000;
      const newToken = await second.sign(tokenClaims(agent));
      expect((await verify(newToken)).kid).toBe("k2");
      expect(served.fetches).toBe(2);
      // The key set changed, so what was verified under the old one is checked again.
      expect((await verify(oldToken)).cached).toBe(false);
      expect((await verify(oldToken)).cached).toBe(true);

      // The old key is retired: once the verifier has fetched the new set (the background
      // refresh, here a refetch for another unknown kid), its tokens are refused, cached or not.
      served.keys = [second.jwk];
      nowMs += 10_000;
      expect(await jwks.refreshForKid("k3")).toBe(false);
      expect(served.fetches).toBe(3);
      await expect(verify(oldToken)).rejects.toMatchObject({ code: "ERR_TOKEN_KID_UNKNOWN" });
      await expect(verify(await first.sign(tokenClaims(agent)))).rejects.toBeInstanceOf(
        AgentAuthError,
      );
      expect((await verify(newToken)).cached).toBe(false);
    } finally {
      await served.close();
    }
  });

  it("remembers tokens up to its size, refuses a remembered token once expired, and can remember none", async () => {
    const signer = await createTokenSigner("k1");
    const served = await startJwksServer([signer.jwk]);
    const jwks = createJwksCache({ url: served.url });
    await jwks.start();
    jwks.stop();
    try {
      const agent = await createAgentKey();
      const make = (size: number) =>
        createTokenVerifier({
          jwks,
          issuer: ISSUER,
          clockSkewSeconds: 5,
          keyCache: createKeyCache(),
          cacheSize: size,
        });
      const now = new Date();
      const [a, b, c] = await Promise.all(
        [1, 2, 3].map(() =>
          signer.sign(tokenClaims(agent, { exp: Math.floor(now.getTime() / 1000) + 60 })),
        ),
      );
      const two = make(2);
      for (const token of [a, b, c]) await two.verify(token as string, PROVIDER, now);
      expect(two.size).toBe(2);
      expect((await two.verify(c as string, PROVIDER, now)).cached).toBe(true);
      expect((await two.verify(a as string, PROVIDER, now)).cached).toBe(false);
      const later = new Date(now.getTime() + 66_000);
      await expect(two.verify(a as string, PROVIDER, later)).rejects.toMatchObject({
        code: "ERR_TOKEN_EXPIRED",
      });
      // Cached for one audience only.
      await expect(two.verify(c as string, "https://other.example", now)).rejects.toMatchObject({
        code: "ERR_TOKEN_AUDIENCE_MISMATCH",
      });
      const none = make(0);
      await none.verify(a as string, PROVIDER, now);
      expect((await none.verify(a as string, PROVIDER, now)).cached).toBe(false);
      expect(none.size).toBe(0);
    } finally {
      await served.close();
    }
  });
});

describe("the verifier and the registry's JWKS", () => {
  it("is not ready before its first JWKS fetch, and becomes ready by itself", async () => {
    const signer = await createTokenSigner("k1");
    const served = await startJwksServer([signer.jwk]);
    served.up = false;
    const verifier = await startBareVerifier({ jwks: served });
    try {
      const ready = () => exchange(`${verifier.url}/health/ready`);
      const answer = await ready();
      expect(answer.status).toBe(503);
      expect(answer.json).toMatchObject({ checks: { jwks: false, revocations: true } });
      // Without keys nothing is allowed.
      const agent = await createAgentKey();
      const token = await signer.sign(tokenClaims(agent));
      const body = await verifyBody(agent, token, { nonce: await verifier.nonce() });
      expect((await verifier.verify(body)).json).toMatchObject({ decision: "deny" });

      served.up = true;
      // The first fetch is retried every 2 s.
      await vi.waitFor(async () => expect((await ready()).status).toBe(200), {
        timeout: 6000,
        interval: 100,
      });
      const fresh = await verifyBody(agent, token, { nonce: await verifier.nonce() });
      expect((await verifier.verify(fresh)).json).toMatchObject({ decision: "allow" });
    } finally {
      await verifier.stop();
      await served.close();
    }
  });

  it("keeps verifying new tokens on its cached keys while the registry is down", async () => {
    const verifier = await startBareVerifier();
    try {
      verifier.jwks.up = false;
      const agent = await createAgentKey();
      const token = await verifier.signer.sign(tokenClaims(agent));
      const body = await verifyBody(agent, token, { nonce: await verifier.nonce() });
      expect((await verifier.verify(body)).json).toMatchObject({ decision: "allow" });
      expect((await exchange(`${verifier.url}/health/ready`)).status).toBe(200);
    } finally {
      await verifier.stop();
    }
  });
});
