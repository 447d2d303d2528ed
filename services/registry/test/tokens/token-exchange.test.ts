import {
  CLIENT_ASSERTION_TYPE,
  createWebCryptoDpopKey,
  signAccessToken,
  verifyAccessToken,
} from "@agentauth/core";
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import {
  approve,
  auditEvents,
  CIBA,
  captureRevocations,
  decodeJwtPayload,
  introspect,
  type ObtainedToken,
  obtainToken,
  poll,
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
const EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

const PAY_ANY_MERCHANT = {
  type: "transact",
  resource: "merchant/*",
  max_amount: "100.00",
  currency: "EUR",
};
const READ_REPORTS = { type: "read", resource: "reports/*" };
const GRANT_ENVELOPE = {
  type: "envelope",
  rate_limit: { max_requests: 100, window_seconds: 60, burst: 10 },
  spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }],
};
/** The grant every test exchanges tokens of: payments to any merchant, reading reports. */
const GRANT_DETAILS = [PAY_ANY_MERCHANT, READ_REPORTS, GRANT_ENVELOPE];
const PAY_ACME = {
  type: "transact",
  resource: "merchant/acme",
  max_amount: "30.00",
  currency: "EUR",
};

describeEachDatabase("tokens: RFC 8693 token exchange for per-task tokens", (database) => {
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

  const grantFor = (who: TestAgent, options: { grantLifetime?: number } = {}) =>
    obtainToken(test, who, { requestDetails: GRANT_DETAILS, ...options });
  /** Asks for a task token in exchange for `subjectToken`; returns the raw answer. */
  const exchange = (who: TestAgent, subjectToken: string, form: Record<string, string> = {}) =>
    poll(who, {
      grant_type: EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      ...form,
    });
  const details = (entries: unknown[]) => ({ authorization_details: JSON.stringify(entries) });
  const expectOAuthError = (
    response: request.Response,
    error: string,
    description?: string | RegExp,
    status = 400,
  ) => {
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(response.body.error, JSON.stringify(response.body)).toBe(error);
    if (description !== undefined) expect(response.body.error_description).toMatch(description);
  };
  const activeOf = async (token: string) =>
    (await introspect(test.registry.app, apiKey, token).expect(200)).body;
  const revoke = (by: TestAgent, token: string) =>
    by.postForm("/oauth/revoke", { token }, { dpop: false });

  describe("a task token", () => {
    let grant: ObtainedToken;
    let answer: request.Response;
    let claims: Record<string, unknown>;

    beforeAll(async () => {
      grant = await grantFor(agent);
      answer = await exchange(agent, grant.accessToken, {
        ...details([PAY_ACME]),
        resource: PAYMENTS,
        requested_expiry: "120",
      });
      claims = decodeJwtPayload(answer.body.access_token ?? "");
    });

    it("is an RFC 8693 answer: a DPoP access token, no refresh token", () => {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.headers["cache-control"]).toBe("no-store");
      expect(Object.keys(answer.body).sort()).toEqual([
        "access_token",
        "authorization_details",
        "expires_in",
        "issued_token_type",
        "token_type",
      ]);
      expect(answer.body).toMatchObject({
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: "DPoP",
        expires_in: 120,
      });
    });

    it("is an at+jwt of the same grant, agent, key and service provider, marked as a task's", async () => {
      const { keys } = (await request(test.registry.app).get("/.well-known/jwks.json")).body;
      const verified = await verifyAccessToken(answer.body.access_token, {
        keys: { keys },
        expectedIssuer: PUBLIC_URL,
        expectedAudience: PAYMENTS,
        now: test.clock.now(),
      });
      expect(verified.claims).toMatchObject({
        sub: agent.id,
        client_id: agent.id,
        aud: PAYMENTS,
        grant_id: grant.grantId,
        human_id: grant.claims.human_id,
        cnf: { jkt: agent.jkt },
        task_of: grant.claims.jti,
      });
      expect(claims.jti).not.toBe(grant.claims.jti);
      expect((claims.exp as number) - (claims.iat as number)).toBe(120);
      // No such claim on the grant's own tokens.
      expect(grant.claims).not.toHaveProperty("task_of");
    });

    it("holds the narrowed capabilities and, asked for none, the grant's envelope", () => {
      expect(answer.body.authorization_details).toEqual([PAY_ACME, GRANT_ENVELOPE]);
      expect(claims.authorization_details).toEqual([PAY_ACME, GRANT_ENVELOPE]);
    });

    it("is recorded as a task token and audited as token.issued, with the exchange noted", async () => {
      const row = await database
        .db()
        .selectFrom("access_tokens")
        .selectAll()
        .where("jti", "=", claims.jti as string)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        grant_id: grant.grantId,
        agent_id: agent.id,
        service_provider_id: PAYMENTS,
        task_of: grant.claims.jti,
        revoked_at: null,
      });
      const [issued, ...more] = await auditEvents(test, {
        type: "token.issued",
        subject: claims.jti as string,
      });
      expect(more).toEqual([]);
      expect(issued?.event).toMatchObject({
        actor: agent.id,
        data: {
          grant_id: grant.grantId,
          service_provider: PAYMENTS,
          expires_at: claims.exp,
          task_of: grant.claims.jti,
          authorization_details: [PAY_ACME, GRANT_ENVELOPE],
        },
      });
    });

    it("is active at introspection, like the token it came from", async () => {
      expect(await activeOf(answer.body.access_token)).toMatchObject({
        active: true,
        jti: claims.jti,
        task_of: grant.claims.jti,
      });
      expect((await activeOf(grant.accessToken)).active).toBe(true);
    });
  });

  describe("what it may do", () => {
    it("takes a narrowed envelope that keeps the grant's windows", async () => {
      const grant = await grantFor(agent);
      const envelope = {
        type: "envelope",
        rate_limit: { max_requests: 5, window_seconds: 60, burst: 2 },
        spend_caps: [{ amount: "30.00", currency: "EUR", window_seconds: 86400 }],
        max_transaction_amount: { amount: "10.00", currency: "EUR" },
        max_token_lifetime_seconds: 90,
      };
      const answer = await exchange(agent, grant.accessToken, details([READ_REPORTS, envelope]));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.authorization_details).toEqual([READ_REPORTS, envelope]);
      // The task's own envelope shortens its life too.
      expect(answer.body.expires_in).toBe(90);
    });

    it("is the grant's whole authorization when none is asked for", async () => {
      const grant = await grantFor(agent);
      const answer = await exchange(agent, grant.accessToken);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.authorization_details).toEqual(GRANT_DETAILS);
    });

    const widenings: Array<[string, unknown[], RegExp]> = [
      [
        "a larger amount",
        [{ ...PAY_ANY_MERCHANT, max_amount: "100.01" }],
        /^Grant widened at capabilities\[0\]/,
      ],
      [
        "a wider resource",
        [{ ...READ_REPORTS, resource: "*" }],
        /^Grant widened at capabilities\[0\]/,
      ],
      [
        "a capability the grant lacks",
        [{ type: "delete", resource: "reports/old" }],
        /^Grant widened at capabilities\[0\]/,
      ],
      [
        "an envelope without one of the grant's limits",
        [READ_REPORTS, { type: "envelope", rate_limit: GRANT_ENVELOPE.rate_limit }],
        /^Grant widened at /,
      ],
      [
        "a higher spend cap",
        [
          READ_REPORTS,
          {
            ...GRANT_ENVELOPE,
            spend_caps: [{ amount: "250.00", currency: "EUR", window_seconds: 86400 }],
          },
        ],
        /^Grant widened at /,
      ],
    ];
    for (const [what, entries, description] of widenings) {
      it(`refuses ${what} with invalid_authorization_details, issuing nothing`, async () => {
        const grant = await grantFor(agent);
        const refused = await exchange(agent, grant.accessToken, details(entries));
        expectOAuthError(refused, "invalid_authorization_details", description);
        const tokens = await database
          .db()
          .selectFrom("access_tokens")
          .select("jti")
          .where("grant_id", "=", grant.grantId)
          .execute();
        expect(tokens).toHaveLength(1);
      });
    }

    // Narrower by core's rule, but counted in windows the grant's counters never see.
    const otherWindows: Array<[string, unknown, RegExp]> = [
      [
        "a rate limit counted in a longer window",
        { ...GRANT_ENVELOPE, rate_limit: { max_requests: 100, window_seconds: 120, burst: 10 } },
        /rate_limit\.window_seconds must be the grant's \(60\)/,
      ],
      [
        "a rate limit without the grant's burst counter",
        { ...GRANT_ENVELOPE, rate_limit: { max_requests: 10, window_seconds: 60 } },
        /rate_limit\.burst is required \(at most 10\)/,
      ],
      [
        "a spend cap counted in a longer window",
        {
          ...GRANT_ENVELOPE,
          spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 172800 }],
        },
        /spend_caps must keep the grant's spend_caps\[0\] \(200\.00 EUR per 86400 s\)/,
      ],
    ];
    for (const [what, envelope, description] of otherWindows) {
      it(`refuses ${what}, which the grant's counters would not bound`, async () => {
        const grant = await grantFor(agent);
        const refused = await exchange(agent, grant.accessToken, details([READ_REPORTS, envelope]));
        expectOAuthError(refused, "invalid_authorization_details", description);
      });
    }

    it("refuses authorization_details that are not valid", async () => {
      const grant = await grantFor(agent);
      expectOAuthError(
        await exchange(agent, grant.accessToken, { authorization_details: "[{" }),
        "invalid_authorization_details",
        "authorization_details must be a JSON array",
      );
      expectOAuthError(
        await exchange(agent, grant.accessToken, details([{ type: "read" }])),
        "invalid_authorization_details",
      );
      expectOAuthError(
        await exchange(agent, grant.accessToken, details([])),
        "invalid_authorization_details",
      );
    });
  });

  describe("its lifetime", () => {
    it("is at most the registry's access-token lifetime, and the default", async () => {
      const grant = await grantFor(agent);
      expect((await exchange(agent, grant.accessToken)).body.expires_in).toBe(600);
      const asked = await exchange(agent, grant.accessToken, { requested_expiry: "900" });
      expect(asked.body.expires_in).toBe(600);
    });

    it("never outlasts the grant", async () => {
      const grant = await grantFor(agent, { grantLifetime: 90 });
      test.clock.advance(30);
      const answer = await exchange(agent, grant.accessToken, { requested_expiry: "300" });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(decodeJwtPayload(answer.body.access_token).exp).toBe(grant.claims.exp);
      expect(answer.body.expires_in).toBeLessThanOrEqual(60);
    });

    it("must be asked for as 1 to 900 seconds", async () => {
      const grant = await grantFor(agent);
      for (const requested of ["0", "901", "ten", "1.5"]) {
        expectOAuthError(
          await exchange(agent, grant.accessToken, { requested_expiry: requested }),
          "invalid_request",
          /requested_expiry/,
        );
      }
    });
  });

  describe("its subject token", () => {
    it("refuses an expired one", async () => {
      const grant = await grantFor(agent);
      test.clock.advance(grant.expiresIn);
      expectOAuthError(
        await exchange(agent, grant.accessToken),
        "invalid_request",
        "The subject_token has expired",
      );
    });

    it("refuses a revoked one", async () => {
      const grant = await grantFor(agent);
      expect((await revoke(agent, grant.accessToken)).status).toBe(200);
      expectOAuthError(
        await exchange(agent, grant.accessToken),
        "invalid_request",
        "The subject_token has been revoked",
      );
    });

    it("refuses one whose grant was revoked", async () => {
      const grant = await grantFor(agent);
      await test.admin.post(`/api/grants/${grant.grantId}/revoke`).expect(204);
      // Revoking the grant revoked its tokens with it: either answer issues nothing.
      expectOAuthError(
        await exchange(agent, grant.accessToken),
        "invalid_request",
        /^The subject_token (has been revoked|'s grant has been revoked or has ended)$/,
      );
    });

    it("refuses one whose grant has ended", async () => {
      const grant = await grantFor(agent, { grantLifetime: 60 });
      // The grant ends before its token's 600 s would: the token ends with it.
      test.clock.advance(61);
      expectOAuthError(await exchange(agent, grant.accessToken), "invalid_request", /expired/);
    });

    it("refuses one of a service provider disabled since", async () => {
      const closing = "https://closing-tasks.example.com";
      await createReadProvider(test.admin, closing);
      const token = await grantOn(closing);
      await test.admin
        .post(`/api/service-providers/${encodeURIComponent(closing)}/disable`)
        .expect(204);
      expectOAuthError(
        await exchange(agent, token),
        "invalid_request",
        "The subject_token's service provider has been disabled",
      );
    });

    it("refuses another agent's token, leaving it untouched", async () => {
      const grant = await grantFor(agent);
      expectOAuthError(
        await exchange(other, grant.accessToken),
        "invalid_request",
        "The subject_token was issued to another agent",
      );
      expect((await exchange(agent, grant.accessToken)).status).toBe(200);
    });

    it("refuses a token not signed by this registry, and things that are no access token", async () => {
      const grant = await grantFor(agent);
      const { kid } = JSON.parse(
        Buffer.from(grant.accessToken.split(".")[0] ?? "", "base64url").toString("utf8"),
      );
      // The claims of a real token, signed by a key of its own: under the registry's kid, and
      // under a kid of its own.
      const keyPair = (await crypto.subtle.generateKey(
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["sign", "verify"],
      )) as CryptoKeyPair;
      const stranger = await createWebCryptoDpopKey(keyPair);
      const claims = grant.claims as unknown as Parameters<typeof signAccessToken>[0];
      for (const [signedAs, reason] of [
        [kid as string, "The access token signature is invalid"],
        ["not-ours", "The access token was signed by an unknown key"],
      ] as const) {
        const forged = await signAccessToken(claims, {
          kid: signedAs,
          alg: "ES256",
          sign: (input) => stranger.sign(input),
        });
        expectOAuthError(
          await exchange(agent, forged),
          "invalid_request",
          `The subject_token is not an access token of this registry: ${reason}`,
        );
      }
      expectOAuthError(
        await exchange(agent, grant.refreshToken),
        "invalid_request",
        /^The subject_token is not an access token of this registry/,
      );
      expectOAuthError(await exchange(agent, "not a token"), "invalid_request");
      // The real token still works.
      expect((await exchange(agent, grant.accessToken)).status).toBe(200);
    });

    it("refuses a task token: only the grant's own tokens are exchanged", async () => {
      const grant = await grantFor(agent);
      const task = await exchange(agent, grant.accessToken, details([READ_REPORTS]));
      expect(task.status).toBe(200);
      expectOAuthError(
        await exchange(agent, task.body.access_token),
        "invalid_request",
        "The subject_token is a task token itself: exchange an access token of the grant",
      );
    });

    it("refuses one bound to the agent's key before a rotation", async () => {
      const rotating = await enrolAgent(test);
      const grant = await grantFor(rotating);
      const next = await createTestAgent(test.registry.app, PUBLIC_URL, test.clock);
      await request(test.registry.app)
        .post("/agents/rotate-key")
        .set("DPoP", await rotating.proof("POST", "/agents/rotate-key"))
        .send({ new_key_proof: await next.proof("POST", "/agents/rotate-key") })
        .expect(200);
      next.id = rotating.id;
      expectOAuthError(
        await exchange(next, grant.accessToken),
        "invalid_request",
        "The subject_token is bound to a key other than the agent's current one",
      );
      // The old key no longer authenticates the agent at all.
      expectOAuthError(
        await exchange(rotating, grant.accessToken),
        "invalid_client",
        undefined,
        401,
      );
    });

    it("needs subject_token and the access-token type, and takes no actor", async () => {
      const grant = await grantFor(agent);
      const ask = (form: Record<string, string>) => poll(agent, { grant_type: EXCHANGE, ...form });
      expectOAuthError(await ask({ subject_token_type: ACCESS_TOKEN_TYPE }), "invalid_request");
      expectOAuthError(await ask({ subject_token: grant.accessToken }), "invalid_request");
      expectOAuthError(
        await ask({
          subject_token: grant.accessToken,
          subject_token_type: "urn:ietf:params:oauth:token-type:refresh_token",
        }),
        "invalid_request",
        `subject_token_type must be ${ACCESS_TOKEN_TYPE}`,
      );
      expectOAuthError(
        await exchange(agent, grant.accessToken, {
          requested_token_type: "urn:ietf:params:oauth:token-type:id_token",
        }),
        "invalid_request",
        `Only ${ACCESS_TOKEN_TYPE} can be requested`,
      );
      expectOAuthError(
        await exchange(agent, grant.accessToken, {
          actor_token: grant.accessToken,
          actor_token_type: ACCESS_TOKEN_TYPE,
        }),
        "invalid_request",
        "Delegation to another actor is not supported: send no actor_token",
      );
      // Asked for by its RFC 8693 name, an access token is what it gets.
      expect(
        (await exchange(agent, grant.accessToken, { requested_token_type: ACCESS_TOKEN_TYPE }))
          .status,
      ).toBe(200);
    });
  });

  describe("the service provider", () => {
    it("must be the subject token's, named as resource or audience", async () => {
      const grant = await grantFor(agent);
      await createReadProvider(test.admin, "https://elsewhere.example.com");
      for (const name of ["resource", "audience"]) {
        expectOAuthError(
          await exchange(agent, grant.accessToken, { [name]: "https://elsewhere.example.com" }),
          "invalid_target",
          `The subject_token is for ${PAYMENTS}, not https://elsewhere.example.com: a task token is for its grant's service provider`,
        );
      }
      const named = await exchange(agent, grant.accessToken, {
        resource: PAYMENTS,
        audience: PAYMENTS,
      });
      expect(named.status).toBe(200);
      expect(decodeJwtPayload(named.body.access_token).aud).toBe(PAYMENTS);
    });
  });

  describe("the agent", () => {
    it("authenticates with private_key_jwt and the proof of its own key, with the server's nonce", async () => {
      const grant = await grantFor(agent);
      const form = {
        grant_type: EXCHANGE,
        subject_token: grant.accessToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
      };
      const unauthenticated = await agent.postForm(TOKEN, form, { authenticate: false });
      expectOAuthError(unauthenticated, "invalid_client", undefined, 401);

      // Another agent's proof, with the right agent's client assertion.
      const proof = await other.proof("POST", TOKEN);
      const foreignProof = await request(test.registry.app)
        .post(TOKEN)
        .type("form")
        .set("DPoP", proof)
        .send({
          ...form,
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: await agent.assertion(),
        });
      expectOAuthError(
        foreignProof,
        "invalid_dpop_proof",
        "The DPoP proof must be signed by the agent's enrolled key",
      );

      const newcomer = await enrolAgent(test);
      const own = await grantFor(newcomer);
      newcomer.nonce = "made-up-nonce-made-up-nonce";
      const noNonce = await newcomer.postForm(TOKEN, { ...form, subject_token: own.accessToken });
      expectOAuthError(noNonce, "use_dpop_nonce");
      expect(noNonce.headers["dpop-nonce"]).toEqual(expect.any(String));
    });

    it("cannot replay a proof", async () => {
      const grant = await grantFor(agent);
      const proof = await agent.proof("POST", TOKEN);
      const send = async () =>
        request(test.registry.app)
          .post(TOKEN)
          .type("form")
          .set("DPoP", proof)
          .send({
            grant_type: EXCHANGE,
            subject_token: grant.accessToken,
            subject_token_type: ACCESS_TOKEN_TYPE,
            client_assertion_type: CLIENT_ASSERTION_TYPE,
            client_assertion: await agent.assertion(),
          });
      expect((await send()).status).toBe(200);
      expectOAuthError(await send(), "invalid_dpop_proof", "The DPoP proof has been used before");
    });
  });

  describe("revocation", () => {
    it("ends a task token by RFC 7009 at once, published to verifiers; the grant's token lives on", async () => {
      const grant = await grantFor(agent);
      const task = await exchange(agent, grant.accessToken, details([PAY_ACME]));
      const taskJti = decodeJwtPayload(task.body.access_token).jti;
      const published = await captureRevocations(test.revocationBus, async () => {
        expect((await revoke(agent, task.body.access_token)).status).toBe(200);
      });
      expect(published).toEqual([{ kind: "token", subject: taskJti, expiresAt: expect.any(Date) }]);
      expect(await activeOf(task.body.access_token)).toEqual({ active: false });
      expect((await activeOf(grant.accessToken)).active).toBe(true);
      expect(
        await auditEvents(test, { type: "token.revoked", subject: taskJti as string }),
      ).toHaveLength(1);
      // Another agent cannot revoke it.
      const second = await exchange(agent, grant.accessToken, details([PAY_ACME]));
      expect((await revoke(other, second.body.access_token)).status).toBe(200);
      expect((await activeOf(second.body.access_token)).active).toBe(true);
    });

    it("ends every task token of the access token revoked", async () => {
      const grant = await grantFor(agent);
      const tasks = [
        await exchange(agent, grant.accessToken, details([PAY_ACME])),
        await exchange(agent, grant.accessToken, details([READ_REPORTS])),
      ].map((answer) => answer.body.access_token as string);
      const jtis = tasks.map((token) => decodeJwtPayload(token).jti);
      const published = await captureRevocations(test.revocationBus, async () => {
        expect((await revoke(agent, grant.accessToken)).status).toBe(200);
      });
      expect(published.map((record) => record.subject).sort()).toEqual(
        [grant.claims.jti, ...jtis].sort(),
      );
      for (const token of tasks) expect(await activeOf(token)).toEqual({ active: false });
      const revoked = await auditEvents(test, {
        type: "token.revoked",
        subject: grant.claims.jti as string,
      });
      expect(revoked).toHaveLength(1);
      const data = revoked[0]?.event.data as { task_tokens?: string[] } | undefined;
      expect(data?.task_tokens?.sort()).toEqual([...jtis].sort());
    });

    it("dies with its grant, with its grant's refresh token, and with its agent", async () => {
      const revokedGrant = await grantFor(agent);
      const byGrant = await exchange(agent, revokedGrant.accessToken);
      const published = await captureRevocations(test.revocationBus, async () => {
        await test.admin.post(`/api/grants/${revokedGrant.grantId}/revoke`).expect(204);
      });
      expect(published).toContainEqual(
        expect.objectContaining({ kind: "grant", subject: revokedGrant.grantId }),
      );
      expect(await activeOf(byGrant.body.access_token)).toEqual({ active: false });

      const refreshed = await grantFor(agent);
      const byRefresh = await exchange(agent, refreshed.accessToken);
      expect((await revoke(agent, refreshed.refreshToken)).status).toBe(200);
      expect(await activeOf(byRefresh.body.access_token)).toEqual({ active: false });

      const doomed = await enrolAgent(test);
      const doomedGrant = await grantFor(doomed);
      const byAgent = await exchange(doomed, doomedGrant.accessToken);
      expect(byAgent.status).toBe(200);
      await test.admin.post(`/api/agents/${doomed.id}/disable`).expect(200);
      expect(await activeOf(byAgent.body.access_token)).toEqual({ active: false });
    });
  });

  it("is counted in the token metrics as token_exchange", async () => {
    const grant = await grantFor(agent);
    expect((await exchange(agent, grant.accessToken)).status).toBe(200);
    const metrics = await request(test.registry.app).get("/metrics").expect(200);
    expect(metrics.text).toMatch(
      /agentauth_registry_tokens_issued_total\{grant_type="token_exchange"\} [1-9]/,
    );
  });

  /** An access token of a grant of `agent` on the read-only provider `resource`. */
  async function grantOn(resource: string): Promise<string> {
    const id = await requestGrantId(agent, { details: [READ_REPORTS], form: { resource } });
    expect((await approve(test.admin, id)).status).toBe(201);
    const token = await poll(agent, { grant_type: CIBA, auth_req_id: id });
    expect(token.status).toBe(200);
    return token.body.access_token as string;
  }
});
