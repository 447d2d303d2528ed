import { createHash, randomBytes } from "node:crypto";
import { encodeBase64Url, signCompactJws } from "@agentauth/core";
import type { TestAgent } from "@agentauth/registry/testing";
import { createMemoryAdmissionStore } from "@agentauth/state";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentCall,
  agentWithToken,
  createVerifierHarness,
  learnNonce,
  PAY_URL,
  publishApiKey,
  type RunningVerifier,
  type VerifierHarness,
  type VerifyResponse,
  verifyBody,
} from "./support/verifier-harness.js";

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const transact = (amount: string, currency = "EUR") => ({
  type: "transact",
  resource: "merchant/acme",
  amount: { amount, currency },
});
const read = (extra: Record<string, unknown> = {}) => ({
  type: "read",
  resource: "reports/q3",
  ...extra,
});
const grantWith = (envelope: Record<string, unknown>) => [
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  { type: "read", resource: "reports/*" },
  { type: "envelope", ...envelope },
];

describe("POST /v1/verify", () => {
  let harness: VerifierHarness;
  let verifier: RunningVerifier;

  beforeAll(async () => {
    harness = await createVerifierHarness();
    verifier = await harness.startVerifier();
  });
  afterAll(() => harness.close());

  let shared: TestAgent | undefined;
  /**
   * A token of a new grant (default: the payments grant) and the verifier's nonce, held by one
   * shared agent, or by an agent of its own when the test disables it.
   */
  async function holder(details?: unknown, options: { ownAgent?: boolean } = {}) {
    const { agent, token } = await agentWithToken(
      harness,
      details,
      options.ownAgent === true ? undefined : shared,
    );
    if (options.ownAgent !== true) shared = agent;
    const nonce = await learnNonce(verifier, agent, token.accessToken);
    const call = async (options: AgentCall = {}) =>
      verifier.verify(await verifyBody(agent, token.accessToken, { nonce, ...options }));
    return { agent, token, nonce, call };
  }

  const expectDenied = (answer: VerifyResponse, reason: string, status: number, error?: string) => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.decision).toBe("deny");
    expect(answer.body.reason).toBe(reason);
    expect(answer.body.message).toEqual(expect.any(String));
    expect(answer.body.respond.status).toBe(status);
    const challenge = answer.body.respond.headers["WWW-Authenticate"];
    if (error === undefined) {
      if (status === 401) expect(challenge).toMatch(/^DPoP algs="/);
    } else {
      expect(challenge).toContain(`DPoP error="${error}"`);
    }
  };

  it("allows a granted payment and says who, what and how much is left", async () => {
    const { token, call } = await holder();
    const answer = await call();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      decision: "allow",
      reason: "ok",
      agent: token.claims.sub,
      grant: token.grantId,
      human: token.claims.human_id,
      token_id: token.claims.jti,
      capability: { type: "transact", resource: "merchant/acme" },
      remaining: { spend: [{ currency: "EUR", window_seconds: 86400, remaining: "190.00" }] },
      respond: { status: 200 },
    });
    expect(answer.body.respond.headers["DPoP-Nonce"]).toEqual(expect.any(String));
  });

  describe("the access token", () => {
    it("is required, as Authorization: DPoP", async () => {
      const { agent, token, nonce } = await holder();
      const body = await verifyBody(agent, token.accessToken, { nonce });
      expectDenied(
        await verifier.verify({ ...body, authorization: undefined }),
        "token_missing",
        401,
      );
      expectDenied(
        await verifier.verify({ ...body, authorization: `Bearer ${token.accessToken}` }),
        "dpop_scheme_required",
        401,
      );
    });

    it("is refused when malformed, tampered with, or for another service provider", async () => {
      const { agent, token, nonce } = await holder();
      const body = await verifyBody(agent, token.accessToken, { nonce });
      expectDenied(
        await verifier.verify({ ...body, authorization: "DPoP not.a-token" }),
        "token_malformed",
        401,
        "invalid_token",
      );
      const [header, payload, signature] = token.accessToken.split(".") as [string, string, string];
      const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BA" : "AA"}`;
      expectDenied(
        await verifier.verify({ ...body, authorization: `DPoP ${header}.${payload}.${flipped}` }),
        "token_signature_invalid",
        401,
        "invalid_token",
      );

      const other = "https://other.example.com";
      await harness.test.admin
        .post("/api/service-providers", {
          id: other,
          name: "Other",
          ceiling: [{ type: "read", resource: "*" }],
        })
        .expect(201);
      const key = await harness.test.admin
        .post(`/api/service-providers/${encodeURIComponent(other)}/keys`)
        .expect(201);
      await publishApiKey(verifier.state.keyDirectory, key.body.key, other);
      expectDenied(
        await verifier.verify(await verifyBody(agent, token.accessToken, { nonce }), key.body.key),
        "token_audience_mismatch",
        401,
        "invalid_token",
      );
    });

    it("is refused once expired", async () => {
      const { agent, token, nonce } = await holder();
      harness.test.clock.advance(token.expiresIn + 10);
      try {
        const answer = await verifier.verify(
          await verifyBody(agent, token.accessToken, { nonce, proofNow: harness.test.clock.now() }),
        );
        expectDenied(answer, "token_expired", 401, "invalid_token");
      } finally {
        harness.test.clock.advance(-(token.expiresIn + 10));
      }
    });

    it("is refused once it, its grant or its agent is revoked", async () => {
      const revokedToken = await holder();
      await revokedToken.agent.postForm(
        "/oauth/revoke",
        { token: revokedToken.token.accessToken },
        { dpop: false },
      );
      expectDenied(await revokedToken.call(), "token_revoked", 401, "invalid_token");

      const revokedGrant = await holder();
      await harness.test.admin.post(`/api/grants/${revokedGrant.token.grantId}/revoke`).expect(204);
      expectDenied(await revokedGrant.call(), "grant_revoked", 401, "invalid_token");

      const disabled = await holder(undefined, { ownAgent: true });
      await harness.test.admin.post(`/api/agents/${disabled.token.claims.sub}/disable`).expect(200);
      const answer = await disabled.call();
      expect(["agent_revoked", "grant_revoked"]).toContain(answer.body.reason);
      expectDenied(answer, answer.body.reason, 401, "invalid_token");
    });
  });

  describe("the DPoP proof, by every RFC 9449 §4.3 rule", () => {
    it("demands the verifier's nonce: use_dpop_nonce with a fresh DPoP-Nonce, then allows", async () => {
      const { agent, token } = await agentWithToken(harness, undefined, shared);
      const first = await verifier.verify(await verifyBody(agent, token.accessToken));
      expectDenied(first, "dpop_nonce_required", 401, "use_dpop_nonce");
      const nonce = first.body.respond.headers["DPoP-Nonce"] as string;
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      expectDenied(
        await verifier.verify(
          await verifyBody(agent, token.accessToken, { nonce: "made-up-nonce-made-up-nonce" }),
        ),
        "dpop_nonce_invalid",
        401,
        "use_dpop_nonce",
      );
      const allowed = await verifier.verify(await verifyBody(agent, token.accessToken, { nonce }));
      expect(allowed.body.decision).toBe("allow");
    });

    it("refuses a missing proof and several proofs", async () => {
      const { agent, token, nonce } = await holder();
      const body = await verifyBody(agent, token.accessToken, { nonce });
      expectDenied(
        await verifier.verify({ ...body, dpop: undefined }),
        "dpop_missing",
        401,
        "invalid_dpop_proof",
      );
      expectDenied(
        await verifier.verify({ ...body, dpop: [body.dpop, body.dpop] }),
        "dpop_multiple",
        401,
        "invalid_dpop_proof",
      );
      expectDenied(
        await verifier.verify({ ...body, dpop: "junk" }),
        "dpop_malformed",
        401,
        "invalid_dpop_proof",
      );
    });

    it("refuses a proof for another method or URL, or too old", async () => {
      const { call } = await holder();
      expectDenied(
        await call({ proofMethod: "GET" }),
        "dpop_htm_mismatch",
        401,
        "invalid_dpop_proof",
      );
      expectDenied(
        await call({ proofUrl: "https://payments.example.com/v1/refunds" }),
        "dpop_htu_mismatch",
        401,
        "invalid_dpop_proof",
      );
      expectDenied(
        await call({ proofNow: new Date(Date.now() - 120_000) }),
        "dpop_iat_out_of_window",
        401,
        "invalid_dpop_proof",
      );
      // The query string is not part of htu.
      expect((await call({ url: `${PAY_URL}?page=2` })).body.decision).toBe("allow");
    });

    it("binds proof to token: another token's ath, another key, no ath", async () => {
      const first = await holder();
      const second = await holder(undefined, { ownAgent: true });
      const forSecond = await verifyBody(first.agent, second.token.accessToken, {
        nonce: first.nonce,
      });
      expectDenied(
        await verifier.verify({ ...forSecond, authorization: `DPoP ${first.token.accessToken}` }),
        "dpop_ath_mismatch",
        401,
        "invalid_dpop_proof",
      );
      const byOtherKey = await verifyBody(second.agent, first.token.accessToken, {
        nonce: first.nonce,
      });
      expectDenied(
        await verifier.verify(byOtherKey),
        "dpop_jkt_mismatch",
        401,
        "invalid_dpop_proof",
      );

      const withoutAth = await craftProof(first.agent, { nonce: first.nonce }, { dropAth: true });
      expectDenied(
        await verifier.verify({ ...baseBody(first.token.accessToken), dpop: withoutAth }),
        "dpop_ath_missing",
        401,
        "invalid_dpop_proof",
      );
    });

    it("refuses a replayed proof, a forged signature, a wrong typ and a private key in the header", async () => {
      const { agent, token, nonce } = await holder();
      const body = await verifyBody(agent, token.accessToken, { nonce });
      expect((await verifier.verify(body)).body.decision).toBe("allow");
      expectDenied(await verifier.verify(body), "dpop_jti_replayed", 401, "invalid_dpop_proof");

      const fresh = await verifyBody(agent, token.accessToken, { nonce });
      const [h, p, s] = (fresh.dpop as string).split(".") as [string, string, string];
      const forged = `${h}.${p}.${s.slice(0, -2)}${s.endsWith("AA") ? "BA" : "AA"}`;
      expectDenied(
        await verifier.verify({ ...fresh, dpop: forged }),
        "dpop_signature_invalid",
        401,
        "invalid_dpop_proof",
      );
      const wrongTyp = await craftProof(
        agent,
        { nonce, accessToken: token.accessToken },
        { typ: "JWT" },
      );
      expectDenied(
        await verifier.verify({ ...baseBody(token.accessToken), dpop: wrongTyp }),
        "dpop_typ_invalid",
        401,
        "invalid_dpop_proof",
      );
      const withPrivate = await craftProof(
        agent,
        { nonce, accessToken: token.accessToken },
        { jwkExtra: { d: "AAAA" } },
      );
      expectDenied(
        await verifier.verify({ ...baseBody(token.accessToken), dpop: withPrivate }),
        "dpop_jwk_private",
        401,
        "invalid_dpop_proof",
      );
    });
  });

  describe("the action", () => {
    it("must be granted: another resource, another type, or above the capability's maximum", async () => {
      const { call } = await holder();
      for (const action of [
        {
          type: "transact",
          resource: "merchant/evil",
          amount: { amount: "1.00", currency: "EUR" },
        },
        { type: "delete", resource: "merchant/acme" },
        transact("50.01"),
      ]) {
        expectDenied(await call({ action }), "capability_not_granted", 403, "insufficient_scope");
      }
    });
  });

  describe("the envelope", () => {
    it("rate: exactly max_requests per window, then 429 with Retry-After", async () => {
      const { call } = await holder(
        grantWith({ rate_limit: { max_requests: 3, window_seconds: 3600 } }),
      );
      for (let i = 2; i >= 0; i--) {
        const answer = await call({ action: read() });
        expect(answer.body.decision).toBe("allow");
        expect(answer.body.remaining?.requests).toBe(i);
      }
      const limited = await call({ action: read() });
      expectDenied(limited, "rate_limited", 429);
      expect(Number(limited.body.respond.headers["Retry-After"])).toBeGreaterThan(0);
    });

    it("spend: the daily cap is never exceeded, and a refused payment spends nothing", async () => {
      const { call } = await holder();
      for (let i = 0; i < 4; i++)
        expect((await call({ action: transact("45.00") })).body.decision).toBe("allow");
      expectDenied(
        await call({ action: transact("20.01") }),
        "spend_cap_exceeded",
        403,
        "insufficient_scope",
      );
      const last = await call({ action: transact("20.00") });
      expect(last.body.decision).toBe("allow");
      expect(last.body.remaining?.spend?.[0]?.remaining).toBe("0.00");
    });

    it("per-payment maximum, currency and well-formed amounts", async () => {
      const { call } = await holder(
        grantWith({
          max_transaction_amount: { amount: "20.00", currency: "EUR" },
          spend_caps: [{ amount: "100.00", currency: "EUR", window_seconds: 86400 }],
        }),
      );
      expectDenied(
        await call({ action: transact("20.01") }),
        "transaction_limit_exceeded",
        403,
        "insufficient_scope",
      );
      expectDenied(
        await call({ action: read({ amount: { amount: "1.00", currency: "USD" } }) }),
        "currency_not_allowed",
        403,
        "insufficient_scope",
      );
      expectDenied(
        await call({ action: read({ amount: { amount: "1.000", currency: "EUR" } }) }),
        "invalid_amount",
        403,
        "insufficient_scope",
      );
      expect((await call({ action: transact("20.00") })).body.decision).toBe("allow");
    });

    it("time windows: inside allows, outside refuses", async () => {
      const today = new Date().getUTCDay();
      const always = await holder(
        grantWith({
          time_windows: [{ days: [...WEEKDAYS], start: "00:00", end: "23:59", time_zone: "UTC" }],
        }),
      );
      expect((await always.call({ action: read() })).body.decision).toBe("allow");
      const otherDay = WEEKDAYS[(today + 2) % 7] as string;
      const never = await holder(
        grantWith({
          time_windows: [{ days: [otherDay], start: "00:00", end: "23:59", time_zone: "UTC" }],
        }),
      );
      expectDenied(
        await never.call({ action: read() }),
        "outside_time_window",
        403,
        "insufficient_scope",
      );
    });

    it("step-up: above the threshold asks for a fresh approval and spends nothing", async () => {
      const { call } = await holder(
        grantWith({
          step_up_above: { amount: "25.00", currency: "EUR" },
          spend_caps: [{ amount: "60.00", currency: "EUR", window_seconds: 86400 }],
        }),
      );
      const stepUp = await call({ action: transact("30.00") });
      expectDenied(stepUp, "step_up_required", 403, "insufficient_scope");
      expect(stepUp.body.step_up).toEqual({ above: { amount: "25.00", currency: "EUR" } });
      expect(
        (await call({ action: transact("25.00") })).body.remaining?.spend?.[0]?.remaining,
      ).toBe("35.00");
      // Over the remaining budget, a deny wins over a step-up.
      expectDenied(
        await call({ action: transact("40.00") }),
        "spend_cap_exceeded",
        403,
        "insufficient_scope",
      );
    });

    it("burst: at most `burst` a second", async () => {
      const frozen = await harness.startVerifier({
        state: { admissionStore: createMemoryAdmissionStore() },
      });
      const { agent, token } = await agentWithToken(
        harness,
        grantWith({ rate_limit: { max_requests: 100, window_seconds: 3600, burst: 2 } }),
        shared,
      );
      const nonce = await learnNonce(frozen, agent, token.accessToken);
      const answers = await Promise.all(
        Array.from({ length: 5 }, async () =>
          frozen.verify(await verifyBody(agent, token.accessToken, { nonce, action: read() })),
        ),
      );
      const reasons = answers.map((answer) => answer.body.reason);
      // The five may straddle a second boundary: never more than two in one second.
      expect(reasons.filter((reason) => reason === "ok").length).toBeGreaterThanOrEqual(2);
      expect(reasons.filter((reason) => reason === "ok").length).toBeLessThanOrEqual(4);
      expect(reasons.every((reason) => reason === "ok" || reason === "burst_limited")).toBe(true);
    });
  });
});

/** What a service provider forwards, before the proof is attached. */
function baseBody(accessToken: string) {
  return {
    authorization: `DPoP ${accessToken}`,
    method: "POST",
    url: PAY_URL,
    action: transact("1.00"),
  };
}

/** A proof signed by `agent` with one rule broken on purpose. */
async function craftProof(
  agent: { key: { publicJwk: object; alg: string; sign(data: Uint8Array): Promise<Uint8Array> } },
  claims: { nonce: string; accessToken?: string },
  breakage: { typ?: string; dropAth?: boolean; jwkExtra?: Record<string, unknown> },
): Promise<string> {
  const payload: Record<string, unknown> = {
    jti: randomBytes(24).toString("base64url"),
    htm: "POST",
    htu: PAY_URL,
    iat: Math.floor(Date.now() / 1000),
    nonce: claims.nonce,
  };
  if (claims.accessToken !== undefined && breakage.dropAth !== true) {
    payload.ath = encodeBase64Url(createHash("sha256").update(claims.accessToken).digest());
  }
  return signCompactJws(
    { typ: breakage.typ ?? "dpop+jwt", jwk: { ...agent.key.publicJwk, ...breakage.jwkExtra } },
    payload,
    agent.key as Parameters<typeof signCompactJws>[2],
  );
}
