import { verifyAccessToken } from "@agentauth/core";
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import {
  approve,
  auditEvents,
  CIBA,
  captureRevocations,
  decodeJwtPayload,
  expectMalformedBodiesRefused,
  introspect,
  obtainToken,
  PAYMENT_DETAILS,
  poll,
  refresh,
  requestGrantId,
} from "../grants/grant-helpers.js";
import { createTestAgent, type TestAgent } from "../kit/agent-client.js";
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

const TOKEN = "/oauth/token";
const REVOKE = "/oauth/revoke";

describeEachDatabase(
  "tokens: the token endpoint, RFC 7009 revocation and RFC 7662 introspection",
  (database) => {
    let test: TestRegistry;
    let apiKey: string;
    let agent: TestAgent;
    let other: TestAgent;

    beforeAll(async () => {
      test = await createTestRegistry(database.db());
      ({ apiKey } = await createPaymentsProvider(test.admin));
      agent = await enrolAgent(test);
      other = await enrolAgent(test);
    });

    const expectOAuthError = (response: request.Response, status: number, error: string) => {
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.headers["cache-control"]).toBe("no-store");
      expect(response.body.error).toBe(error);
    };
    /** An enrolled agent that has not been handed a DPoP nonce yet. */
    const freshAgent = () => enrolAgent(test);

    const revoke = (by: TestAgent, token: string, extra: Record<string, string> = {}) =>
      by.postForm(REVOKE, { token, ...extra }, { dpop: false });
    const expectRevokeAnswer = (response: request.Response) => {
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.text).toBe("");
    };
    const activeOf = async (token: string) =>
      (await introspect(test.registry.app, apiKey, token).expect(200)).body;

    describe("token endpoint", () => {
      describe("DPoP", () => {
        it("is required, and a nonce is handed out with the refusal", async () => {
          const id = await requestGrantId(agent);
          const response = await agent.postForm(
            TOKEN,
            { grant_type: CIBA, auth_req_id: id },
            { dpop: false },
          );
          expectOAuthError(response, 400, "invalid_dpop_proof");
          expect(response.headers["dpop-nonce"]).toEqual(expect.any(String));
        });

        it("needs the server's nonce: use_dpop_nonce with a DPoP-Nonce header, then accepted", async () => {
          const newcomer = await freshAgent();
          const id = await requestGrantId(newcomer);
          const first = await newcomer.postForm(TOKEN, { grant_type: CIBA, auth_req_id: id });
          expectOAuthError(first, 400, "use_dpop_nonce");
          const nonce = first.headers["dpop-nonce"];
          expect(nonce).toMatch(/^[A-Za-z0-9_-]{20,}$/);
          const second = await newcomer.postForm(TOKEN, { grant_type: CIBA, auth_req_id: id });
          expectOAuthError(second, 400, "authorization_pending");
        });

        it("refuses a stale or made-up nonce with use_dpop_nonce and a fresh one", async () => {
          const id = await requestGrantId(agent, { form: { requested_expiry: "3600" } });
          await poll(agent, { grant_type: CIBA, auth_req_id: id });
          const stale = agent.nonce as string;

          agent.nonce = "made-up-nonce-made-up-nonce";
          const madeUp = await agent.postForm(TOKEN, { grant_type: CIBA, auth_req_id: id });
          expectOAuthError(madeUp, 400, "use_dpop_nonce");
          expect(madeUp.headers["dpop-nonce"]).toEqual(expect.any(String));

          // Nonces live one to two 5-minute windows.
          test.clock.advance(601);
          agent.nonce = stale;
          const late = await agent.postForm(TOKEN, { grant_type: CIBA, auth_req_id: id });
          expectOAuthError(late, 400, "use_dpop_nonce");
          expect(late.headers["dpop-nonce"]).not.toBe(stale);
          // The agent's client assertion was not spent on the refused proof: the next poll works.
          expectOAuthError(
            await agent.postForm(TOKEN, { grant_type: CIBA, auth_req_id: id }),
            400,
            "authorization_pending",
          );
        });

        it("refuses a proof made for another endpoint", async () => {
          const id = await requestGrantId(agent);
          await poll(agent, { grant_type: CIBA, auth_req_id: id });
          const response = await request(test.registry.app)
            .post(TOKEN)
            .type("form")
            .set("DPoP", await agent.proof("POST", "/oauth/backchannel"))
            .send({
              grant_type: CIBA,
              auth_req_id: id,
              client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
              client_assertion: await agent.assertion(),
            });
          expectOAuthError(response, 400, "invalid_dpop_proof");
        });
      });

      describe("parameters and client authentication", () => {
        it("refuses an unknown grant type, and a missing one", async () => {
          expectOAuthError(
            await poll(agent, { grant_type: "authorization_code", code: "x" }),
            400,
            "unsupported_grant_type",
          );
          expectOAuthError(
            await poll(agent, { grant_type: "client_credentials" }),
            400,
            "unsupported_grant_type",
          );
          expectOAuthError(await poll(agent, { auth_req_id: "areq_x" }), 400, "invalid_request");
        });

        it("refuses a CIBA poll without auth_req_id, and a refresh without refresh_token", async () => {
          expectOAuthError(await poll(agent, { grant_type: CIBA }), 400, "invalid_request");
          expectOAuthError(
            await poll(agent, { grant_type: "refresh_token" }),
            400,
            "invalid_request",
          );
        });

        it("needs client authentication by the agent holding the proof's key", async () => {
          const id = await requestGrantId(agent);
          const response = await agent.postForm(
            TOKEN,
            { grant_type: CIBA, auth_req_id: id },
            { authenticate: false },
          );
          const retried =
            response.body.error === "use_dpop_nonce"
              ? await agent.postForm(
                  TOKEN,
                  { grant_type: CIBA, auth_req_id: id },
                  { authenticate: false },
                )
              : response;
          expectOAuthError(retried, 401, "invalid_client");
          expect(retried.headers["www-authenticate"]).toBeUndefined();
        });
      });

      describe("CIBA polls", () => {
        it("refuses someone else's auth_req_id, and an unknown one, with invalid_grant", async () => {
          const id = await requestGrantId(agent);
          expectOAuthError(
            await poll(other, { grant_type: CIBA, auth_req_id: id }),
            400,
            "invalid_grant",
          );
          expectOAuthError(
            await poll(agent, { grant_type: CIBA, auth_req_id: "areq_unknown" }),
            400,
            "invalid_grant",
          );
          // The owner's poll is unaffected, and once approved the token is the owner's only.
          expectOAuthError(
            await poll(agent, { grant_type: CIBA, auth_req_id: id }),
            400,
            "authorization_pending",
          );
          expect((await approve(test.admin, id)).status).toBe(201);
          expectOAuthError(
            await poll(other, { grant_type: CIBA, auth_req_id: id }),
            400,
            "invalid_grant",
          );
          expect((await poll(agent, { grant_type: CIBA, auth_req_id: id })).status).toBe(200);
        });

        it("answers expired_token once the request has expired, and audits grant.expired once", async () => {
          const id = await requestGrantId(agent, { form: { requested_expiry: "60" } });
          test.clock.advance(61);
          expectOAuthError(
            await poll(agent, { grant_type: CIBA, auth_req_id: id }),
            400,
            "expired_token",
          );
          test.clock.advance(6);
          expectOAuthError(
            await poll(agent, { grant_type: CIBA, auth_req_id: id }),
            400,
            "expired_token",
          );
          expect(await auditEvents(test, { type: "grant.expired", subject: id })).toHaveLength(1);
        });

        it("answers expired_token to an approved auth_req_id redeemed after the request expired", async () => {
          const id = await requestGrantId(agent, { form: { requested_expiry: "60" } });
          expect((await approve(test.admin, id)).status).toBe(201);
          test.clock.advance(61);
          const late = await poll(agent, { grant_type: CIBA, auth_req_id: id });
          expectOAuthError(late, 400, "expired_token");
          expect(late.body.error_description).toBe(
            "The auth_req_id expired before it was exchanged for a token: make a new request",
          );
          const stored = await database
            .db()
            .selectFrom("grant_requests")
            .select("redeemed_at")
            .where("id", "=", id)
            .executeTakeFirstOrThrow();
          expect(stored.redeemed_at).toBeNull();
        });

        it("redeems an approved auth_req_id up to its last second", async () => {
          const id = await requestGrantId(agent, { form: { requested_expiry: "60" } });
          expect((await approve(test.admin, id)).status).toBe(201);
          test.clock.advance(58);
          expect((await poll(agent, { grant_type: CIBA, auth_req_id: id })).status).toBe(200);
        });
      });

      describe("refresh", () => {
        it("refuses another agent's refresh token, an unknown one, and one of a revoked grant", async () => {
          const token = await obtainToken(test, agent);
          expectOAuthError(await refresh(other, token.refreshToken), 400, "invalid_grant");
          expectOAuthError(await refresh(agent, "art_not-a-refresh-token"), 400, "invalid_grant");
          expect((await refresh(agent, token.refreshToken)).status).toBe(200);

          await test.admin.post(`/api/grants/${token.grantId}/revoke`).expect(204);
          expectOAuthError(await refresh(agent, token.refreshToken), 400, "invalid_grant");
        });

        it("issues nothing more for a service provider disabled since the approval", async () => {
          const closing = "https://closing.example.com";
          await test.admin
            .post("/api/service-providers", {
              id: closing,
              name: "Closing down",
              ceiling: [{ type: "read", resource: "*" }],
            })
            .expect(201);
          const readDetails = [{ type: "read", resource: "reports/*" }];
          const form = { resource: closing };
          const redeemed = await requestGrantId(agent, { details: readDetails, form });
          expect((await approve(test.admin, redeemed)).status).toBe(201);
          const token = await poll(agent, { grant_type: CIBA, auth_req_id: redeemed });
          expect(token.status).toBe(200);
          const unredeemed = await requestGrantId(agent, { details: readDetails, form });
          expect((await approve(test.admin, unredeemed)).status).toBe(201);

          await test.admin
            .post(`/api/service-providers/${encodeURIComponent(closing)}/disable`)
            .expect(204);
          expectOAuthError(await refresh(agent, token.body.refresh_token), 400, "invalid_grant");
          expectOAuthError(
            await poll(agent, { grant_type: CIBA, auth_req_id: unredeemed }),
            400,
            "invalid_grant",
          );
        });

        it("gives a token for an approval once, even to two polls at the same moment", async () => {
          const id = await requestGrantId(agent);
          expect((await approve(test.admin, id)).status).toBe(201);
          await poll(agent, { grant_type: "refresh_token", refresh_token: "fetch-a-nonce" });
          const form = { grant_type: CIBA, auth_req_id: id };
          const answers = await Promise.all([
            agent.postForm(TOKEN, form),
            agent.postForm(TOKEN, form),
          ]);
          expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
          expect(answers.find((answer) => answer.status === 400)?.body.error).toBe("invalid_grant");
        });

        it("refuses to redeem an approval whose grant was revoked before the first token", async () => {
          const id = await requestGrantId(agent);
          const approved = await approve(test.admin, id);
          await test.admin.post(`/api/grants/${approved.body.id}/revoke`).expect(204);
          expectOAuthError(
            await poll(agent, { grant_type: CIBA, auth_req_id: id }),
            400,
            "invalid_grant",
          );
        });
      });

      describe("lifetimes", () => {
        it("honours the envelope's max_token_lifetime_seconds", async () => {
          const details = [
            PAYMENT_DETAILS[0],
            { ...PAYMENT_DETAILS[1], max_token_lifetime_seconds: 120 },
          ];
          const token = await obtainToken(test, agent, { requestDetails: details });
          expect(token.expiresIn).toBe(120);
          expect((token.claims.exp as number) - (token.claims.iat as number)).toBe(120);
          const renewed = await refresh(agent, token.refreshToken);
          expect(renewed.body.expires_in).toBe(120);
        });

        it("caps a token at the registry's default lifetime", async () => {
          const token = await obtainToken(test, agent);
          expect(token.expiresIn).toBe(600);
        });

        it("never lets a token outlive its grant, nor a refresh token renew an ended grant", async () => {
          const token = await obtainToken(test, agent, { grantLifetime: 90 });
          const grantEnds = token.claims.exp as number;
          expect(token.expiresIn).toBeLessThanOrEqual(90);
          expect(token.expiresIn).toBeGreaterThan(80);

          test.clock.advance(60);
          const renewed = await refresh(agent, token.refreshToken);
          expect(renewed.status).toBe(200);
          expect(decodeJwtPayload(renewed.body.access_token).exp).toBe(grantEnds);
          expect(renewed.body.expires_in).toBeLessThanOrEqual(30);

          test.clock.advance(31);
          expectOAuthError(await refresh(agent, token.refreshToken), 400, "invalid_grant");
        });
      });

      it("answers malformed bodies with OAuth errors, never a 500", async () => {
        await expectMalformedBodiesRefused(test.registry.app, {
          method: "post",
          path: TOKEN,
          body: "form",
        });
        // With a valid proof too: the body is read before any check that could hide a failure.
        const newcomer = await createTestAgent(test.registry.app, PUBLIC_URL, test.clock);
        const response = await request(test.registry.app)
          .post(TOKEN)
          .set("DPoP", await newcomer.proof("POST", TOKEN))
          .set("Content-Type", "application/json")
          .send('{"grant_type":"refresh_token"}');
        expectOAuthError(response, 415, "invalid_request");
      });
    });

    describe("revocation", () => {
      it("revokes an access token: inactive at once, published until it would have expired anyway", async () => {
        const token = await obtainToken(test, agent);
        expect((await activeOf(token.accessToken)).active).toBe(true);

        let answer: request.Response | undefined;
        const published = await captureRevocations(test.revocationBus, async () => {
          answer = await revoke(agent, token.accessToken, { token_type_hint: "access_token" });
        });
        expectRevokeAnswer(answer as request.Response);
        expect(published).toEqual([
          { kind: "token", subject: token.claims.jti, expiresAt: expect.any(Date) },
        ]);
        expect(await activeOf(token.accessToken)).toEqual({ active: false });
        expect(
          await auditEvents(test, { type: "token.revoked", subject: token.claims.jti as string }),
        ).toHaveLength(1);

        // A verifier allowing core's default clock skew still accepts the token a few seconds
        // past `exp`: the revocation must still be live then.
        const { keys } = (await request(test.registry.app).get("/.well-known/jwks.json")).body;
        const exp = token.claims.exp as number;
        const pastExp = new Date((exp + 4) * 1000);
        await expect(
          verifyAccessToken(token.accessToken, {
            keys: { keys },
            expectedIssuer: PUBLIC_URL,
            expectedAudience: PAYMENTS,
            now: pastExp,
          }),
        ).resolves.toBeDefined();
        expect(published[0]?.expiresAt.getTime()).toBeGreaterThan(pastExp.getTime());

        // The refresh token of the grant still works: only that access token was revoked.
        expect((await refresh(agent, token.refreshToken)).status).toBe(200);
        // Revoking it again changes nothing and publishes nothing.
        const again = await captureRevocations(test.revocationBus, async () => {
          expectRevokeAnswer(await revoke(agent, token.accessToken));
        });
        expect(again).toEqual([]);
      });

      it("revokes an access token while the key set is not cached (PGlite's one connection)", async () => {
        const token = await obtainToken(test, agent);
        // Past the registry's few seconds of key-set caching: revoking reads the key set.
        test.clock.advance(6);
        expectRevokeAnswer(await revoke(agent, token.accessToken));
        expect(await activeOf(token.accessToken)).toEqual({ active: false });
      });

      it("revokes a refresh token: it renews nothing more, nor do the grant's access tokens live on", async () => {
        const token = await obtainToken(test, agent);
        let answer: request.Response | undefined;
        const published = await captureRevocations(test.revocationBus, async () => {
          answer = await revoke(agent, token.refreshToken, { token_type_hint: "refresh_token" });
        });
        expectRevokeAnswer(answer as request.Response);
        const refused = await refresh(agent, token.refreshToken);
        expect(refused.status).toBe(400);
        expect(refused.body.error).toBe("invalid_grant");
        expect(published).toEqual([
          { kind: "token", subject: token.claims.jti, expiresAt: expect.any(Date) },
        ]);
        expect(await activeOf(token.accessToken)).toEqual({ active: false });
        expect(
          await auditEvents(test, { type: "token.revoked", subject: token.grantId }),
        ).toHaveLength(1);
      });

      it("finds the token whatever the hint says", async () => {
        const token = await obtainToken(test, agent);
        expectRevokeAnswer(
          await revoke(agent, token.accessToken, { token_type_hint: "refresh_token" }),
        );
        expect(await activeOf(token.accessToken)).toEqual({ active: false });
        expectRevokeAnswer(
          await revoke(agent, token.refreshToken, {
            token_type_hint: "urn:ietf:params:oauth:token-type:id_token",
          }),
        );
        expect((await refresh(agent, token.refreshToken)).body.error).toBe("invalid_grant");
      });

      it("answers 200 for an unknown token, and for another agent's token, which stays active", async () => {
        expectRevokeAnswer(await revoke(agent, "not-a-token"));
        expectRevokeAnswer(await revoke(agent, "eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0."));

        const token = await obtainToken(test, agent);
        const published = await captureRevocations(test.revocationBus, async () => {
          expectRevokeAnswer(await revoke(other, token.accessToken));
          expectRevokeAnswer(await revoke(other, token.refreshToken));
        });
        expect(published).toEqual([]);
        expect((await activeOf(token.accessToken)).active).toBe(true);
        expect((await refresh(agent, token.refreshToken)).status).toBe(200);
      });

      it("needs client authentication and a token", async () => {
        const token = await obtainToken(test, agent);
        const unauthenticated = await agent.postForm(
          REVOKE,
          { token: token.accessToken },
          { dpop: false, authenticate: false },
        );
        expect(unauthenticated.status).toBe(401);
        expect(unauthenticated.body.error).toBe("invalid_client");
        expect(unauthenticated.headers["www-authenticate"]).toBeUndefined();
        expect((await activeOf(token.accessToken)).active).toBe(true);

        const missing = await agent.postForm(REVOKE, {}, { dpop: false });
        expect(missing.status).toBe(400);
        expect(missing.body.error).toBe("invalid_request");
      });
    });

    describe("introspection", () => {
      it("answers active with the claims for the audience's provider, and nothing more otherwise", async () => {
        const token = await obtainToken(test, agent);
        expect(await activeOf(token.accessToken)).toMatchObject({
          active: true,
          token_type: "DPoP",
          iss: PUBLIC_URL,
          aud: PAYMENTS,
          sub: agent.id,
          client_id: agent.id,
          jti: token.claims.jti,
          cnf: { jkt: agent.jkt },
        });

        await createReadProvider(test.admin, "https://other.example.com");
        const otherKey = await test.admin
          .post(`/api/service-providers/${encodeURIComponent("https://other.example.com")}/keys`)
          .expect(201);
        // Another provider may not learn about tokens that are not for it.
        expect(
          (await introspect(test.registry.app, otherKey.body.key, token.accessToken)).body,
        ).toEqual({ active: false });
        // A refresh token is no access token.
        expect(await activeOf(token.refreshToken)).toEqual({ active: false });
        // Tampered: the payload no longer matches the signature.
        const [header, , signature] = token.accessToken.split(".");
        const forged = Buffer.from(
          JSON.stringify({
            ...token.claims,
            aud: PAYMENTS,
            exp: (token.claims.exp as number) + 3600,
          }),
        ).toString("base64url");
        expect(await activeOf(`${header}.${forged}.${signature}`)).toEqual({ active: false });
      });

      it("answers inactive once the token has expired", async () => {
        const token = await obtainToken(test, agent);
        test.clock.advance(token.expiresIn + 10);
        expect(await activeOf(token.accessToken)).toEqual({ active: false });
      });

      it("needs a token parameter", async () => {
        const response = await request(test.registry.app)
          .post("/oauth/introspect")
          .set("Authorization", `Bearer ${apiKey}`)
          .type("form")
          .send({});
        expect(response.status).toBe(400);
        expect(response.body.error).toBe("invalid_request");
      });
    });

    it("answers malformed revocation requests with OAuth errors, never a 500", async () => {
      await expectMalformedBodiesRefused(test.registry.app, {
        method: "post",
        path: REVOKE,
        body: "form",
      });
    });
  },
);
