import { afterEach, describe, expect, it } from "vitest";
import { type Agent, createAgent } from "../../src/agent.js";
import { createMemoryKeyStore } from "../../src/keys/memory-key-store.js";
import type { CreateAgentOptions } from "../../src/options.js";
import { failure } from "../support/assertions.js";
import { createRecordingFetch } from "../support/recording-fetch.js";
import {
  approvingRegistry,
  registryMetadata,
  STUB_TOKEN_ANSWER,
  type StubAnswer,
  type StubRequest,
  type StubServer,
  startStubServer,
} from "../support/stub-server.js";
import { createTestClock, type TestClock } from "../support/test-clock.js";

const SERVICE_PROVIDER = "https://payments.example.com";
const READ_BALANCE = [{ type: "read" as const, resource: "balance" }];

let stubs: StubServer[] = [];
afterEach(async () => {
  await Promise.all(stubs.map((stub) => stub.close()));
  stubs = [];
});

/**
 * A registry that answers its metadata, and whatever `answer` says for the rest; an agent on
 * it, enrolled already (the id is in its key store), with a simulated clock.
 */
async function agentOnStub(
  answer: (request: StubRequest) => StubAnswer | Promise<StubAnswer>,
  options: Partial<CreateAgentOptions> = {},
): Promise<{ agent: Agent; registry: StubServer; clock: TestClock }> {
  const registry = await startStubServer((request, server) =>
    request.path === "/.well-known/oauth-authorization-server"
      ? { json: registryMetadata(server.url) }
      : answer(request),
  );
  stubs.push(registry);
  const clock = createTestClock();
  const agent = await createAgent({
    registryUrl: registry.url,
    keyStore: createMemoryKeyStore({ agentId: "agt_stub" }),
    clock,
    ...options,
  });
  return { agent, registry, clock };
}

async function holdingGrant(agent: Agent): Promise<void> {
  const request = await agent.requestGrant({
    serviceProvider: SERVICE_PROVIDER,
    capabilities: READ_BALANCE,
  });
  await request.waitForApproval();
}

const ask = (agent: Agent) =>
  agent.requestGrant({ serviceProvider: SERVICE_PROVIDER, capabilities: READ_BALANCE });

describe("retrying what is safe to repeat", () => {
  it("waits what Retry-After asks, then backs off with jitter, for an idempotent request", async () => {
    let answered = 0;
    const { agent, registry, clock } = await agentOnStub((request) => {
      answered += 1;
      if (answered === 1) return { status: 503, headers: { "Retry-After": "2" } };
      if (answered === 2) return { status: 502 };
      return approvingRegistry(request);
    });
    const request = await ask(agent);
    expect(request.requestId).toBe("areq_stub");
    expect(registry.to("/oauth/backchannel")).toHaveLength(3);
    const [afterRetryAfter, afterBackoff] = clock.sleeps;
    expect(afterRetryAfter).toBeGreaterThanOrEqual(2000);
    expect(afterRetryAfter).toBeLessThanOrEqual(2250);
    // The second retry's window is 2 × 250 ms; the wait is in its upper half.
    expect(afterBackoff).toBeGreaterThanOrEqual(250);
    expect(afterBackoff).toBeLessThanOrEqual(500);
    // Every attempt has its own client assertion: a repeated jti would be refused as a replay.
    const assertions = registry
      .to("/oauth/backchannel")
      .map((sent) => new URLSearchParams(sent.body).get("client_assertion"));
    expect(new Set(assertions).size).toBe(3);
  });

  it("gives up after its retries with ERR_UNAVAILABLE and the status", async () => {
    const { agent, registry } = await agentOnStub(() => ({ status: 503 }), {
      retry: { retries: 2, minDelay: 10, maxDelay: 20 },
    });
    expect(await failure(ask(agent))).toMatchObject({ code: "ERR_UNAVAILABLE", status: 503 });
    expect(registry.to("/oauth/backchannel")).toHaveLength(3);
  });

  it("does not wait for a Retry-After longer than maxRetryAfter", async () => {
    const { agent, registry, clock } = await agentOnStub(() => ({
      status: 503,
      headers: { "Retry-After": "120" },
      json: { error: "temporarily_unavailable" },
    }));
    expect(await failure(ask(agent))).toMatchObject({
      code: "ERR_UNAVAILABLE",
      retryAfterSeconds: 120,
    });
    expect(registry.to("/oauth/backchannel")).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  it("never repeats a 429: it surfaces when to come back", async () => {
    const { agent, registry } = await agentOnStub(() => ({
      status: 429,
      headers: { "Retry-After": "30" },
      json: { error: "invalid_request", error_description: "At most 20 requests may wait" },
    }));
    expect(await failure(ask(agent))).toMatchObject({
      code: "ERR_RATE_LIMITED",
      retryAfterSeconds: 30,
      status: 429,
    });
    expect(registry.to("/oauth/backchannel")).toHaveLength(1);
  });

  it("retries network failures of idempotent requests, never of an enrolment", async () => {
    const closed = await startStubServer(() => ({ status: 200 }));
    const url = closed.url;
    await closed.close();
    const recording = createRecordingFetch();
    const clock = createTestClock();
    const agent = await createAgent({
      registryUrl: url,
      keyStore: createMemoryKeyStore({ agentId: "agt_stub" }),
      clock,
      fetch: recording.fetch,
    });
    const unreachable = await failure(ask(agent));
    expect(unreachable.code).toBe("ERR_UNAVAILABLE");
    expect(unreachable.message).toBe(
      `Could not reach ${url}/.well-known/oauth-authorization-server`,
    );
    expect(recording.requests).toHaveLength(4);
    expect(clock.sleeps).toHaveLength(3);

    const fresh = await createAgent({ registryUrl: url, clock, fetch: recording.fetch });
    const before = recording.requests.length;
    expect(await failure(fresh.enroll("aec_code"))).toMatchObject({ code: "ERR_UNAVAILABLE" });
    expect(recording.requests.length - before).toBe(1);
  });

  it("never repeats an enrolment the registry failed to answer", async () => {
    const { registry } = await agentOnStub(() => ({ status: 503 }));
    const agent = await createAgent({ registryUrl: registry.url, clock: createTestClock() });
    expect(await failure(agent.enroll("aec_code"))).toMatchObject({
      code: "ERR_UNAVAILABLE",
      status: 503,
    });
    expect(registry.to("/agents/enroll")).toHaveLength(1);
  });

  it("never repeats a call to a service provider that failed", async () => {
    const { agent } = await agentOnStub(approvingRegistry);
    await holdingGrant(agent);
    const provider = await startStubServer(() => ({ status: 503, text: "busy" }));
    stubs.push(provider);
    const response = await agent.fetch(`${provider.url}/payments`, {
      method: "POST",
      body: "{}",
      serviceProvider: SERVICE_PROVIDER,
    });
    expect(response.status).toBe(503);
    expect(await response.text()).toBe("busy");
    expect(provider.requests).toHaveLength(1);

    const gone = await startStubServer(() => ({ status: 200 }));
    const goneUrl = gone.url;
    await gone.close();
    expect(
      await failure(agent.fetch(`${goneUrl}/payments`, { serviceProvider: SERVICE_PROVIDER })),
    ).toMatchObject({ code: "ERR_UNAVAILABLE" });
  });
});

describe("refreshing when the registry is down", () => {
  it("keeps using the current token until it expires, then reports the outage", async () => {
    const { agent, clock, registry } = await agentOnStub(
      (request) =>
        new URLSearchParams(request.body).get("grant_type") === "refresh_token"
          ? { status: 503 }
          : approvingRegistry(request),
      { retry: { retries: 0 } },
    );
    await holdingGrant(agent);
    const token = await agent.getToken(SERVICE_PROVIDER);
    clock.advance(560);
    expect(await agent.getToken(SERVICE_PROVIDER)).toBe(token);
    const refreshes = () =>
      registry
        .to("/oauth/token")
        .filter(
          (request) => new URLSearchParams(request.body).get("grant_type") === "refresh_token",
        );
    expect(refreshes()).toHaveLength(1);
    clock.advance(40);
    expect(await failure(agent.getToken(SERVICE_PROVIDER))).toMatchObject({
      code: "ERR_UNAVAILABLE",
      status: 503,
    });
    expect(refreshes()).toHaveLength(2);
    // Still held: the grant is not over, the registry is only down.
    expect(agent.grant(SERVICE_PROVIDER)).toBeDefined();
  });
});

describe("timeouts and aborts", () => {
  it("times out a registry that does not answer, retrying as often as allowed", async () => {
    const { agent, registry } = await agentOnStub(() => ({ hang: true }), {
      timeout: 100,
      retry: { retries: 1 },
    });
    const timedOut = await failure(ask(agent));
    expect(timedOut).toMatchObject({ code: "ERR_TIMEOUT" });
    expect(timedOut.message).toMatch(/No answer from .*\/oauth\/backchannel within 100 ms/);
    expect(registry.to("/oauth/backchannel")).toHaveLength(2);
  });

  it("times out a service provider that does not answer, once", async () => {
    const { agent } = await agentOnStub(approvingRegistry, { timeout: 150 });
    await holdingGrant(agent);
    const provider = await startStubServer(() => ({ hang: true }));
    stubs.push(provider);
    const started = Date.now();
    expect(
      await failure(agent.fetch(`${provider.url}/slow`, { serviceProvider: SERVICE_PROVIDER })),
    ).toMatchObject({ code: "ERR_TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(provider.requests).toHaveLength(1);
  });

  it("aborts a call in flight, and a poll in flight, when the caller's signal does", async () => {
    const { agent } = await agentOnStub(approvingRegistry);
    await holdingGrant(agent);
    const provider = await startStubServer(() => ({ hang: true }));
    stubs.push(provider);
    const controller = new AbortController();
    const call = agent.fetch(`${provider.url}/slow`, {
      serviceProvider: SERVICE_PROVIDER,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error("user cancelled")), 50);
    const aborted = await failure(call);
    expect(aborted.code).toBe("ERR_ABORTED");
    expect((aborted.cause as Error).message).toBe("user cancelled");

    const { agent: polling } = await agentOnStub((request) =>
      request.path === "/oauth/token" ? { hang: true } : approvingRegistry(request),
    );
    const request = await ask(polling);
    const pollController = new AbortController();
    setTimeout(() => pollController.abort(), 50);
    expect(await failure(request.waitForApproval({ signal: pollController.signal }))).toMatchObject(
      { code: "ERR_ABORTED" },
    );
  });
});

describe("answers the SDK refuses to believe", () => {
  it("refuses metadata for another issuer, and endpoints it may not send credentials to", async () => {
    const elsewhere = await startStubServer((request) => ({
      json:
        request.path === "/.well-known/oauth-authorization-server"
          ? registryMetadata("https://evil.example.com")
          : {},
    }));
    stubs.push(elsewhere);
    const agent = await createAgent({
      registryUrl: elsewhere.url,
      keyStore: createMemoryKeyStore({ agentId: "agt_stub" }),
      clock: createTestClock(),
    });
    expect(await failure(ask(agent))).toMatchObject({ code: "ERR_PROTOCOL" });

    const plainHttp = await startStubServer((_request, server) => ({
      json: { ...registryMetadata(server.url), token_endpoint: "http://registry.example.com/t" },
    }));
    stubs.push(plainHttp);
    const other = await createAgent({
      registryUrl: plainHttp.url,
      keyStore: createMemoryKeyStore({ agentId: "agt_stub" }),
      clock: createTestClock(),
    });
    expect((await failure(ask(other))).message).toMatch(/no usable token_endpoint/);
  });

  it("refuses answers that are too large or not what the protocol says", async () => {
    const huge = await agentOnStub(() => ({ text: "x".repeat(300 * 1024) }));
    expect(await failure(ask(huge.agent))).toMatchObject({ code: "ERR_PROTOCOL" });
    const odd = await agentOnStub(() => ({ json: { auth_req_id: 42 } }));
    expect(await failure(ask(odd.agent))).toMatchObject({ code: "ERR_PROTOCOL" });
    const bearer = await agentOnStub((request) =>
      request.path === "/oauth/token"
        ? { json: { ...STUB_TOKEN_ANSWER, token_type: "Bearer" } }
        : approvingRegistry(request),
    );
    const request = await ask(bearer.agent);
    expect((await failure(request.waitForApproval())).message).toMatch(/not a DPoP-bound/);
    // protocol.md §3: every access token names its grant, which is how the agent keys it.
    const unnamed = await agentOnStub((request) =>
      request.path === "/oauth/token"
        ? {
            json: {
              ...STUB_TOKEN_ANSWER,
              access_token: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ3Rfc3R1YiJ9.c2ln",
            },
          }
        : approvingRegistry(request),
    );
    const unnamedRequest = await ask(unnamed.agent);
    const error = await failure(unnamedRequest.waitForApproval());
    expect(error).toMatchObject({ code: "ERR_PROTOCOL" });
    expect(error.message).toMatch(/grant_id/);
    expect(unnamed.agent.grants()).toEqual([]);
  });

  it("retries a use_dpop_nonce from the registry once, and only with a nonce to use", async () => {
    const nonceLoop = await agentOnStub((request) =>
      request.path === "/oauth/token"
        ? {
            status: 400,
            headers: { "DPoP-Nonce": `n${Math.random()}` },
            json: {
              error: "use_dpop_nonce",
              error_description: "Authorization server requires nonce",
            },
          }
        : approvingRegistry(request),
    );
    const request = await ask(nonceLoop.agent);
    expect(await failure(request.waitForApproval())).toMatchObject({
      code: "ERR_NONCE_REJECTED",
      oauthError: "use_dpop_nonce",
    });
    expect(nonceLoop.registry.to("/oauth/token")).toHaveLength(2);

    const noNonce = await agentOnStub((answered) =>
      answered.path === "/oauth/token"
        ? { status: 400, json: { error: "use_dpop_nonce" } }
        : approvingRegistry(answered),
    );
    const second = await ask(noNonce.agent);
    expect(await failure(second.waitForApproval())).toMatchObject({ code: "ERR_NONCE_REJECTED" });
    expect(noNonce.registry.to("/oauth/token")).toHaveLength(1);
  });
});
