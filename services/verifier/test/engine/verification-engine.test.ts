import { randomBytes } from "node:crypto";
import { PAYMENTS, PUBLIC_URL, type TestAgent } from "@agentauth/registry/testing";
import {
  createMemoryAdmissionStore,
  createMemoryRevocationBus,
  createRedisDecisionLog,
  createRedisRevocationBus,
  createRedisServiceProviderKeyDirectory,
} from "@agentauth/state";
import { connectTestRedis, deleteKeys, redisUrl, uniqueKeyPrefix } from "@agentauth/state/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createVerificationEngine,
  type VerificationEngine,
  type VerificationEngineOptions,
  type VerifyRequest,
} from "../../src/engine/index.js";
import { createRedisVerifierState } from "../support/redis-state.js";
import {
  agentWithToken,
  createVerifierHarness,
  learnNonce,
  type RunningVerifier,
  type VerifierHarness,
  verifyBody,
} from "../support/verifier-harness.js";

// The engine is the verifier without its HTTP surface: what it answers is what POST /v1/verify
// answers, because the service is built on it. These tests run an engine next to a verifier
// service sharing its state and nonce secret, and compare.

const read = { type: "read", resource: "reports/q3" } as const;
/** What the tests' grants allow unless told otherwise. */
const READ_REPORTS = [
  { type: "read", resource: "reports/*" },
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
];

describe("createVerificationEngine", () => {
  const nonceSecret = randomBytes(32);
  let harness: VerifierHarness;
  let service: RunningVerifier;
  let engine: VerificationEngine;
  const engines: VerificationEngine[] = [];
  let shared: TestAgent | undefined;

  const startEngine = (options: Partial<VerificationEngineOptions> = {}) => {
    const started = createVerificationEngine({
      issuer: PUBLIC_URL,
      jwks: `${harness.registryUrl}/.well-known/jwks.json`,
      state: harness.state,
      dpopNonceSecret: nonceSecret,
      clock: harness.test.clock,
      auditAllows: "all",
      ...options,
    });
    engines.push(started);
    return started;
  };
  /** A token of a new grant, and a nonce both the engine and the service accept. */
  const holder = async (details: unknown = READ_REPORTS) => {
    const { agent, token } = await agentWithToken(harness, details, shared);
    shared = agent;
    const nonce = await learnNonce(service, agent, token.accessToken);
    const request = async (action: Record<string, unknown> = read) =>
      (await verifyBody(agent, token.accessToken, { nonce, action })) as unknown as VerifyRequest;
    return { agent, token, nonce, request };
  };

  beforeAll(async () => {
    harness = await createVerifierHarness();
    service = await harness.startVerifier({ dpopNonceSecret: nonceSecret, auditAllows: "all" });
    engine = startEngine();
    expect(await engine.ready()).toBe(true);
  });
  afterAll(async () => {
    await Promise.all(engines.map((started) => started.close()));
    await harness.close();
  });

  it("answers exactly what POST /v1/verify answers, allow and deny alike", async () => {
    const { request } = await holder();
    const fromEngine = await engine.verify(PAYMENTS, await request());
    const fromService = await service.verify(await request());
    expect(fromEngine.decision).toBe("allow");
    expect(fromService.body).toEqual(fromEngine);

    const action = { type: "delete", resource: "reports/q3" };
    const deniedByEngine = await engine.verify(PAYMENTS, await request(action));
    expect(deniedByEngine.reason).toBe("capability_not_granted");
    expect((await service.verify(await request(action))).body).toEqual(deniedByEngine);
  });

  it("shares replay records with the service: a proof the engine accepted is refused there", async () => {
    const { request } = await holder();
    const once = await request();
    expect((await engine.verify(PAYMENTS, once)).decision).toBe("allow");
    expect((await service.verify(once)).body).toMatchObject({
      decision: "deny",
      reason: "dpop_jti_replayed",
    });
    expect(await engine.verify(PAYMENTS, once)).toMatchObject({ reason: "dpop_jti_replayed" });
  });

  it("counts the envelope with the service: the limit holds across both", async () => {
    const { request } = await holder([
      { type: "read", resource: "reports/*" },
      { type: "envelope", rate_limit: { max_requests: 3, window_seconds: 3600 } },
    ]);
    const answers = [
      await engine.verify(PAYMENTS, await request()),
      (await service.verify(await request())).body,
      await engine.verify(PAYMENTS, await request()),
      (await service.verify(await request())).body,
      await engine.verify(PAYMENTS, await request()),
    ];
    expect(answers.map((answer) => answer.reason)).toEqual([
      "ok",
      "ok",
      "ok",
      "rate_limited",
      "rate_limited",
    ]);
    expect(answers[2]?.remaining).toEqual({ requests: 0 });
  });

  it("is for the service provider it is asked about: another one's token is refused", async () => {
    const { request } = await holder();
    expect(await engine.verify("https://other.example.com", await request())).toMatchObject({
      decision: "deny",
      reason: "token_audience_mismatch",
    });
  });

  it("refuses a revoked grant, as the registry publishes it", async () => {
    const { token, request } = await holder();
    expect((await engine.verify(PAYMENTS, await request())).decision).toBe("allow");
    await harness.test.admin.post(`/api/grants/${token.grantId}/revoke`).expect(204);
    expect(await engine.verify(PAYMENTS, await request())).toMatchObject({
      decision: "deny",
      reason: "grant_revoked",
    });
  });

  it("asks for its nonce, or does without when told to", async () => {
    const { agent, token } = await holder();
    const withoutNonce = (await verifyBody(agent, token.accessToken, {
      action: read,
    })) as unknown as VerifyRequest;
    const asking = await engine.verify(PAYMENTS, withoutNonce);
    expect(asking).toMatchObject({ decision: "deny", reason: "dpop_nonce_required" });
    expect(asking.respond.headers["DPoP-Nonce"]).toEqual(expect.any(String));
    const relaxed = startEngine({ requireDpopNonce: false });
    expect(await relaxed.verify(PAYMENTS, withoutNonce)).toMatchObject({ decision: "allow" });
  });

  it("records decisions in the decision log, and sends what is buffered on close", async () => {
    const decisionLog = harness.state.decisionLog;
    const appended: string[] = [];
    const recording = startEngine({
      state: {
        ...harness.state,
        decisionLog: {
          ...decisionLog,
          append: async (records) => {
            appended.push(...records.map((record) => record.reason));
          },
        },
      },
    });
    const { request } = await holder();
    await recording.verify(PAYMENTS, await request());
    await recording.verify(PAYMENTS, await request({ type: "delete", resource: "reports/q3" }));
    expect(recording.bufferedDecisions).toBe(2);
    await recording.close();
    expect(appended).toEqual(["ok", "capability_not_granted"]);
    expect(recording.bufferedDecisions).toBe(0);
  });

  it("takes its keys from a JWKS source instead of a URL", async () => {
    const jwks = (await (await fetch(`${harness.registryUrl}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, unknown>[];
    };
    const sourced = startEngine({ jwks: { fetchKeys: async () => jwks } });
    expect(await sourced.ready()).toBe(true);
    const { request } = await holder();
    expect(await sourced.verify(PAYMENTS, await request())).toMatchObject({ decision: "allow" });
  });

  it("is not ready without the registry's keys, and refuses tokens it cannot check", async () => {
    const keyless = startEngine({
      jwks: { fetchKeys: () => Promise.reject(new Error("the registry is down")) },
      state: {
        admissionStore: createMemoryAdmissionStore(),
        revocationBus: createMemoryRevocationBus(),
      },
    });
    expect(await keyless.ready()).toBe(false);
    expect(await keyless.readiness()).toEqual({ jwks: false, revocations: true });
    const { request } = await holder();
    expect(await keyless.verify(PAYMENTS, await request())).toMatchObject({
      decision: "deny",
      reason: "token_kid_unknown",
    });
  });

  it("refuses a request of the wrong shape with a TypeError naming every problem", async () => {
    const { request } = await holder();
    const good = await request();
    await expect(engine.verify("", good)).rejects.toThrow(TypeError);
    await expect(
      engine.verify(PAYMENTS, {
        ...good,
        method: "PO ST",
        action: { type: "fly" },
      } as unknown as VerifyRequest),
    ).rejects.toThrow(/method: must be an HTTP method; action.type: .*; action.resource: /);
  });
});

describe.runIf(redisUrl !== undefined)("createVerificationEngine on a Redis client", () => {
  const keyPrefix = uniqueKeyPrefix();
  const nonceSecret = randomBytes(32);

  it("shares its state through Redis with a verifier service on the same keys", async () => {
    const [registryRedis, serviceRedis, engineRedis] = await Promise.all([
      connectTestRedis(),
      connectTestRedis(),
      connectTestRedis(),
    ]);
    const registryLog = createRedisDecisionLog(registryRedis, { keyPrefix });
    const harness = await createVerifierHarness({
      registry: {
        revocationBus: createRedisRevocationBus(registryRedis, { keyPrefix }),
        keyDirectory: createRedisServiceProviderKeyDirectory(registryRedis, { keyPrefix }),
        decisionLog: registryLog,
      },
      state: createRedisVerifierState(serviceRedis, { keyPrefix }),
    });
    const engine = createVerificationEngine({
      issuer: PUBLIC_URL,
      jwks: `${harness.registryUrl}/.well-known/jwks.json`,
      state: { redis: engineRedis, keyPrefix },
      dpopNonceSecret: nonceSecret,
      clock: harness.test.clock,
    });
    try {
      const service = await harness.startVerifier({ dpopNonceSecret: nonceSecret });
      expect(await engine.readiness()).toEqual({ redis: true, jwks: true, revocations: true });
      const { agent, token } = await agentWithToken(harness, READ_REPORTS);
      const nonce = await learnNonce(service, agent, token.accessToken);
      const request = async () =>
        (await verifyBody(agent, token.accessToken, {
          nonce,
          action: read,
        })) as unknown as VerifyRequest;
      const once = await request();
      expect(await engine.verify(PAYMENTS, once)).toMatchObject({ decision: "allow" });
      expect((await service.verify(once)).body).toMatchObject({ reason: "dpop_jti_replayed" });
      await harness.test.admin.post(`/api/grants/${token.grantId}/revoke`).expect(204);
      await expect
        .poll(async () => (await engine.verify(PAYMENTS, await request())).reason)
        .toBe("grant_revoked");
    } finally {
      await engine.close();
      await harness.close();
      await registryLog.close();
      await deleteKeys(registryRedis, keyPrefix);
      for (const client of [registryRedis, serviceRedis, engineRedis]) client.disconnect();
    }
  });
});
