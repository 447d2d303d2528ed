import { createServer } from "node:http";
import { createAgentAuth, createRemoteVerification, getAgentAuth } from "@agentauth/express";
import express from "express";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Agent } from "../../src/agent.js";
import { failure } from "../support/assertions.js";
import {
  describeEachBackend,
  PAYMENT_GRANT,
  startTestPlatform,
  type TestPlatform,
} from "../support/test-platform.js";
import { close, listen } from "../support/test-service-provider.js";

/**
 * The SDK against the service-provider middleware as a provider would deploy it
 * (`@agentauth/express` over the verifier, docs/service-providers.md): what the middleware
 * answers is what the SDK parses.
 */
describeEachBackend("the SDK against @agentauth/express", (backend) => {
  let platform: TestPlatform;
  let url: string;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    platform = await startTestPlatform(backend);
    const server = createServer();
    url = await listen(server);
    const agentAuth = createAgentAuth({
      verification: createRemoteVerification({
        verifierUrl: platform.verifierUrl,
        apiKey: platform.apiKey,
      }),
      serviceProvider: platform.serviceProviderId,
      authorizationServer: platform.registryUrl,
      publicUrl: url,
    });
    const app = express();
    app.post(
      "/v1/payments",
      express.json(),
      agentAuth.requireCapability({
        type: "transact",
        resource: (req) => `merchant/${req.body.merchant}`,
        amount: (req) => ({ amount: req.body.amount, currency: "EUR" }),
      }),
      (req, res) => {
        res.json({ paid: true, agent: getAgentAuth(req).agent });
      },
    );
    server.on("request", app);
    stop = async () => {
      await close(server);
      await agentAuth.close();
    };
  });
  afterAll(async () => {
    await stop?.();
    await platform?.close();
  });

  const pay = (agent: Agent, amount: string, merchant = "acme") =>
    agent.fetch(`${url}/v1/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ merchant, amount }),
      serviceProvider: platform.serviceProviderId,
    });

  it("pays through the middleware, learning its nonce once", async () => {
    const { agent, fetch } = await platform.agentWithGrant();
    const paid = await pay(agent, "10.00");
    expect(await paid.json()).toEqual({ paid: true, agent: agent.id });
    expect((await pay(agent, "10.00")).status).toBe(200);
    expect(fetch.to("/v1/payments").map((request) => request.status)).toEqual([401, 200, 200]);
  });

  it("reads the middleware's refusals as the coded errors they are", async () => {
    const { agent } = await platform.agentWithGrant({
      details: {
        capabilities: PAYMENT_GRANT.capabilities,
        envelope: {
          step_up_above: { amount: "20.00", currency: "EUR" },
          rate_limit: { max_requests: 3, window_seconds: 3600 },
        },
      },
    });
    expect(await failure(pay(agent, "5.00", "evil"))).toMatchObject({
      code: "ERR_INSUFFICIENT_CAPABILITY",
      reason: "capability_not_granted",
      oauthError: "insufficient_scope",
    });
    expect(await failure(pay(agent, "30.00"))).toMatchObject({
      code: "ERR_STEP_UP_REQUIRED",
      reason: "step_up_required",
      stepUp: {
        above: { amount: "20.00", currency: "EUR" },
        action: {
          type: "transact",
          resource: "merchant/acme",
          amount: { amount: "30.00", currency: "EUR" },
        },
        // Exactly the registry's issuer, as the service provider named it (RFC 8414 §3.3).
        authorizationServer: platform.registryUrl,
        approvalEndpoint: `${platform.registryUrl}/oauth/backchannel`,
      },
    });
    for (let paid = 0; paid < 3; paid++) expect((await pay(agent, "1.00")).status).toBe(200);
    const limited = await failure(pay(agent, "1.00"));
    expect(limited).toMatchObject({ code: "ERR_RATE_LIMITED", reason: "rate_limited" });
    expect(limited.retryAfterSeconds).toBeGreaterThan(0);

    await platform.revokeGrant(agent.grant(platform.serviceProviderId)?.grantId as string);
    expect(await failure(pay(agent, "1.00"))).toMatchObject({
      code: "ERR_GRANT_INVALID",
      reason: "grant_revoked",
    });
  });
});
