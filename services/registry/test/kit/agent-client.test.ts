import { randomBytes } from "node:crypto";
import { createDpopProof, createWebCryptoDpopKey } from "@agentauth/core";
import {
  createMemoryFixedWindowLimiter,
  createMemoryReplayStore,
  type FixedWindowLimiter,
  type ReplayStore,
} from "@agentauth/state";
import * as jose from "jose";
import { beforeAll, expect, it } from "vitest";
import { obtainToken } from "../grants/grant-helpers.js";
import { describeEachDatabase } from "../support/databases.js";
import {
  createOffsetClock,
  createPaymentsProvider,
  createTestRegistry,
  enrolAgent,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";
import { createTestAgent, type DpopProofRequest } from "./agent-client.js";

// The kit's agent with a key pair and proofs of the caller's: what lets an independent client
// library (panva's `dpop`, oauth4webapi) act as the agent the registry enrolled.

const generateP256 = () =>
  crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ]) as Promise<CryptoKeyPair>;

async function thumbprint(keyPair: CryptoKeyPair): Promise<string> {
  const jwk = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
  return jose.calculateJwkThumbprint(jwk as jose.JWK);
}

describeEachDatabase("test kit: the agent's own key pair and proofs", (database) => {
  const clock = createOffsetClock();
  const replayMarks: string[] = [];
  const limiterHits: string[] = [];
  const memoryReplay = createMemoryReplayStore();
  const memoryLimiter = createMemoryFixedWindowLimiter();
  const replayStore: ReplayStore = {
    markUsed(key, expiresAt) {
      replayMarks.push(key);
      return memoryReplay.markUsed(key, expiresAt);
    },
  };
  const limiter: FixedWindowLimiter = {
    hit(key, limit, windowSeconds, now) {
      limiterHits.push(key);
      return memoryLimiter.hit(key, limit, windowSeconds, now);
    },
  };
  let test: TestRegistry;

  beforeAll(async () => {
    test = await createTestRegistry(database.db(), { clock, replayStore, limiter });
    await createPaymentsProvider(test.admin);
  });

  it("runs the registry on the clock, replay store and limiter it is given", async () => {
    expect(test.clock).toBe(clock);
    expect(test.publicUrl).toBe(PUBLIC_URL);
    const marks = replayMarks.length;
    const hits = limiterHits.length;
    await enrolAgent(test);
    expect(replayMarks.length).toBeGreaterThan(marks);
    expect(limiterHits.length).toBeGreaterThan(hits);
  });

  it("enrols the caller's key pair and binds its tokens to it", async () => {
    const keyPair = await generateP256();
    const agent = await enrolAgent(test, test.admin, { keyPair, name: "own key bot" });
    expect(agent.jkt).toBe(await thumbprint(keyPair));
    const token = await obtainToken(test, agent);
    expect(token.claims.cnf).toEqual({ jkt: await thumbprint(keyPair) });
  });

  it("makes every DPoP proof with createProof when given, the registry's nonce included", async () => {
    const keyPair = await generateP256();
    const key = await createWebCryptoDpopKey(keyPair);
    const requests: DpopProofRequest[] = [];
    const agent = await enrolAgent(test, test.admin, {
      keyPair,
      createProof(request) {
        requests.push(request);
        // Stands in for another library's proof of the request, by the same key.
        const jti = randomBytes(16).toString("base64url");
        return createDpopProof({ key, ...request, now: clock.now(), jti });
      },
    });
    await obtainToken(test, agent);
    expect(requests[0]).toEqual({ method: "POST", url: `${PUBLIC_URL}/agents/enroll` });
    expect(requests).toContainEqual({ method: "POST", url: `${PUBLIC_URL}/oauth/token` });
    expect(requests.at(-1)).toEqual({
      method: "POST",
      url: `${PUBLIC_URL}/oauth/token`,
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/),
    });
  });

  it("refuses to enrol an agent whose createProof signs with another key", async () => {
    const impostor = await createTestAgent(test.registry.app, PUBLIC_URL, clock);
    await expect(
      enrolAgent(test, test.admin, {
        keyPair: await generateP256(),
        createProof: (request) => impostor.proof(request.method, new URL(request.url).pathname),
      }),
    ).rejects.toThrow(/not the agent's/);
  });

  it("refuses a key pair that is not ECDSA P-256", async () => {
    const ed25519 = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    await expect(
      createTestAgent(test.registry.app, PUBLIC_URL, clock, { keyPair: ed25519 }),
    ).rejects.toThrow(TypeError);
  });
});
