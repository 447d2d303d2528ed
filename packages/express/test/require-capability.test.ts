import {
  enrolAgent,
  obtainToken,
  PAYMENT_DETAILS,
  PAYMENTS,
  type TestAgent,
} from "@agentauth/registry/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modes } from "./support/modes.js";
import { backends, startTestPlatform, type TestPlatform } from "./support/platform.js";
import {
  agentCaller,
  type Exchange,
  rawRequest,
  startServiceProvider,
  type TestServiceProvider,
} from "./support/service-provider.js";

// One suite, run once per verification mode (the verifier over HTTP, and in this process): every
// answer the middleware gives an agent, against a real registry (a human approving each grant
// with a software passkey) and a real verifier, over real sockets.

const METADATA_URL = `${PAYMENTS}/.well-known/oauth-protected-resource`;
const ALGS = 'algs="ES256 EdDSA Ed25519"';
const pay = (amount: string, merchant = "acme") => ({
  merchant,
  amount: { amount, currency: "EUR" },
});
const reads = (envelope?: Record<string, unknown>) => [
  { type: "read", resource: "reports/*" },
  ...(envelope === undefined ? [] : [{ type: "envelope", ...envelope }]),
];
const payments = (envelope: Record<string, unknown>) => [
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  { type: "envelope", ...envelope },
];

let platform: TestPlatform;
let shared: TestAgent;

beforeAll(async () => {
  platform = await startTestPlatform();
  // The registry rate-limits enrolment: one agent holds most grants.
  shared = await enrolAgent(platform.test);
});
afterAll(() => platform?.close());

describe.each(modes)("requireCapability with the $name", (mode) => {
  let provider: TestServiceProvider;

  beforeAll(async () => {
    provider = await startServiceProvider(await mode.create(platform), platform.issuer);
  });
  afterAll(() => provider?.close());

  /** A fresh grant (default: the payments one) for `agent`, and a caller that knows the nonce. */
  async function holder(details: unknown = PAYMENT_DETAILS, agent = shared) {
    const token = await obtainToken(platform.test, agent, { requestDetails: details });
    const caller = agentCaller(provider, agent, token.accessToken);
    const first = await caller.call("/v1/reports/q3");
    expect(first.body.reason).toBe("dpop_nonce_required");
    return { agent, token, caller };
  }

  /** An RFC 6750 / RFC 9449 refusal: status, challenge, problem body and the nonce. */
  function expectRefused(
    answer: Exchange,
    expected: { status: number; reason: string; error?: string },
  ) {
    const label = JSON.stringify(answer.body);
    expect(answer.status, label).toBe(expected.status);
    expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.body).toMatchObject({
      type: `urn:agentauth:reason:${expected.reason.replaceAll("_", "-")}`,
      status: expected.status,
      reason: expected.reason,
      detail: expect.any(String),
    });
    expect(answer.body.error).toBe(expected.error);
    const challenge = answer.headers.get("www-authenticate");
    if (expected.error !== undefined) {
      expect(challenge).toMatch(new RegExp(`^DPoP error="${expected.error}", error_description="`));
      expect(challenge).toContain(ALGS);
    } else if (expected.status === 401) {
      expect(challenge).toMatch(/^DPoP algs="/);
    } else {
      expect(challenge).toBeNull();
    }
    if (challenge !== null) expect(challenge).toContain(`resource_metadata="${METADATA_URL}"`);
    expect(answer.headers.get("dpop-nonce")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  }

  it(`allows a granted payment and puts who, what and what is left on the request (${backends.database}, ${backends.state})`, async () => {
    const { token, caller } = await holder();
    const answer = await caller.call("/v1/payments", { body: pay("12.50") });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.agentAuth).toEqual({
      agent: token.claims.sub,
      grant: token.grantId,
      human: token.claims.human_id,
      tokenId: token.claims.jti,
      capability: {
        type: "transact",
        resource: "merchant/acme",
        max_amount: "50.00",
        currency: "EUR",
      },
      action: {
        type: "transact",
        resource: "merchant/acme",
        amount: { amount: "12.50", currency: "EUR" },
      },
      remaining: { spend: [{ currency: "EUR", windowSeconds: 86400, remaining: "187.50" }] },
    });
    expect(answer.headers.get("dpop-nonce")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(provider.errors).toEqual([]);
  });

  it("checks the URL the agent used, query included in the request but not in htu", async () => {
    const { caller } = await holder(reads());
    const answer = await caller.call("/v1/reports/q3?format=csv");
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.agentAuth).toMatchObject({
      action: { type: "read", resource: "reports/q3" },
    });
  });

  describe("the access token", () => {
    it("is required: 401 with a bare DPoP challenge", async () => {
      const { caller } = await holder();
      const answer = await caller.call("/v1/reports/q3", { authorization: null });
      expectRefused(answer, { status: 401, reason: "token_missing" });
      const none = await caller.call("/v1/reports/q3", { authorization: null, proof: null });
      expectRefused(none, { status: 401, reason: "token_missing" });
    });

    it("must come as Authorization: DPoP, never as a bearer token", async () => {
      const { caller, token } = await holder();
      const answer = await caller.call("/v1/reports/q3", {
        authorization: `Bearer ${token.accessToken}`,
      });
      expectRefused(answer, { status: 401, reason: "dpop_scheme_required" });
    });

    it("is refused when tampered with: 401 invalid_token", async () => {
      const { caller, token } = await holder();
      const [header, payload, signature] = token.accessToken.split(".") as [string, string, string];
      const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BA" : "AA"}`;
      const answer = await caller.call("/v1/reports/q3", {
        authorization: `DPoP ${header}.${payload}.${flipped}`,
      });
      expectRefused(answer, {
        status: 401,
        reason: "token_signature_invalid",
        error: "invalid_token",
      });
    });

    it("is refused once the agent revokes it: 401 invalid_token", async () => {
      const { agent, token, caller } = await holder(reads());
      expect((await caller.call("/v1/reports/q3")).status).toBe(200);
      const revoked = await agent.postForm(
        "/oauth/revoke",
        { token: token.accessToken },
        { dpop: false },
      );
      expect(revoked.status).toBe(200);
      const answer = await untilRefused(() => caller.call("/v1/reports/q3"));
      expectRefused(answer, { status: 401, reason: "token_revoked", error: "invalid_token" });
    });

    it("is refused once the human revokes its grant: 401 invalid_token", async () => {
      const { token, caller } = await holder(reads());
      expect((await caller.call("/v1/reports/q3")).status).toBe(200);
      await platform.test.admin.post(`/api/grants/${token.grantId}/revoke`).expect(204);
      const answer = await untilRefused(() => caller.call("/v1/reports/q3"));
      expectRefused(answer, { status: 401, reason: "grant_revoked", error: "invalid_token" });
    });
  });

  describe("the DPoP proof", () => {
    it("needs the server's nonce: 401 use_dpop_nonce with DPoP-Nonce, and the retry succeeds", async () => {
      const token = await obtainToken(platform.test, shared, { requestDetails: reads() });
      const caller = agentCaller(provider, shared, token.accessToken);
      const first = await caller.call("/v1/reports/q3");
      expectRefused(first, { status: 401, reason: "dpop_nonce_required", error: "use_dpop_nonce" });
      const nonce = first.headers.get("dpop-nonce") as string;
      const forged = await caller.call("/v1/reports/q3", { nonce: "x".repeat(43) });
      expectRefused(forged, { status: 401, reason: "dpop_nonce_invalid", error: "use_dpop_nonce" });
      const retry = await caller.call("/v1/reports/q3", { nonce });
      expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    });

    it("is required with the token: 401 invalid_dpop_proof", async () => {
      const { caller } = await holder();
      const answer = await caller.call("/v1/reports/q3", { proof: null });
      expectRefused(answer, { status: 401, reason: "dpop_missing", error: "invalid_dpop_proof" });
    });

    it("must name this request's method and URL: 401 invalid_dpop_proof", async () => {
      const { caller } = await holder(reads());
      const elsewhere = await caller.call("/v1/reports/q3", {
        proofUrl: "https://evil.example.com/v1/reports/q3",
      });
      expectRefused(elsewhere, {
        status: 401,
        reason: "dpop_htu_mismatch",
        error: "invalid_dpop_proof",
      });
      const otherMethod = await caller.call("/v1/reports/q3", { proofMethod: "POST" });
      expectRefused(otherMethod, {
        status: 401,
        reason: "dpop_htm_mismatch",
        error: "invalid_dpop_proof",
      });
    });

    it("must be signed by the token's key: 401 invalid_dpop_proof", async () => {
      const { token } = await holder(reads());
      const thief = await enrolAgent(platform.test);
      const stolen = agentCaller(provider, thief, token.accessToken);
      stolen.nonce = (await stolen.call("/v1/reports/q3")).headers.get("dpop-nonce") ?? undefined;
      const answer = await stolen.call("/v1/reports/q3");
      expectRefused(answer, {
        status: 401,
        reason: "dpop_jkt_mismatch",
        error: "invalid_dpop_proof",
      });
    });

    it("is used once: the same proof again is 401 invalid_dpop_proof", async () => {
      const { caller } = await holder(reads());
      const first = await caller.call("/v1/reports/q3");
      expect(first.status).toBe(200);
      const replayed = await caller.call("/v1/reports/q3", { proof: caller.lastProof as string });
      expectRefused(replayed, {
        status: 401,
        reason: "dpop_jti_replayed",
        error: "invalid_dpop_proof",
      });
    });

    it("comes in one DPoP header: two are 401 invalid_dpop_proof", async () => {
      const { caller, token } = await holder(reads());
      const url = `${provider.url}/v1/reports/q3`;
      const proofs = [await caller.proof("GET", url), await caller.proof("GET", url)];
      const answer = await rawRequest(url, {
        headers: { authorization: `DPoP ${token.accessToken}`, dpop: proofs },
      });
      expect(answer.status).toBe(401);
      expect(answer.body.reason).toBe("dpop_multiple");
    });
  });

  describe("the capability and the envelope", () => {
    it("refuses an action the grant does not cover: 403 insufficient_scope", async () => {
      const { caller } = await holder(reads());
      const answer = await caller.call("/v1/reports/q3", { method: "DELETE" });
      expectRefused(answer, {
        status: 403,
        reason: "capability_not_granted",
        error: "insufficient_scope",
      });
      const payer = await holder();
      const otherMerchant = await payer.caller.call("/v1/payments", {
        body: pay("5.00", "globex"),
      });
      expectRefused(otherMerchant, {
        status: 403,
        reason: "capability_not_granted",
        error: "insufficient_scope",
      });
    });

    it("asks for a step-up above the human's threshold: 403 with where to get approval", async () => {
      const { caller } = await holder(
        payments({ step_up_above: { amount: "20.00", currency: "EUR" } }),
      );
      expect((await caller.call("/v1/payments", { body: pay("15.00") })).status).toBe(200);
      const answer = await caller.call("/v1/payments", { body: pay("30.00") });
      expectRefused(answer, {
        status: 403,
        reason: "step_up_required",
        error: "insufficient_scope",
      });
      const stepUp = answer.body.step_up as Record<string, unknown>;
      expect(stepUp).toEqual({
        above: { amount: "20.00", currency: "EUR" },
        action: {
          type: "transact",
          resource: "merchant/acme",
          amount: { amount: "30.00", currency: "EUR" },
        },
        authorization_server: platform.issuer,
        approval_endpoint: `${platform.issuer}/oauth/backchannel`,
      });
      // The approval endpoint is the registry's own, as its RFC 8414 metadata says.
      const discovery = await fetch(
        `${platform.registryUrl}/.well-known/oauth-authorization-server`,
      );
      const metadata = (await discovery.json()) as Record<string, unknown>;
      expect(metadata.backchannel_authentication_endpoint).toBe(stepUp.approval_endpoint);

      // The agent asks there for this very payment; the human approves; the payment goes through.
      const path = new URL(stepUp.approval_endpoint as string).pathname;
      expect(path).toBe("/oauth/backchannel");
      const approved = await obtainToken(platform.test, shared, {
        requestDetails: [
          { type: "transact", resource: "merchant/acme", max_amount: "30.00", currency: "EUR" },
        ],
      });
      const stepped = agentCaller(provider, shared, approved.accessToken);
      stepped.nonce = caller.nonce;
      const retry = await stepped.call("/v1/payments", { body: pay("30.00") });
      expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    });

    it("enforces the rate limit: 429 with Retry-After", async () => {
      const { caller } = await holder(
        reads({ rate_limit: { max_requests: 1, window_seconds: 3600 } }),
      );
      const first = await caller.call("/v1/reports/q3");
      expect(first.status).toBe(200);
      expect(first.body.agentAuth).toMatchObject({ remaining: { requests: 0, spend: [] } });
      const answer = await caller.call("/v1/reports/q3");
      expectRefused(answer, { status: 429, reason: "rate_limited" });
      const retryAfter = Number(answer.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(3600);
    });

    it("enforces the spend cap: 403 insufficient_scope", async () => {
      const { caller } = await holder(
        payments({ spend_caps: [{ amount: "15.00", currency: "EUR", window_seconds: 86400 }] }),
      );
      const first = await caller.call("/v1/payments", { body: pay("10.00") });
      expect(first.status).toBe(200);
      expect(first.body.agentAuth).toMatchObject({
        remaining: { spend: [{ currency: "EUR", windowSeconds: 86400, remaining: "5.00" }] },
      });
      const answer = await caller.call("/v1/payments", { body: pay("10.00") });
      expectRefused(answer, {
        status: 403,
        reason: "spend_cap_exceeded",
        error: "insufficient_scope",
      });
      expect((await caller.call("/v1/payments", { body: pay("5.00") })).status).toBe(200);
    });

    it("refuses an amount the route could not compute without asking: 400 ERR_INVALID_ACTION", async () => {
      const { caller } = await holder();
      const answer = await caller.call("/v1/payments", {
        body: { merchant: "acme", amount: { amount: 12.5, currency: "EUR" } },
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ code: "ERR_INVALID_ACTION", status: 400 });
    });
  });

  describe("when no decision can be made", () => {
    it("fails closed while the verifier's shared state is down: 503 with Retry-After", async () => {
      const { caller } = await holder(reads());
      platform.setStateOutage(true);
      let answer: Exchange;
      try {
        answer = await caller.call("/v1/reports/q3");
      } finally {
        platform.setStateOutage(false);
      }
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("1");
      expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ code: "ERR_VERIFIER_UNAVAILABLE", status: 503 });
      expect(answer.body.agentAuth).toBeUndefined();
      expect(provider.errors.at(-1)?.code).toBe("ERR_VERIFIER_UNAVAILABLE");
      expect(JSON.stringify(provider.errors.map(describeError))).not.toContain(platform.apiKey);
      // Back: the next request with a fresh proof goes through.
      expect((await caller.call("/v1/reports/q3")).status).toBe(200);
    });
  });

  /** Revocation reaches the verifier's replicas asynchronously over Redis: ask until refused. */
  async function untilRefused(call: () => Promise<Exchange>): Promise<Exchange> {
    const deadline = Date.now() + 2_000;
    for (;;) {
      const answer = await call();
      if (answer.status !== 200 || Date.now() > deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
});

/** Everything an error says, its causes included. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return `${error.name}: ${error.message} ${error.stack ?? ""} ${describeError(error.cause)}`;
}
