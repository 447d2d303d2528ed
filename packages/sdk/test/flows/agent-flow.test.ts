import { createServer } from "node:http";
import { encodeBase64Url } from "@agentauth/core";
import { introspect } from "@agentauth/registry/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Agent } from "../../src/agent.js";
import { generateAgentKeyPair } from "../../src/keys/agent-key-pair.js";
import { createMemoryKeyStore } from "../../src/keys/memory-key-store.js";
import { claimsOf, failure } from "../support/assertions.js";
import {
  describeEachBackend,
  PAYMENT_GRANT,
  startTestPlatform,
  type TestPlatform,
  uniqueBindingMessage,
} from "../support/test-platform.js";
import { close, listen } from "../support/test-service-provider.js";

async function sha256(text: string): Promise<string> {
  return encodeBase64Url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
  );
}

describeEachBackend("agent flow against the real registry and verifier", (backend) => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform(backend);
  });
  afterAll(() => platform?.close());

  const pay = (agent: Agent, amount: string, merchant = "acme") =>
    agent.fetch(`${platform.serviceProvider.url}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ merchant, amount, currency: "EUR" }),
      serviceProvider: platform.serviceProviderId,
    });

  it("enrols, asks, is approved by the human with a passkey, and pays with a DPoP-bound token", async () => {
    const { agent, fetch } = await platform.createAgent();
    expect(agent.id).toBeUndefined();
    const enrolled = await agent.enroll(await platform.enrolmentCode());
    expect(agent.id).toBe(enrolled.agentId);

    const request = await agent.requestGrant({
      serviceProvider: platform.serviceProviderId,
      capabilities: [
        { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
      ],
      envelope: { spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }] },
      bindingMessage: "Pay ACME for order 42",
      lifetime: 3600,
    });
    // What the agent shows its human: where to go, and the code to match.
    expect(request.approvalUri).toBe(`${platform.registryUrl}/requests/${request.requestId}`);
    expect(request.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(request.interval).toBe(5);
    expect(request.expiresAt.getTime()).toBeGreaterThan(platform.clock.now().getTime());

    const inbox = await platform.admin.get("/api/grant-requests?status=pending").expect(200);
    expect(inbox.body.requests).toContainEqual(
      expect.objectContaining({
        user_code: request.userCode,
        binding_message: "Pay ACME for order 42",
      }),
    );

    const sleepsBefore = platform.clock.sleeps.length;
    const waiting = request.waitForApproval();
    const narrowed = [
      { type: "transact", resource: "merchant/acme", max_amount: "30.00", currency: "EUR" },
      {
        type: "envelope",
        spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }],
      },
    ];
    const { grantId } = await platform.approve(request.requestId, narrowed);
    const grant = await waiting;
    // Every wait was the registry's interval: no poll came too early.
    expect(new Set(platform.clock.sleeps.slice(sleepsBefore))).toEqual(new Set([5000]));
    expect(grant).toMatchObject({ serviceProvider: platform.serviceProviderId, grantId });
    expect(grant.authorization.capabilities).toEqual([narrowed[0]]);
    expect(agent.grant(platform.serviceProviderId)).toEqual(grant);

    const paid = await pay(agent, "12.50");
    expect(paid.status).toBe(200);
    expect(await paid.json()).toMatchObject({ ok: true, agent: agent.id });

    // The first call had no nonce for this origin: refused once with use_dpop_nonce, retried once.
    const calls = fetch.to("/payments");
    expect(calls.map((call) => call.status)).toEqual([401, 200]);
    const token = await agent.getToken(platform.serviceProviderId);
    for (const call of calls) {
      expect(call.headers.get("authorization")).toBe(`DPoP ${token}`);
      const proof = claimsOf(call.headers.get("dpop"));
      expect(proof).toMatchObject({
        htm: "POST",
        htu: `${platform.serviceProvider.url}/payments`,
        ath: await sha256(token),
      });
    }
    expect(claimsOf(calls[0]?.headers.get("dpop") ?? null).nonce).toBeUndefined();
    expect(claimsOf(calls[1]?.headers.get("dpop") ?? null).nonce).toEqual(expect.any(String));
    expect(claimsOf(calls[0]?.headers.get("dpop") ?? null).jti).not.toBe(
      claimsOf(calls[1]?.headers.get("dpop") ?? null).jti,
    );
    expect(claimsOf(token)).toMatchObject({
      sub: agent.id,
      cnf: { jkt: agent.jkt },
      grant_id: grantId,
    });

    // The nonce is remembered for the origin: the next call goes through at once.
    expect((await pay(agent, "5.00")).status).toBe(200);
    expect(fetch.to("/payments").map((call) => call.status)).toEqual([401, 200, 200]);
    // Not granted: the human's grant has no read capability.
    const balance = agent.fetch(`${platform.serviceProvider.url}/balance`, {
      serviceProvider: platform.serviceProviderId,
    });
    expect(await failure(balance)).toMatchObject({
      code: "ERR_INSUFFICIENT_CAPABILITY",
      reason: "capability_not_granted",
    });
  });

  it("refuses what the grant does not allow, with the verifier's reason", async () => {
    const { agent } = await platform.agentWithGrant();
    const otherMerchant = await failure(pay(agent, "10.00", "evil"));
    expect(otherMerchant).toMatchObject({
      code: "ERR_INSUFFICIENT_CAPABILITY",
      status: 403,
      reason: "capability_not_granted",
      oauthError: "insufficient_scope",
      serviceProvider: platform.serviceProviderId,
    });
    expect(otherMerchant.message).toContain("merchant/evil");
    expect(await failure(pay(agent, "60.00"))).toMatchObject({ reason: "capability_not_granted" });

    for (let paid = 0; paid < 4; paid++) expect((await pay(agent, "50.00")).status).toBe(200);
    const overCap = await failure(pay(agent, "1.00"));
    expect(overCap).toMatchObject({
      code: "ERR_INSUFFICIENT_CAPABILITY",
      reason: "spend_cap_exceeded",
    });
    expect(overCap.retryAfterSeconds).toBeGreaterThan(0);
  });

  it("surfaces a step-up with the threshold the human set", async () => {
    const { agent } = await platform.agentWithGrant({
      details: {
        capabilities: PAYMENT_GRANT.capabilities,
        envelope: { step_up_above: { amount: "20.00", currency: "EUR" } },
      },
    });
    expect((await pay(agent, "20.00")).status).toBe(200);
    const stepUp = await failure(pay(agent, "30.00"));
    expect(stepUp).toMatchObject({
      code: "ERR_STEP_UP_REQUIRED",
      status: 403,
      reason: "step_up_required",
      stepUp: { above: { amount: "20.00", currency: "EUR" } },
    });
  });

  it("surfaces the envelope's rate limit with when to come back", async () => {
    const { agent } = await platform.agentWithGrant({
      details: {
        capabilities: PAYMENT_GRANT.capabilities,
        envelope: { rate_limit: { max_requests: 2, window_seconds: 60 } },
      },
    });
    const read = () =>
      agent.fetch(`${platform.serviceProvider.url}/balance`, {
        serviceProvider: platform.serviceProviderId,
      });
    expect((await read()).status).toBe(200);
    expect((await read()).status).toBe(200);
    const limited = await failure(read());
    expect(limited).toMatchObject({
      code: "ERR_RATE_LIMITED",
      status: 429,
      reason: "rate_limited",
    });
    expect(limited.retryAfterSeconds).toBeGreaterThan(0);
    expect(limited.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it("retries a nonce refusal once and only once: a server that always wants a new one gets two requests", async () => {
    const { agent, fetch } = await platform.agentWithGrant();
    let served = 0;
    const stubborn = createServer((_req, res) => {
      served += 1;
      res.writeHead(401, {
        "WWW-Authenticate": 'DPoP error="use_dpop_nonce", error_description="Nonce required"',
        "DPoP-Nonce": `nonce-${served}`,
      });
      res.end();
    });
    const url = await listen(stubborn);
    try {
      const call = () => agent.fetch(`${url}/x`, { serviceProvider: platform.serviceProviderId });
      expect(await failure(call())).toMatchObject({ code: "ERR_NONCE_REJECTED", status: 401 });
      expect(served).toBe(2);
      const proofs = fetch.to("/x").map((request) => claimsOf(request.headers.get("dpop")).nonce);
      expect(proofs).toEqual([undefined, "nonce-1"]);
      // The next call starts with the latest nonce, and again retries once.
      expect(await failure(call())).toMatchObject({ code: "ERR_NONCE_REJECTED" });
      expect(served).toBe(4);
      expect(fetch.to("/x").map((request) => claimsOf(request.headers.get("dpop")).nonce)).toEqual([
        undefined,
        "nonce-1",
        "nonce-2",
        "nonce-3",
      ]);
    } finally {
      await close(stubborn);
    }
  });

  it("refreshes once for many concurrent getToken calls, before the token expires", async () => {
    const { agent, fetch } = await platform.agentWithGrant();
    const first = await agent.getToken(platform.serviceProviderId);
    expect(await agent.getToken(platform.serviceProviderId)).toBe(first);
    const refreshes = () => fetch.to("/oauth/token", "refresh_token");
    expect(refreshes()).toEqual([]);

    // 600 s tokens are refreshed 60 s before they expire.
    platform.clock.advance(541);
    const tokens = await Promise.all(
      Array.from({ length: 20 }, () => agent.getToken(platform.serviceProviderId)),
    );
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(first);
    // One refresh; the registry may first have asked for a fresh DPoP nonce.
    expect(refreshes().filter((request) => request.status === 200)).toHaveLength(1);
    expect(refreshes().length).toBeLessThanOrEqual(2);
    expect((await pay(agent, "1.00")).status).toBe(200);
  });

  it("renews a token the service provider refuses, once, then retries the call once", async () => {
    const { agent, fetch } = await platform.agentWithGrant();
    const before = await agent.getToken(platform.serviceProviderId);
    const seen: string[] = [];
    const picky = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      if (seen.length === 1) {
        res.writeHead(401, { "WWW-Authenticate": 'DPoP error="invalid_token"' });
        res.end();
        return;
      }
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ok");
    });
    const url = await listen(picky);
    try {
      const response = await agent.fetch(`${url}/y`, {
        method: "POST",
        body: "twice",
        serviceProvider: platform.serviceProviderId,
      });
      expect(await response.text()).toBe("ok");
      const after = await agent.getToken(platform.serviceProviderId);
      expect(after).not.toBe(before);
      expect(seen).toEqual([`DPoP ${before}`, `DPoP ${after}`]);
      expect(fetch.to("/y").map((request) => request.body)).toEqual(["twice", "twice"]);
      expect(
        fetch.to("/oauth/token", "refresh_token").filter((r) => r.status === 200),
      ).toHaveLength(1);
    } finally {
      await close(picky);
    }
  });

  it("reports a grant the human revoked, with the verifier's reason, and forgets it", async () => {
    const { agent } = await platform.agentWithGrant();
    expect((await pay(agent, "1.00")).status).toBe(200);
    const grantId = agent.grant(platform.serviceProviderId)?.grantId as string;
    await platform.revokeGrant(grantId);
    const revoked = await failure(pay(agent, "1.00"));
    expect(revoked).toMatchObject({
      code: "ERR_GRANT_INVALID",
      reason: "grant_revoked",
      oauthError: "invalid_grant",
      serviceProvider: platform.serviceProviderId,
    });
    expect(agent.grant(platform.serviceProviderId)).toBeUndefined();
    expect(await failure(agent.getToken(platform.serviceProviderId))).toMatchObject({
      code: "ERR_NO_GRANT",
    });
  });

  it("reports an agent its human disabled as refused by the registry", async () => {
    const { agent } = await platform.agentWithGrant();
    expect((await pay(agent, "1.00")).status).toBe(200);
    await platform.admin.post(`/api/agents/${agent.id}/disable`).expect(200);
    expect(await failure(pay(agent, "1.00"))).toMatchObject({
      code: "ERR_CLIENT_REJECTED",
      oauthError: "invalid_client",
      reason: "agent_revoked",
    });
  });

  it("refreshes short-lived tokens halfway through their life", async () => {
    const { agent, fetch } = await platform.agentWithGrant({
      details: {
        capabilities: PAYMENT_GRANT.capabilities,
        envelope: { max_token_lifetime_seconds: 40 },
      },
    });
    const first = await agent.getToken(platform.serviceProviderId);
    const lifetime = (claimsOf(first).exp as number) - (claimsOf(first).iat as number);
    expect(lifetime).toBe(40);
    platform.clock.advance(19);
    expect(await agent.getToken(platform.serviceProviderId)).toBe(first);
    platform.clock.advance(2);
    expect(await agent.getToken(platform.serviceProviderId)).not.toBe(first);
    expect(fetch.to("/oauth/token", "refresh_token").filter((r) => r.status === 200)).toHaveLength(
      1,
    );
  });

  it("revokes its own grant at the registry (RFC 7009)", async () => {
    const { agent } = await platform.agentWithGrant();
    const token = await agent.getToken(platform.serviceProviderId);
    expect((await introspect(platform.registry.app, platform.apiKey, token)).body.active).toBe(
      true,
    );
    await agent.revokeGrant(platform.serviceProviderId);
    expect(agent.grant(platform.serviceProviderId)).toBeUndefined();
    // Revoking the refresh token revoked the grant's access tokens with it.
    expect((await introspect(platform.registry.app, platform.apiKey, token)).body).toEqual({
      active: false,
    });
  });

  it("needs an enrolment for everything but enrolling", async () => {
    const { agent } = await platform.createAgent();
    expect(
      await failure(
        agent.requestGrant({
          serviceProvider: platform.serviceProviderId,
          capabilities: [{ type: "read", resource: "balance" }],
          bindingMessage: uniqueBindingMessage(),
        }),
      ),
    ).toMatchObject({ code: "ERR_NOT_ENROLLED" });
    const code = await platform.enrolmentCode();
    await agent.enroll(code);
    expect(await failure(agent.enroll(code))).toMatchObject({ code: "ERR_ALREADY_ENROLLED" });
    const { agent: other } = await platform.createAgent();
    expect(await failure(other.enroll(code))).toMatchObject({
      code: "ERR_ENROLMENT_CODE_INVALID",
      status: 400,
    });
    expect(await failure(other.enroll("aec_unknown"))).toMatchObject({
      code: "ERR_ENROLMENT_CODE_INVALID",
    });
    // The same key in a store that forgot its agent id: the registry knows the key.
    const keyPair = await generateAgentKeyPair(false);
    const { agent: original } = await platform.createAgent({
      keyStore: createMemoryKeyStore({ keyPair }),
    });
    await original.enroll(await platform.enrolmentCode());
    const { agent: amnesiac } = await platform.createAgent({
      keyStore: createMemoryKeyStore({ keyPair }),
    });
    expect(await failure(amnesiac.enroll(await platform.enrolmentCode()))).toMatchObject({
      code: "ERR_ALREADY_ENROLLED",
      status: 409,
    });
  });

  it("turns the registry's refusals of a request into coded errors", async () => {
    const { agent } = await platform.createAgent();
    await agent.enroll(await platform.enrolmentCode());
    const ask = (overrides: Record<string, unknown>) =>
      failure(
        agent.requestGrant({
          serviceProvider: platform.serviceProviderId,
          capabilities: [{ type: "read", resource: "balance" }],
          bindingMessage: uniqueBindingMessage(),
          ...overrides,
        }),
      );
    expect(await ask({ serviceProvider: "https://unknown.example.com" })).toMatchObject({
      code: "ERR_REQUEST_INVALID",
      oauthError: "invalid_target",
    });
    // Beyond the provider's ceiling (transact up to 500.00 EUR).
    expect(
      await ask({
        capabilities: [
          { type: "transact", resource: "merchant/acme", max_amount: "900.00", currency: "EUR" },
        ],
      }),
    ).toMatchObject({ code: "ERR_REQUEST_INVALID" });
    expect(await ask({ bindingMessage: "two\u202elines" })).toMatchObject({
      code: "ERR_REQUEST_INVALID",
      oauthError: "invalid_binding_message",
    });
  });
});
