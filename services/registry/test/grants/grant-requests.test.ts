import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import {
  CLIENT_ASSERTION_TYPE,
  computeGrantDigest,
  createClientAssertion,
  parseAuthorizationDetails,
} from "@agentauth/core";
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { BACKCHANNEL_RATE_LIMIT } from "../../src/grants/backchannel-routes.js";
import { createTestAgent, type TestAgent } from "../kit/agent-client.js";
import type { HumanClient } from "../kit/human-client.js";
import { describeEachDatabase } from "../support/databases.js";
import {
  createPaymentsProvider,
  createReadProvider,
  createTestRegistry,
  enrolAgent,
  PAYMENTS,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";
import {
  approvalChallenge,
  approve,
  approveWith,
  auditEvents,
  expectMalformedBodiesRefused,
  inviteHuman,
  PAYMENT_DETAILS,
  requestGrant,
  requestGrantId,
  uniqueBindingMessage,
} from "./grant-helpers.js";

const BACKCHANNEL = "/oauth/backchannel";

describeEachDatabase(
  "grants: the CIBA backchannel endpoint, review, narrowing and passkey approval",
  (database) => {
    let test: TestRegistry;
    let agent: TestAgent;
    let bob: HumanClient;

    beforeAll(async () => {
      test = await createTestRegistry(database.db());
      await createPaymentsProvider(test.admin);
      agent = await enrolAgent(test);
      bob = await inviteHuman(test);
    });

    /** The backchannel form with a chosen client assertion (or none). */
    const sendWith = (form: Record<string, string>) =>
      request(test.registry.app)
        .post(BACKCHANNEL)
        .type("form")
        .send({
          authorization_details: JSON.stringify(PAYMENT_DETAILS),
          resource: PAYMENTS,
          binding_message: uniqueBindingMessage(),
          ...form,
        });
    const assertionBy = (
      key: TestAgent,
      options: { clientId?: string; audience?: string; now?: Date } = {},
    ) =>
      createClientAssertion({
        key: key.key,
        clientId: options.clientId ?? (agent.id as string),
        audience: options.audience ?? PUBLIC_URL,
        now: options.now ?? test.clock.now(),
        jti: randomBytes(24).toString("base64url"),
      });
    const expectOAuthError = (response: request.Response, status: number, error: string) => {
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.headers["content-type"]).toMatch(/^application\/json/);
      expect(response.headers["cache-control"]).toBe("no-store");
      expect(response.body.error).toBe(error);
      expect(response.body.error_description).toEqual(expect.any(String));
    };
    const pendingRequestCount = async (bindingMessage: string) => {
      const { body } = await test.admin.get("/api/grant-requests?status=pending").expect(200);
      return body.requests.filter(
        (entry: { binding_message: string }) => entry.binding_message === bindingMessage,
      ).length;
    };

    const expectProblem = (response: request.Response, status: number, code: string) => {
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe(code);
    };
    const requestStatus = async (id: string) =>
      (await test.admin.get(`/api/grant-requests/${id}`).expect(200)).body.status as string;
    const grantFor = async (authReqId: string) => {
      const { body } = await test.admin.get("/api/grants").expect(200);
      return body.grants.find((grant: { request_id: string }) => grant.request_id === authReqId);
    };

    describe("backchannel endpoint", () => {
      it("answers a valid request per CIBA", async () => {
        const response = await requestGrant(agent, { form: { requested_expiry: "120" } });
        expect(response.status).toBe(200);
        expect(response.headers["cache-control"]).toBe("no-store");
        expect(response.body).toEqual({
          auth_req_id: expect.stringMatching(/^areq_/),
          expires_in: 120,
          interval: 5,
          user_code: expect.stringMatching(/^[A-Z]{4}-[A-Z]{4}$/),
          approval_uri: `${PUBLIC_URL}/requests/${response.body.auth_req_id}`,
        });
      });

      describe("client authentication (private_key_jwt)", () => {
        it("refuses a request without a client assertion, or with the wrong assertion type", async () => {
          expectOAuthError(await sendWith({}), 401, "invalid_client");
          const wrongType = await sendWith({
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            client_assertion: await assertionBy(agent),
          });
          expectOAuthError(wrongType, 401, "invalid_client");
          // Authenticated (or not) in the body: no HTTP authentication challenge (RFC 6749 §5.2).
          expect(wrongType.headers["www-authenticate"]).toBeUndefined();
        });

        it.each([
          ["garbage", async () => "not.a.jwt"],
          [
            "an assertion by a key that is not the agent's",
            async () =>
              assertionBy(await createTestAgent(test.registry.app, PUBLIC_URL, test.clock)),
          ],
          [
            "an assertion for another audience",
            async () => assertionBy(agent, { audience: "https://other-as.example" }),
          ],
          [
            "an assertion for an unknown client",
            async () => assertionBy(agent, { clientId: "agt_nobody" }),
          ],
          [
            "an expired assertion",
            async () => assertionBy(agent, { now: new Date(test.clock.now().getTime() - 120_000) }),
          ],
        ])("refuses %s with invalid_client", async (_label, makeAssertion) => {
          const response = await sendWith({
            client_assertion_type: CLIENT_ASSERTION_TYPE,
            client_assertion: await makeAssertion(),
          });
          expectOAuthError(response, 401, "invalid_client");
        });

        it("accepts the endpoint URL as audience, and refuses a client_id other than the assertion's", async () => {
          const toEndpoint = await sendWith({
            client_assertion_type: CLIENT_ASSERTION_TYPE,
            client_assertion: await assertionBy(agent, { audience: `${PUBLIC_URL}${BACKCHANNEL}` }),
          });
          expect(toEndpoint.status).toBe(200);
          const other = await enrolAgent(test);
          const mismatched = await sendWith({
            client_id: other.id as string,
            client_assertion_type: CLIENT_ASSERTION_TYPE,
            client_assertion: await assertionBy(agent),
          });
          expectOAuthError(mismatched, 401, "invalid_client");
        });

        it("refuses a replayed assertion", async () => {
          const assertion = await assertionBy(agent);
          const form = {
            client_assertion_type: CLIENT_ASSERTION_TYPE,
            client_assertion: assertion,
          };
          expect((await sendWith(form)).status).toBe(200);
          expectOAuthError(await sendWith(form), 401, "invalid_client");
        });

        it("refuses a disabled agent", async () => {
          const disabled = await enrolAgent(test);
          await test.admin.post(`/api/agents/${disabled.id}/disable`).expect(200);
          expectOAuthError(await requestGrant(disabled), 401, "invalid_client");
        });
      });

      describe("parameters", () => {
        it("needs authorization_details: a missing parameter is an invalid_request", async () => {
          const response = await agent.postForm(
            BACKCHANNEL,
            { resource: PAYMENTS, binding_message: uniqueBindingMessage() },
            { dpop: false },
          );
          expectOAuthError(response, 400, "invalid_request");
        });

        it.each([
          ["empty", ""],
          ["not JSON", "[{"],
          ["not an array", JSON.stringify(PAYMENT_DETAILS[0])],
          ["an empty array", "[]"],
          ["only an envelope", JSON.stringify([PAYMENT_DETAILS[1]])],
          ["an unknown capability type", JSON.stringify([{ type: "teleport", resource: "x" }])],
          [
            "a capability with a bad amount",
            JSON.stringify([
              { type: "transact", resource: "merchant/acme", max_amount: "fifty", currency: "EUR" },
            ]),
          ],
          [
            "a bad envelope",
            JSON.stringify([PAYMENT_DETAILS[0], { type: "envelope", spend_caps: "lots" }]),
          ],
          ["too long", JSON.stringify([{ type: "read", resource: `doc/${"x".repeat(33_000)}` }])],
        ])(
          "refuses authorization_details that is %s with invalid_authorization_details",
          async (_label, value) => {
            const response = await requestGrant(agent, { form: { authorization_details: value } });
            expectOAuthError(response, 400, "invalid_authorization_details");
          },
        );

        it("refuses capabilities outside the service provider's ceiling", async () => {
          for (const capability of [
            { type: "transact", resource: "merchant/acme", max_amount: "600.00", currency: "EUR" },
            { type: "transact", resource: "merchant/acme", max_amount: "10.00", currency: "USD" },
            { type: "transact", resource: "bank/transfer", max_amount: "10.00", currency: "EUR" },
            { type: "write", resource: "merchant/acme" },
          ]) {
            const response = await requestGrant(agent, { details: [capability] });
            expectOAuthError(response, 400, "invalid_authorization_details");
          }
        });

        it("refuses an unknown or disabled service provider with invalid_target", async () => {
          expectOAuthError(
            await requestGrant(agent, { form: { resource: "https://unknown.example.com" } }),
            400,
            "invalid_target",
          );
          await createReadProvider(test.admin, "retired-api");
          const readDetails = [{ type: "read", resource: "reports/2025" }];
          const before = await requestGrant(agent, {
            details: readDetails,
            form: { resource: "retired-api" },
          });
          expect(before.status).toBe(200);
          await test.admin.post("/api/service-providers/retired-api/disable").expect(204);
          expectOAuthError(
            await requestGrant(agent, { details: readDetails, form: { resource: "retired-api" } }),
            400,
            "invalid_target",
          );
          const missing = await agent.postForm(
            BACKCHANNEL,
            { authorization_details: JSON.stringify(PAYMENT_DETAILS) },
            { dpop: false },
          );
          expectOAuthError(missing, 400, "invalid_request");
        });

        it.each([
          ["a line break", "Pay ACME\nnow", "U+000A is not a letter, digit"],
          ["a control character", "Pay\u0007ACME", "U+0007 is not a letter, digit"],
          ["a right-to-left override", "Pay ACME \u202E05 RUE", "U+202E is not a letter, digit"],
          ["a zero-width space", "Pay AC\u200BME", "U+200B is not a letter, digit"],
          ["over 100 characters", "x".repeat(101), "at most 100 characters; this one has 101"],
        ])(
          "refuses a binding message with %s: invalid_binding_message (CIBA §13)",
          async (_label, bindingMessage, description) => {
            const response = await requestGrant(agent, {
              form: { binding_message: bindingMessage },
            });
            expectOAuthError(response, 400, "invalid_binding_message");
            expect(response.body.error_description).toContain(`binding_message must be `);
            expect(response.body.error_description).toContain(description);
          },
        );

        it("accepts a binding message in any script, with symbols, of up to 100 characters", async () => {
          for (const bindingMessage of [
            "Pay €50 + tip to Café Ünal",
            "नमस्ते: pay ₹500",
            "支付 ¥30 给商店",
            // Characters, not UTF-16 code units: each of these takes two.
            "🙂".repeat(100),
          ]) {
            const response = await requestGrant(agent, {
              form: { binding_message: bindingMessage },
            });
            expect(response.status, `${bindingMessage}: ${JSON.stringify(response.body)}`).toBe(
              200,
            );
          }
        });

        it.each([
          ["requested_expiry", "59"],
          ["requested_expiry", "3601"],
          ["requested_expiry", "soon"],
          ["grant_lifetime", "59"],
          ["grant_lifetime", String(90 * 86_400 + 1)],
          ["grant_lifetime", "1.5"],
        ])("refuses %s=%s", async (name, value) => {
          const response = await requestGrant(agent, { form: { [name]: value } });
          expectOAuthError(response, 400, "invalid_request");
        });
      });

      describe("de-duplication and limits", () => {
        it("answers an identical pending request with the same auth_req_id", async () => {
          const bindingMessage = uniqueBindingMessage();
          const form = { binding_message: bindingMessage };
          const first = await requestGrant(agent, { form });
          const second = await requestGrant(agent, { form });
          expect(second.status).toBe(200);
          expect(second.body.auth_req_id).toBe(first.body.auth_req_id);
          expect(second.body.user_code).toBe(first.body.user_code);
          expect(await pendingRequestCount(bindingMessage)).toBe(1);

          // Anything different is another request: capabilities, lifetime, service provider.
          const narrower = [{ ...PAYMENT_DETAILS[0], max_amount: "40.00" }, PAYMENT_DETAILS[1]];
          const others = [
            await requestGrant(agent, { details: narrower, form }),
            await requestGrant(agent, { form: { ...form, grant_lifetime: "3600" } }),
          ];
          const ids = new Set([first.body.auth_req_id, ...others.map((r) => r.body.auth_req_id)]);
          expect(ids.size).toBe(3);

          // Another agent asking the same is not the same request.
          const other = await enrolAgent(test);
          const theirs = await requestGrant(other, { form });
          expect(theirs.body.auth_req_id).not.toBe(first.body.auth_req_id);

          // Once decided, the same request again is new.
          await test.admin
            .post(`/api/grant-requests/${first.body.auth_req_id}/deny`, { reason: "No" })
            .expect(204);
          const afterDenial = await requestGrant(agent, { form });
          expect(afterDenial.status).toBe(200);
          expect(afterDenial.body.auth_req_id).not.toBe(first.body.auth_req_id);
        });

        it("does not answer with an expired request, and records its expiry", async () => {
          const form = { binding_message: uniqueBindingMessage(), requested_expiry: "60" };
          const first = await requestGrant(agent, { form });
          test.clock.advance(61);
          const second = await requestGrant(agent, { form });
          expect(second.status).toBe(200);
          expect(second.body.auth_req_id).not.toBe(first.body.auth_req_id);
          const expired = await test.admin
            .get(`/api/grant-requests/${first.body.auth_req_id}`)
            .expect(200);
          expect(expired.body.status).toBe("expired");
          expect(
            await auditEvents(test, { type: "grant.expired", subject: first.body.auth_req_id }),
          ).toHaveLength(1);
        });

        it("limits each client IP to 300 requests a minute, counted before client authentication", async () => {
          // At the start of a fixed window, so the whole burst falls in one.
          const now = test.clock.now().getTime();
          test.clock.advance((60_000 - (now % 60_000) + 100) / 1000);
          for (let sent = 0; sent < BACKCHANNEL_RATE_LIMIT; sent += 20) {
            const burst = await Promise.all(
              Array.from({ length: 20 }, () =>
                request(test.registry.app)
                  .post(BACKCHANNEL)
                  .type("form")
                  .send({ resource: PAYMENTS }),
              ),
            );
            for (const response of burst) expectOAuthError(response, 401, "invalid_client");
          }
          const refused = await requestGrant(agent);
          expectOAuthError(refused, 429, "invalid_request");
          expect(refused.body.error_description).toBe("Too many requests; try again later");
          expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
          expect(Number(refused.headers["retry-after"])).toBeLessThanOrEqual(60);

          test.clock.advance(60);
          expect((await requestGrant(agent)).status).toBe(200);
        });

        it("lets at most 20 requests of an agent wait for approval", async () => {
          const busy = await enrolAgent(test);
          const ids: string[] = [];
          for (let i = 0; i < 20; i++) {
            const response = await requestGrant(busy, { form: { requested_expiry: "600" } });
            expect(response.status).toBe(200);
            ids.push(response.body.auth_req_id);
          }
          const refused = await requestGrant(busy);
          expectOAuthError(refused, 429, "invalid_request");
          expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
          expect(Number(refused.headers["retry-after"])).toBeLessThanOrEqual(600);

          // Other agents are not affected; a decision makes room.
          expect((await requestGrant(agent)).status).toBe(200);
          await test.admin
            .post(`/api/grant-requests/${ids[0]}/deny`, { reason: "Too many" })
            .expect(204);
          expect((await requestGrant(busy)).status).toBe(200);
        });
      });

      it("answers malformed bodies with OAuth errors, never a 500", async () => {
        await expectMalformedBodiesRefused(test.registry.app, {
          method: "post",
          path: BACKCHANNEL,
          body: "form",
        });
      });
    });

    describe("approval", () => {
      describe("another human's request", () => {
        it("is not found: to view, challenge, approve, deny, or read its receipt", async () => {
          const id = await requestGrantId(agent);
          const challenge = await approvalChallenge(test.admin, id);
          expectProblem(await bob.get(`/api/grant-requests/${id}`), 404, "ERR_NOT_FOUND");
          expectProblem(
            await bob.post(`/api/grant-requests/${id}/approval-challenge`, {}),
            404,
            "ERR_NOT_FOUND",
          );
          expectProblem(
            await bob.post(`/api/grant-requests/${id}/deny`, { reason: "Not mine" }),
            404,
            "ERR_NOT_FOUND",
          );
          // Bob holds a challenge id he was never given: it is not his to use.
          const stolen = await bob.post(`/api/grant-requests/${id}/approve`, {
            challenge_id: challenge.challenge_id,
            response: await bob.authenticator.assert({
              ...challenge.options,
              allowCredentials: [],
            }),
          });
          expectProblem(stolen, 400, "ERR_WEBAUTHN_FAILED");
          const { body } = await bob.get("/api/grant-requests").expect(200);
          expect(body.requests).toEqual([]);
          expect(await requestStatus(id)).toBe("pending");

          // And the admin's own challenge answered by Bob's passkey is refused.
          const mine = await approvalChallenge(test.admin, id);
          const signedByBob = await test.admin.post(`/api/grant-requests/${id}/approve`, {
            challenge_id: mine.challenge_id,
            response: await bob.authenticator.assert({ ...mine.options, allowCredentials: [] }),
          });
          expectProblem(signedByBob, 400, "ERR_WEBAUTHN_FAILED");
          expect(signedByBob.body.reason).toBe("credential_not_owned");

          const approved = await approve(test.admin, id);
          expect(approved.status).toBe(201);
          expectProblem(
            await bob.get(`/api/grants/${approved.body.id}/receipt`),
            404,
            "ERR_NOT_FOUND",
          );
          expectProblem(
            await bob.post(`/api/grants/${approved.body.id}/revoke`),
            404,
            "ERR_NOT_FOUND",
          );
          expect((await grantFor(id)).status).toBe("active");
        });

        it("and every review route needs a signed-in human", async () => {
          const app = test.registry.app;
          for (const response of [
            await request(app).get("/api/grant-requests"),
            await request(app).get("/api/grants"),
            await request(app)
              .post("/api/grant-requests/areq_x/approval-challenge")
              .set("Origin", PUBLIC_URL)
              .send({}),
          ]) {
            expectProblem(response, 401, "ERR_UNAUTHENTICATED");
          }
        });
      });

      describe("narrowing", () => {
        it("approves a shorter lifetime and refuses a longer one as a widening", async () => {
          const id = await requestGrantId(agent, { form: { grant_lifetime: "3600" } });
          const longer = await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, {
            grant_lifetime: 3601,
          });
          expectProblem(longer, 400, "ERR_GRANT_WIDENED");
          const tooShort = await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, {
            grant_lifetime: 59,
          });
          expectProblem(tooShort, 400, "ERR_VALIDATION");

          const challenge = await approvalChallenge(test.admin, id, { grantLifetime: 600 });
          const expiresAt = Date.parse(challenge.final_grant.expires_at);
          const now = test.clock.now().getTime();
          expect(expiresAt).toBeGreaterThan(now + 590_000);
          expect(expiresAt).toBeLessThanOrEqual(now + 600_000);
          const approved = await approveWith(test.admin, id, challenge);
          expect(approved.status).toBe(201);
          expect(approved.body.expires_at).toBe(challenge.final_grant.expires_at);
          expect((await grantFor(id)).expires_at).toBe(challenge.final_grant.expires_at);
        });

        it("refuses narrowed details that are invalid, or wider than asked", async () => {
          const id = await requestGrantId(agent);
          const invalid = await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, {
            authorization_details: [{ type: "teleport", resource: "x" }],
          });
          expectProblem(invalid, 400, "ERR_INVALID_AUTHORIZATION_DETAILS");
          const wider = await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, {
            authorization_details: [
              PAYMENT_DETAILS[0],
              { type: "read", resource: "merchant/acme" },
            ],
          });
          expectProblem(wider, 400, "ERR_GRANT_WIDENED");
          // Dropping the envelope lifts its spend cap: a widening too.
          const unlimited = await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, {
            authorization_details: [PAYMENT_DETAILS[0]],
          });
          expectProblem(unlimited, 400, "ERR_GRANT_WIDENED");
          expect(await requestStatus(id)).toBe("pending");
        });
      });

      describe("deciding", () => {
        it("refuses to approve, deny or challenge an expired request", async () => {
          const id = await requestGrantId(agent, { form: { requested_expiry: "60" } });
          const challenge = await approvalChallenge(test.admin, id);
          test.clock.advance(61);
          expectProblem(await approveWith(test.admin, id, challenge), 410, "ERR_REQUEST_EXPIRED");
          expectProblem(
            await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, {}),
            410,
            "ERR_REQUEST_EXPIRED",
          );
          expectProblem(
            await test.admin.post(`/api/grant-requests/${id}/deny`, { reason: "Too late" }),
            410,
            "ERR_REQUEST_EXPIRED",
          );
          expect(await requestStatus(id)).toBe("expired");
          expect(await grantFor(id)).toBeUndefined();
          const listed = async (status: string) =>
            (
              await test.admin.get(`/api/grant-requests?status=${status}`).expect(200)
            ).body.requests.map((entry: { id: string }) => entry.id);
          expect(await listed("pending")).not.toContain(id);
          expect(await listed("expired")).toContain(id);
        });

        it("decides a request once: a second approval or a denial afterwards is refused", async () => {
          const id = await requestGrantId(agent);
          const first = await approvalChallenge(test.admin, id);
          const second = await approvalChallenge(test.admin, id);
          expect((await approveWith(test.admin, id, first)).status).toBe(201);
          expectProblem(await approveWith(test.admin, id, second), 409, "ERR_REQUEST_NOT_PENDING");
          expectProblem(
            await test.admin.post(`/api/grant-requests/${id}/deny`, { reason: "Changed my mind" }),
            409,
            "ERR_REQUEST_NOT_PENDING",
          );
          expectProblem(
            await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, {}),
            409,
            "ERR_REQUEST_NOT_PENDING",
          );
          expect(await requestStatus(id)).toBe("approved");

          const denied = await requestGrantId(agent);
          const challenge = await approvalChallenge(test.admin, denied);
          await test.admin.post(`/api/grant-requests/${denied}/deny`, { reason: "No" }).expect(204);
          expectProblem(
            await approveWith(test.admin, denied, challenge),
            409,
            "ERR_REQUEST_NOT_PENDING",
          );
          const { body } = await test.admin.get(`/api/grant-requests/${denied}`).expect(200);
          expect(body).toMatchObject({ status: "denied", deny_reason: "No" });
        });

        it("approves once when two approvals race", async () => {
          const id = await requestGrantId(agent);
          const first = await approvalChallenge(test.admin, id);
          const second = await approvalChallenge(test.admin, id);
          const answers = await Promise.all([
            approveWith(test.admin, id, first),
            approveWith(test.admin, id, second),
          ]);
          const statuses = answers.map((answer) => answer.status).sort();
          // The loser is refused for the decided request, or for the passkey counter both used.
          expect(statuses[0]).toBe(201);
          expect([400, 409]).toContain(statuses[1]);
          const { body } = await test.admin.get("/api/grants").expect(200);
          expect(
            body.grants.filter((grant: { request_id: string }) => grant.request_id === id),
          ).toHaveLength(1);
        });

        it("refuses an assertion without user verification, approving nothing, and burns the challenge", async () => {
          const id = await requestGrantId(agent);
          const challenge = await approvalChallenge(test.admin, id);
          const unverified = await approveWith(test.admin, id, challenge, { userVerified: false });
          expectProblem(unverified, 400, "ERR_WEBAUTHN_FAILED");
          expect(unverified.body.reason).toBe("user_not_verified");
          expect(await requestStatus(id)).toBe("pending");
          expect(await grantFor(id)).toBeUndefined();

          // The challenge is used up, even by a failed attempt: an honest retry needs a new one.
          const retried = await approveWith(test.admin, id, challenge);
          expectProblem(retried, 400, "ERR_WEBAUTHN_FAILED");
          expect(retried.body.reason).toBeUndefined();
          expect((await approve(test.admin, id)).status).toBe(201);
        });

        it("refuses a challenge used for another request", async () => {
          const first = await requestGrantId(agent);
          const other = await requestGrantId(agent);
          const challenge = await approvalChallenge(test.admin, first);
          expectProblem(
            await approveWith(test.admin, other, challenge),
            400,
            "ERR_WEBAUTHN_FAILED",
          );
          expect(await requestStatus(other)).toBe("pending");
          expect(await requestStatus(first)).toBe("pending");
        });

        it("refuses with 409, approving nothing, when the agent is disabled after the challenge", async () => {
          const doomed = await enrolAgent(test);
          const id = await requestGrantId(doomed);
          const challenge = await approvalChallenge(test.admin, id);
          await test.admin.post(`/api/agents/${doomed.id}/disable`).expect(200);
          expectProblem(await approveWith(test.admin, id, challenge), 409, "ERR_CONFLICT");
          expect(await requestStatus(id)).toBe("pending");
          expect(await grantFor(id)).toBeUndefined();
          expectProblem(
            await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, {}),
            409,
            "ERR_CONFLICT",
          );
        });

        it("refuses with 409, approving nothing, when the service provider is disabled after the request", async () => {
          await createReadProvider(test.admin, "sunset-api");
          const details = [{ type: "read", resource: "reports/2025" }];
          const id = await requestGrantId(agent, { details, form: { resource: "sunset-api" } });
          const challenge = await approvalChallenge(test.admin, id);
          await test.admin.post("/api/service-providers/sunset-api/disable").expect(204);

          const expectDisabledProvider = (response: request.Response) => {
            expectProblem(response, 409, "ERR_CONFLICT");
            expect(response.body.reason).toBe("service_provider_disabled");
            expect(response.body.detail).toBe(
              "The service provider sunset-api has been disabled since the request was made: it can no longer be approved",
            );
          };
          expectDisabledProvider(await approveWith(test.admin, id, challenge));
          expectDisabledProvider(
            await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, {}),
          );
          expect(await requestStatus(id)).toBe("pending");
          expect(await grantFor(id)).toBeUndefined();
          // It can still be denied, which tells the agent.
          await test.admin
            .post(`/api/grant-requests/${id}/deny`, { reason: "Service retired" })
            .expect(204);
        });

        it("refuses with 409, approving nothing, when the agent's key changes after the challenge", async () => {
          const rotating = await enrolAgent(test);
          const id = await requestGrantId(rotating);
          const challenge = await approvalChallenge(test.admin, id);
          const next = await createTestAgent(test.registry.app, PUBLIC_URL, test.clock);
          await request(test.registry.app)
            .post("/agents/rotate-key")
            .set("DPoP", await rotating.proof("POST", "/agents/rotate-key"))
            .send({ new_key_proof: await next.proof("POST", "/agents/rotate-key") })
            .expect(200);
          expectProblem(await approveWith(test.admin, id, challenge), 409, "ERR_CONFLICT");
          expect(await requestStatus(id)).toBe("pending");
          expect(await grantFor(id)).toBeUndefined();

          // Reviewed again, the grant names the new key.
          const approved = await approve(test.admin, id);
          expect(approved.status).toBe(201);
          const receipt = await test.admin
            .get(`/api/grants/${approved.body.id}/receipt`)
            .expect(200);
          expect(receipt.body.final_grant.agent_jkt).toBe(next.jkt);
        });

        it("validates what it is sent", async () => {
          const id = await requestGrantId(agent);
          for (const body of [{}, { challenge_id: "wch_x" }, { challenge_id: "", response: {} }]) {
            expectProblem(
              await test.admin.post(`/api/grant-requests/${id}/approve`, body),
              400,
              "ERR_VALIDATION",
            );
          }
          expectProblem(
            await test.admin.post(`/api/grant-requests/${id}/approve`, {
              challenge_id: "wch_unknown",
              response: { id: "x" },
            }),
            400,
            "ERR_WEBAUTHN_FAILED",
          );
          for (const body of [{}, { reason: "  " }, { reason: "x".repeat(501) }]) {
            expectProblem(
              await test.admin.post(`/api/grant-requests/${id}/deny`, body),
              400,
              "ERR_VALIDATION",
            );
          }
          expectProblem(
            await test.admin.post(`/api/grant-requests/${id}/approval-challenge`, { extra: 1 }),
            400,
            "ERR_VALIDATION",
          );
          expectProblem(
            await test.admin.post("/api/grant-requests/areq_unknown/approval-challenge", {}),
            404,
            "ERR_NOT_FOUND",
          );
          expectProblem(
            await test.admin.get("/api/grant-requests?status=bogus"),
            400,
            "ERR_VALIDATION",
          );
          expectProblem(
            await test.admin.get("/api/grant-requests?status=pending&status=denied"),
            400,
            "ERR_VALIDATION",
          );
          expect(await requestStatus(id)).toBe("pending");
        });
      });

      describe("receipts", () => {
        it("hold everything needed to re-verify the approval, which verifies independently", async () => {
          const id = await requestGrantId(agent);
          const narrowed = [{ ...PAYMENT_DETAILS[0], max_amount: "25.00" }, PAYMENT_DETAILS[1]];
          const approved = await approve(test.admin, id, {
            details: narrowed,
            grantLifetime: 7200,
          });
          expect(approved.status).toBe(201);
          const { body } = await test.admin
            .get(`/api/grants/${approved.body.id}/receipt`)
            .expect(200);
          expect(body.final_grant).toEqual({
            request_id: id,
            agent_jkt: agent.jkt,
            service_provider: PAYMENTS,
            authorization_details: narrowed,
            expires_at: Date.parse(approved.body.expires_at) / 1000,
          });
          expect(body.receipt.credential_id).toBe(test.admin.authenticator.credentials[0]?.id);

          // 1. The digest is core's digest of exactly the final grant returned.
          const finalGrant = {
            requestId: body.final_grant.request_id,
            agentJkt: body.final_grant.agent_jkt,
            serviceProviderId: body.final_grant.service_provider,
            authorization: parseAuthorizationDetails(body.final_grant.authorization_details),
            expiresAt: new Date(body.final_grant.expires_at * 1000),
          };
          const digest = await computeGrantDigest(finalGrant);
          expect(body.digest).toBe(digest);
          expect(approved.body.digest).toBe(digest);

          // 2. The passkey signed a challenge derived from that digest and the server nonce.
          const clientData = JSON.parse(base64url(body.receipt.client_data_json).toString("utf8"));
          expect(clientData).toMatchObject({ type: "webauthn.get", origin: PUBLIC_URL });
          expect(clientData.challenge).toBe(approvalChallengeFor(digest, body.receipt.nonce));

          // 3. The signature verifies under the passkey's COSE public key, with UP and UV set.
          const authenticatorData = base64url(body.receipt.authenticator_data);
          expect(authenticatorData.subarray(0, 32)).toEqual(sha256(Buffer.from("localhost")));
          expect((authenticatorData[32] as number) & 0x05).toBe(0x05);
          const publicKey = coseToPublicKey(base64url(body.passkey_public_key));
          const signed = Buffer.concat([
            authenticatorData,
            sha256(base64url(body.receipt.client_data_json)),
          ]);
          const signature = base64url(body.receipt.signature);
          expect(verify("sha256", signed, { key: publicKey, dsaEncoding: "der" }, signature)).toBe(
            true,
          );

          // A grant altered after the fact has another digest, so the signature does not cover it.
          const altered = await computeGrantDigest({
            ...finalGrant,
            authorization: parseAuthorizationDetails([
              { ...PAYMENT_DETAILS[0], max_amount: "50.00" },
              PAYMENT_DETAILS[1],
            ]),
          });
          expect(approvalChallengeFor(altered, body.receipt.nonce)).not.toBe(clientData.challenge);
        });
      });

      it("answers malformed bodies with 4xx problems, never a 500", async () => {
        const id = await requestGrantId(agent);
        for (const path of [
          `/api/grant-requests/${id}/approval-challenge`,
          `/api/grant-requests/${id}/approve`,
          `/api/grant-requests/${id}/deny`,
        ]) {
          await expectMalformedBodiesRefused(test.registry.app, {
            method: "post",
            path,
            body: "json",
            human: test.admin,
          });
        }
        expect(await requestStatus(id)).toBe("pending");
      });
    });
  },
);

function base64url(value: string): Buffer {
  return Buffer.from(value, "base64url");
}

function sha256(data: Buffer | string): Buffer {
  return createHash("sha256").update(data).digest();
}

/** base64url(SHA-256("agentauth-approval-v1." ‖ digest ‖ "." ‖ nonce)), per docs/protocol.md. */
function approvalChallengeFor(digest: string, nonce: string): string {
  return sha256(`agentauth-approval-v1.${digest}.${nonce}`).toString("base64url");
}

/** A P-256 COSE_Key (RFC 9053 §2.1: kty 2, alg -7, crv 1, x, y) as a node:crypto public key. */
function coseToPublicKey(cose: Buffer) {
  const map = decodeCborMap(cose);
  expect([map.get(1), map.get(3), map.get(-1)]).toEqual([2, -7, 1]);
  const coordinate = (label: number) =>
    Buffer.from(map.get(label) as Uint8Array).toString("base64url");
  return createPublicKey({
    key: { kty: "EC", crv: "P-256", x: coordinate(-2), y: coordinate(-3) },
    format: "jwk",
  });
}

/** Just enough CBOR (RFC 8949) for a COSE_Key: one map of small integers and byte strings. */
function decodeCborMap(bytes: Buffer): Map<number, number | Uint8Array> {
  let offset = 0;
  const head = () => {
    const initial = bytes[offset++] as number;
    const info = initial & 0x1f;
    let value: number;
    if (info < 24) value = info;
    else if (info === 24) value = bytes[offset++] as number;
    else if (info === 25) {
      value = bytes.readUInt16BE(offset);
      offset += 2;
    } else throw new Error(`Unexpected CBOR length encoding ${info}`);
    return { major: initial >> 5, value };
  };
  const item = (): number | Uint8Array => {
    const { major, value } = head();
    if (major === 0) return value;
    if (major === 1) return -1 - value;
    if (major === 2) {
      const out = bytes.subarray(offset, offset + value);
      offset += value;
      return out;
    }
    throw new Error(`Unexpected CBOR major type ${major}`);
  };
  const map = head();
  if (map.major !== 5) throw new Error("A COSE_Key is a CBOR map");
  const entries = new Map<number, number | Uint8Array>();
  for (let i = 0; i < map.value; i++) entries.set(item() as number, item());
  expect(offset).toBe(bytes.length);
  return entries;
}
