import request from "supertest";
import { beforeAll, expect, it } from "vitest";
import { AUDIT_EVENT_TYPES, type AuditEventType } from "../../src/audit/audit-event.js";
import { rotateSigningKey } from "../../src/signing/rotate-signing-key.js";
import { CIBA, inviteHuman, obtainToken, poll, requestGrantId } from "../grants/grant-helpers.js";
import { createTestAgent } from "../kit/agent-client.js";
import { createHumanClient } from "../kit/human-client.js";
import { createSoftwareAuthenticator } from "../kit/software-authenticator.js";
import { describeEachDatabase } from "../support/databases.js";
import {
  createPaymentsProvider,
  createTestRegistry,
  enrolAgent,
  PAYMENTS,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";

// Every kind of state change is audited: one pass through the API makes each one, and each must
// be in the chain, about what was changed, by whom. A new event type fails this test until a
// step here makes it.
describeEachDatabase("audit: every kind of state change lands in the chain", (database) => {
  let test: TestRegistry;

  beforeAll(async () => {
    test = await createTestRegistry(database.db());
    await createPaymentsProvider(test.admin);
  });

  it("records each event type, about its subject, in one intact chain", async () => {
    const admin = test.admin;
    const adminId = admin.human?.id as string;
    const expected: Array<{ type: AuditEventType; subject?: string; actor?: string }> = [];
    const record = (type: AuditEventType, subject?: string, actor?: string) =>
      expected.push({
        type,
        ...(subject === undefined ? {} : { subject }),
        ...(actor === undefined ? {} : { actor }),
      });

    // Humans, passkeys and sessions.
    record("human.enrolled", adminId, adminId);
    record("session.started");
    // A second device, signed in through the admin's session, adds a passkey of its own.
    const phone = createHumanClient(test.registry.app, {
      authenticator: createSoftwareAuthenticator({ rpId: "localhost", origin: PUBLIC_URL }),
    });
    phone.cookie = admin.cookie;
    const credentialId = await phone.addPasskey({ passkeyName: "spare" });
    record("passkey.added", credentialId, adminId);
    await admin.delete(`/api/me/passkeys/${encodeURIComponent(credentialId)}`).expect(204);
    record("passkey.removed", credentialId, adminId);
    const bob = await inviteHuman(test, "Bob");
    const bobId = bob.human?.id as string;
    record("human.invited", undefined, adminId);
    await bob.post("/api/session/logout").expect(204);
    record("session.revoked", undefined, bobId);

    // Service providers and their keys.
    const provider = "https://audited.example.com";
    const path = `/api/service-providers/${encodeURIComponent(provider)}`;
    await admin
      .post("/api/service-providers", {
        id: provider,
        name: "Audited",
        ceiling: [{ type: "read", resource: "*" }],
      })
      .expect(201);
    record("service_provider.created", provider, adminId);
    const key = await admin.post(`${path}/keys`).expect(201);
    record("service_provider.key_created", undefined, adminId);
    await admin.delete(`${path}/keys/${key.body.id}`).expect(204);
    record("service_provider.key_revoked", undefined, adminId);
    await admin.post(`${path}/disable`).expect(204);
    record("service_provider.disabled", provider, adminId);

    // Agents.
    await admin.post("/api/agent-enrolment-codes", { name: "spare bot" }).expect(201);
    record("agent.enrolment_code_created", undefined, adminId);
    const agent = await enrolAgent(test);
    const agentId = agent.id as string;
    record("agent.enrolled", agentId);
    await request(test.registry.app)
      .patch(`/api/agents/${agentId}`)
      .set("Origin", PUBLIC_URL)
      .set("Cookie", admin.cookie as string)
      .send({ name: "renamed bot" })
      .expect(200);
    record("agent.renamed", agentId, adminId);

    // Grants and tokens.
    const token = await obtainToken(test, agent);
    record("grant.requested", token.authReqId, agentId);
    record("grant.approved", undefined, adminId);
    record("token.issued", token.claims.jti as string, agentId);
    await agent.postForm("/oauth/revoke", { token: token.accessToken }, { dpop: false });
    record("token.revoked", token.claims.jti as string, agentId);
    await admin.post(`/api/grants/${token.grantId}/revoke`).expect(204);
    record("grant.revoked", token.grantId, adminId);
    const denied = await requestGrantId(agent);
    await admin.post(`/api/grant-requests/${denied}/deny`, { reason: "No" }).expect(204);
    record("grant.denied", denied, adminId);
    const expiring = await requestGrantId(agent, { form: { requested_expiry: "60" } });
    test.clock.advance(61);
    await poll(agent, { grant_type: CIBA, auth_req_id: expiring });
    record("grant.expired", expiring, "system");

    // The agent's key, then the agent itself.
    const next = await createTestAgent(test.registry.app, PUBLIC_URL, test.clock);
    await request(test.registry.app)
      .post("/agents/rotate-key")
      .set("DPoP", await agent.proof("POST", "/agents/rotate-key"))
      .send({ new_key_proof: await next.proof("POST", "/agents/rotate-key") })
      .expect(200);
    record("agent.key_rotated", agentId, agentId);
    await admin.post(`/api/agents/${agentId}/disable`).expect(200);
    record("agent.disabled", agentId, adminId);

    // An admin disables a human; the registry rotates its signing key; a verifier decides.
    await admin.post(`/api/humans/${bobId}/disable`).expect(200);
    record("human.disabled", bobId, adminId);
    const rotated = await rotateSigningKey({ SIGNING_KEY_FILE: test.signingKeyFile });
    await test.keyRing.activate();
    record("signing_key.rotated", rotated.signer.kid, "system");
    await test.decisionLog.append([
      {
        at: test.clock.now().toISOString(),
        outcome: "deny",
        reason: "ERR_TOKEN_SIGNATURE_INVALID",
        serviceProviderId: PAYMENTS,
        action: { type: "read", resource: "reports/2025" },
      },
    ]);
    expect(await test.registry.decisionConsumer.runOnce()).toBe(1);
    record("verifier.decision", undefined, PAYMENTS);

    await test.registry.auditSequencer.runOnce();
    const { body } = await admin.get("/api/audit/events?scope=all&limit=500").expect(200);
    const events = body.events.map((entry: { event: Record<string, unknown> }) => entry.event);
    for (const want of expected) {
      expect(events, JSON.stringify(want)).toContainEqual(expect.objectContaining(want));
    }
    const made = new Set(expected.map((want) => want.type));
    expect(AUDIT_EVENT_TYPES.filter((type) => !made.has(type))).toEqual([]);
    expect((await admin.get("/api/audit/verify").expect(200)).body).toMatchObject({
      status: "intact",
    });
  });
});
