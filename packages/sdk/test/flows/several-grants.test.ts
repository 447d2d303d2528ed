import { introspect } from "@agentauth/registry/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Agent } from "../../src/agent.js";
import type { GrantInfo } from "../../src/tokens/grant-store.js";
import { claimsOf, failure } from "../support/assertions.js";
import type { RecordingFetch } from "../support/recording-fetch.js";
import {
  describeEachBackend,
  PAYMENT_GRANT,
  startTestPlatform,
  type TestPlatform,
  uniqueBindingMessage,
} from "../support/test-platform.js";

// An agent may hold several grants for one service provider — the standing one and a step-up for
// one payment, say. A new approval adds a grant and never replaces or revokes another; a call
// names the grant it spends (each has the human's limits and budgets of its own), or uses the
// only one held; with several and no name, the SDK refuses to guess.

/** The standing grant: pay ACME up to 50 EUR, a step-up above 25 EUR. */
const STANDING = {
  capabilities: PAYMENT_GRANT.capabilities,
  envelope: {
    spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }],
    step_up_above: { amount: "25.00", currency: "EUR" },
  },
};

describeEachBackend("several grants for one service provider", (backend) => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform(backend);
  });
  afterAll(() => platform?.close());

  const pay = (agent: Agent, amount: string, options: { grantId?: string } = {}) =>
    agent.fetch(`${platform.serviceProvider.url}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ merchant: "acme", amount, currency: "EUR" }),
      serviceProvider: platform.serviceProviderId,
      ...options,
    });
  /** The grant of the token the last payment request carried. */
  const lastPaidWith = (fetch: RecordingFetch) =>
    claimsOf(
      fetch
        .to("/payments")
        .at(-1)
        ?.headers.get("authorization")
        ?.replace(/^DPoP /, ""),
    ).grant_id;
  /** A step-up grant for exactly one payment of `amount` EUR, approved by the human. */
  const stepUp = async (agent: Agent, amount: string): Promise<GrantInfo> => {
    const request = await agent.requestGrant({
      serviceProvider: platform.serviceProviderId,
      capabilities: [
        { type: "transact", resource: "merchant/acme", max_amount: amount, currency: "EUR" },
      ],
      envelope: { spend_caps: [{ amount, currency: "EUR", window_seconds: 86400 }] },
      bindingMessage: uniqueBindingMessage(),
      lifetime: 300,
    });
    const waiting = request.waitForApproval();
    await platform.approve(request.requestId);
    return waiting;
  };
  const isActive = async (token: string) =>
    (await introspect(platform.registry.app, platform.apiKey, token)).body.active;

  it("keeps the standing grant usable beside a step-up, each call spending the grant it names", async () => {
    const { agent, fetch } = await platform.agentWithGrant({ details: STANDING });
    const standing = agent.grant(platform.serviceProviderId) as GrantInfo;
    const standingToken = await agent.getToken(platform.serviceProviderId);

    expect(await failure(pay(agent, "30.00"))).toMatchObject({ code: "ERR_STEP_UP_REQUIRED" });
    const extra = await stepUp(agent, "30.00");
    expect(extra.grantId).not.toBe(standing.grantId);
    expect(agent.grants(platform.serviceProviderId).map((grant) => grant.grantId)).toEqual([
      standing.grantId,
      extra.grantId,
    ]);
    expect(agent.grants()).toHaveLength(2);

    // Both grants stay live at the registry: the new approval revoked nothing.
    const extraToken = await agent.getToken(platform.serviceProviderId, {
      grantId: extra.grantId,
    });
    expect(claimsOf(extraToken).grant_id).toBe(extra.grantId);
    expect(await isActive(standingToken)).toBe(true);
    expect(await isActive(extraToken)).toBe(true);

    // The retry names the step-up grant, and pays.
    expect((await pay(agent, "30.00", { grantId: extra.grantId })).status).toBe(200);
    expect(lastPaidWith(fetch)).toBe(extra.grantId);
    // Without a name the SDK does not guess, and sends nothing.
    const sent = fetch.to("/payments").length;
    const ambiguous = await failure(pay(agent, "10.00"));
    expect(ambiguous).toMatchObject({
      code: "ERR_GRANT_AMBIGUOUS",
      serviceProvider: platform.serviceProviderId,
    });
    expect(ambiguous.message).toContain(standing.grantId);
    expect(ambiguous.message).toContain(extra.grantId);
    expect(fetch.to("/payments")).toHaveLength(sent);
    for (const attempt of [
      agent.getToken(platform.serviceProviderId),
      agent.task({ serviceProvider: platform.serviceProviderId, ttl: 60 }),
    ]) {
      expect(await failure(attempt)).toMatchObject({ code: "ERR_GRANT_AMBIGUOUS" });
    }
    expect(() => agent.grant(platform.serviceProviderId)).toThrow(/say which with grantId/);
    expect(agent.grant(platform.serviceProviderId, { grantId: extra.grantId })).toEqual(extra);

    // The standing grant, named, is as it was: its own token, its own limits.
    expect((await pay(agent, "10.00", { grantId: standing.grantId })).status).toBe(200);
    expect(lastPaidWith(fetch)).toBe(standing.grantId);
    // A grant id alone finds its service provider.
    const byId = await agent.fetch(`${platform.serviceProvider.url}/payments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ merchant: "acme", amount: "1.00", currency: "EUR" }),
      grantId: standing.grantId,
    });
    expect(byId.status).toBe(200);
    {
      await using task = await agent.task({
        serviceProvider: platform.serviceProviderId,
        grantId: extra.grantId,
        ttl: 60,
      });
      expect(task.authorization.capabilities).toEqual(extra.authorization.capabilities);
    }

    // Done with the step-up: revoking it leaves the standing grant, used by default again.
    await agent.revokeGrant(platform.serviceProviderId, { grantId: extra.grantId });
    expect(await isActive(extraToken)).toBe(false);
    expect(await isActive(await agent.getToken(platform.serviceProviderId))).toBe(true);
    expect(agent.grants(platform.serviceProviderId)).toEqual([standing]);
    expect((await pay(agent, "5.00")).status).toBe(200);
    expect(lastPaidWith(fetch)).toBe(standing.grantId);
  });

  it("revokes every grant it holds for the provider when no grant is named", async () => {
    const { agent } = await platform.agentWithGrant({ details: STANDING });
    const extra = await stepUp(agent, "28.00");
    const tokens = await Promise.all(
      agent
        .grants(platform.serviceProviderId)
        .map((grant) => agent.getToken(platform.serviceProviderId, { grantId: grant.grantId })),
    );
    expect(tokens).toHaveLength(2);
    await agent.revokeGrant(platform.serviceProviderId);
    expect(agent.grants()).toEqual([]);
    for (const token of tokens) expect(await isActive(token)).toBe(false);
    expect(
      await failure(agent.getToken(platform.serviceProviderId, { grantId: extra.grantId })),
    ).toMatchObject({ code: "ERR_NO_GRANT" });
  });

  it("forgets a grant the human revoked, and the one left is the default again", async () => {
    const { agent, fetch } = await platform.agentWithGrant({ details: STANDING });
    const standing = agent.grant(platform.serviceProviderId) as GrantInfo;
    const extra = await stepUp(agent, "26.00");
    await platform.revokeGrant(standing.grantId);
    expect(await failure(pay(agent, "1.00", { grantId: standing.grantId }))).toMatchObject({
      code: "ERR_GRANT_INVALID",
      reason: "grant_revoked",
    });
    expect(agent.grants(platform.serviceProviderId)).toEqual([extra]);
    expect((await pay(agent, "26.00")).status).toBe(200);
    expect(lastPaidWith(fetch)).toBe(extra.grantId);
  });

  it("refuses a grant id it does not hold, or one held for another provider", async () => {
    const { agent } = await platform.agentWithGrant({ details: STANDING });
    const held = agent.grant(platform.serviceProviderId) as GrantInfo;
    const unknown = "grt_not_held";
    for (const attempt of [
      pay(agent, "1.00", { grantId: unknown }),
      agent.getToken(platform.serviceProviderId, { grantId: unknown }),
      agent.task({ serviceProvider: platform.serviceProviderId, grantId: unknown, ttl: 60 }),
      agent.revokeGrant(platform.serviceProviderId, { grantId: unknown }),
      agent.getToken("https://other.example.com", { grantId: held.grantId }),
      agent.fetch(`${platform.serviceProvider.url}/payments`, {
        method: "POST",
        serviceProvider: "https://other.example.com",
        grantId: held.grantId,
      }),
    ]) {
      expect(await failure(attempt)).toMatchObject({ code: "ERR_NO_GRANT" });
    }
    expect(agent.grant(platform.serviceProviderId, { grantId: unknown })).toBeUndefined();
    expect(agent.grant("https://other.example.com", { grantId: held.grantId })).toBeUndefined();
    // The grant was not touched by any of it.
    expect(agent.grants()).toEqual([held]);
    for (const grantId of ["", 42]) {
      await expect(
        agent.getToken(platform.serviceProviderId, { grantId: grantId as string }),
      ).rejects.toBeInstanceOf(TypeError);
      await expect(pay(agent, "1.00", { grantId: grantId as string })).rejects.toBeInstanceOf(
        TypeError,
      );
    }
  });
});
