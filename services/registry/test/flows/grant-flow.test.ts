import * as jose from "jose";
import request from "supertest";
import { beforeAll, expect, it } from "vitest";
import { approve, poll } from "../grants/grant-helpers.js";
import type { TestAgent } from "../kit/agent-client.js";
import { describeEachDatabase } from "../support/databases.js";
import {
  createPaymentsProvider,
  createTestRegistry,
  enrolAgent,
  PAYMENTS,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";

const CIBA = "urn:openid:params:grant-type:ciba";
const requestedDetails = [
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  { type: "envelope", spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }] },
];

/** Asks for a grant; returns the CIBA answer. */
async function requestGrant(
  agent: TestAgent,
  details: unknown = requestedDetails,
  extra: Record<string, string> = {},
) {
  return agent.postForm(
    "/oauth/backchannel",
    {
      authorization_details: JSON.stringify(details),
      resource: PAYMENTS,
      binding_message: "Pay ACME for order 42",
      ...extra,
    },
    { dpop: false },
  );
}

describeEachDatabase("grant flow: request, approve with a passkey, token, revoke", (database) => {
  let test: TestRegistry;
  let agent: TestAgent;
  let apiKey: string;

  beforeAll(async () => {
    test = await createTestRegistry(database.db());
    ({ apiKey } = await createPaymentsProvider(test.admin));
    agent = await enrolAgent(test);
  });

  it("issues a DPoP-bound token for exactly the narrowed grant the human approved", async () => {
    const asked = await requestGrant(agent);
    expect(asked.status).toBe(200);
    expect(asked.body).toMatchObject({
      interval: 5,
      approval_uri: `${PUBLIC_URL}/requests/${asked.body.auth_req_id}`,
    });
    expect(asked.body.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    const authReqId = asked.body.auth_req_id as string;

    // The nonce dance, then no token before the human decides; polling too fast slows down.
    const nonceAnswer = await agent.postForm("/oauth/token", {
      grant_type: CIBA,
      auth_req_id: authReqId,
    });
    expect(nonceAnswer.status).toBe(400);
    expect(nonceAnswer.body.error).toBe("use_dpop_nonce");
    expect(nonceAnswer.headers["dpop-nonce"]).toBeTruthy();
    expect((await poll(agent, { grant_type: CIBA, auth_req_id: authReqId })).body.error).toBe(
      "authorization_pending",
    );
    expect((await poll(agent, { grant_type: CIBA, auth_req_id: authReqId })).body.error).toBe(
      "slow_down",
    );

    const inbox = await test.admin.get("/api/grant-requests?status=pending").expect(200);
    expect(inbox.body.requests).toHaveLength(1);
    expect(inbox.body.requests[0]).toMatchObject({
      user_code: asked.body.user_code,
      binding_message: "Pay ACME for order 42",
      agent: { id: agent.id, name: "travel bot" },
    });
    expect(inbox.body.requests[0].capabilities[0].risk).toBe("high");

    const narrowed = [{ ...requestedDetails[0], max_amount: "30.00" }, requestedDetails[1]];
    const approved = await approve(test.admin, authReqId, { details: narrowed });
    expect(approved.status).toBe(201);

    test.clock.advance(11);
    const granted = await poll(agent, { grant_type: CIBA, auth_req_id: authReqId });
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({ token_type: "DPoP", authorization_details: narrowed });
    expect(granted.body.expires_in).toBeLessThanOrEqual(600);

    const jwks = jose.createLocalJWKSet(
      (await request(test.registry.app).get("/.well-known/jwks.json").expect(200)).body,
    );
    const { payload, protectedHeader } = await jose.jwtVerify(granted.body.access_token, jwks, {
      issuer: PUBLIC_URL,
      audience: PAYMENTS,
      typ: "at+jwt",
      currentDate: test.clock.now(),
    });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({
      sub: agent.id,
      client_id: agent.id,
      cnf: { jkt: agent.jkt },
      grant_id: approved.body.id,
    });

    // The auth_req_id is spent; the refresh token renews without the human.
    expect((await poll(agent, { grant_type: CIBA, auth_req_id: authReqId })).body.error).toBe(
      "invalid_grant",
    );
    const refreshed = await poll(agent, {
      grant_type: "refresh_token",
      refresh_token: granted.body.refresh_token,
    });
    expect(refreshed.status).toBe(200);

    const introspect = (token: string) =>
      request(test.registry.app)
        .post("/oauth/introspect")
        .set("Authorization", `Bearer ${apiKey}`)
        .type("form")
        .send({ token });
    expect((await introspect(refreshed.body.access_token)).body).toMatchObject({
      active: true,
      sub: agent.id,
      token_type: "DPoP",
    });

    // The human revokes: the token is dead everywhere, and so is the refresh token.
    const received: string[] = [];
    const subscription = await test.revocationBus.subscribe({
      onRevocation: (record) => received.push(`${record.kind}:${record.subject}`),
      onReload: () => undefined,
    });
    await test.admin.post(`/api/grants/${approved.body.id}/revoke`).expect(204);
    await subscription.close();
    expect(received).toEqual([`grant:${approved.body.id}`]);
    expect((await introspect(refreshed.body.access_token)).body).toEqual({ active: false });
    expect(
      (
        await poll(agent, {
          grant_type: "refresh_token",
          refresh_token: granted.body.refresh_token,
        })
      ).body.error,
    ).toBe("invalid_grant");

    // Everything above is in one unbroken audit chain, with the approval's digest.
    await test.registry.auditSequencer.runOnce();
    expect((await test.admin.get("/api/audit/verify").expect(200)).body).toMatchObject({
      status: "intact",
    });
    const events = await test.admin.get("/api/audit/events?limit=500").expect(200);
    const types = events.body.events.map((event: { event: { type: string } }) => event.event.type);
    expect(types).toEqual(
      expect.arrayContaining([
        "agent.enrolled",
        "grant.requested",
        "grant.approved",
        "token.issued",
        "grant.revoked",
      ]),
    );
    const receipt = await test.admin.get(`/api/grants/${approved.body.id}/receipt`).expect(200);
    expect(receipt.body.digest).toBe(approved.body.digest);
  });

  it("refuses to widen a request at approval, on the server", async () => {
    const asked = await requestGrant(agent, requestedDetails, { binding_message: "widen me" });
    const widened = [{ ...requestedDetails[0], max_amount: "60.00" }, requestedDetails[1]];
    const response = await test.admin.post(
      `/api/grant-requests/${asked.body.auth_req_id}/approval-challenge`,
      { authorization_details: widened },
    );
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("ERR_GRANT_WIDENED");
  });

  it("refuses an assertion made for another challenge (another grant digest)", async () => {
    const asked = await requestGrant(agent, requestedDetails, {
      binding_message: "two challenges",
    });
    const id = asked.body.auth_req_id as string;
    const first = await test.admin
      .post(`/api/grant-requests/${id}/approval-challenge`, {})
      .expect(200);
    const narrowed = [{ ...requestedDetails[0], max_amount: "10.00" }, requestedDetails[1]];
    const second = await test.admin
      .post(`/api/grant-requests/${id}/approval-challenge`, { authorization_details: narrowed })
      .expect(200);
    expect(second.body.digest).not.toBe(first.body.digest);
    const signedSecond = await test.admin.authenticator.assert(second.body.options);
    const response = await test.admin.post(`/api/grant-requests/${id}/approve`, {
      challenge_id: first.body.challenge_id,
      response: signedSecond,
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("ERR_WEBAUTHN_FAILED");
  });

  it("answers access_denied with the human's reason", async () => {
    const asked = await requestGrant(agent, requestedDetails, { binding_message: "deny me" });
    await test.admin
      .post(`/api/grant-requests/${asked.body.auth_req_id}/deny`, { reason: "Not this merchant" })
      .expect(204);
    test.clock.advance(11);
    const answer = await poll(agent, { grant_type: CIBA, auth_req_id: asked.body.auth_req_id });
    expect(answer.body).toEqual({ error: "access_denied", error_description: "Not this merchant" });
  });

  it("refuses capabilities outside the service provider's ceiling", async () => {
    const response = await requestGrant(agent, [{ type: "delete", resource: "merchant/acme" }]);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("invalid_authorization_details");
  });

  it("binds tokens to the agent key: a proof by another key fails, and a replayed proof fails", async () => {
    const other = await enrolAgent(test);
    const asked = await requestGrant(agent, requestedDetails, { binding_message: "key binding" });
    const form = { grant_type: CIBA, auth_req_id: asked.body.auth_req_id as string };
    await poll(other, { grant_type: "refresh_token", refresh_token: "x" }); // fetch a nonce for `other`
    // Client authentication as `agent`, DPoP proof by `other`'s key.
    const assertion = await agent.assertion();
    const mixed = await request(test.registry.app)
      .post("/oauth/token")
      .type("form")
      .set("DPoP", await other.proof("POST", "/oauth/token"))
      .send({
        ...form,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: assertion,
      });
    expect(mixed.body.error).toBe("invalid_dpop_proof");

    const proof = await agent.proof("POST", "/oauth/token");
    const send = async () =>
      request(test.registry.app)
        .post("/oauth/token")
        .type("form")
        .set("DPoP", proof)
        .send({
          ...form,
          client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
          client_assertion: await agent.assertion(),
        });
    expect((await send()).body.error).toBe("authorization_pending");
    const replay = await send();
    expect(replay.body).toMatchObject({ error: "invalid_dpop_proof" });
  });

  it("accepts an enrolment code exactly once", async () => {
    const { body } = await test.admin
      .post("/api/agent-enrolment-codes", { name: "once" })
      .expect(201);
    const first = await enrolAgent(test);
    expect(first.id).toBeDefined();
    const enrol = async () => {
      const fresh = await import("../kit/agent-client.js").then(({ createTestAgent }) =>
        createTestAgent(test.registry.app, PUBLIC_URL, test.clock),
      );
      return request(test.registry.app)
        .post("/agents/enroll")
        .set("DPoP", await fresh.proof("POST", "/agents/enroll"))
        .send({ code: body.code });
    };
    expect((await enrol()).status).toBe(201);
    const again = await enrol();
    expect(again.status).toBe(400);
    expect(again.body.code).toBe("ERR_ENROLMENT_CODE_INVALID");
  });
});
