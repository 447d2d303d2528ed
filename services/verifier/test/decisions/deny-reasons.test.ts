import { readFile } from "node:fs/promises";
import { ERROR_CODES, type ErrorCode, type JwsSigner, signCompactJws } from "@agentauth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChallengeError,
  type DenyReason,
  reasonForCoreError,
  responseForReason,
} from "../../src/decisions/reasons.js";
import {
  type AgentKey,
  type BareVerifier,
  createAgentKey,
  createTokenSigner,
  DETAILS,
  PAY_URL,
  proofClaims,
  startBareVerifier,
  tokenClaims,
} from "../support/bare-verifier.js";
import type { Exchange } from "../support/http.js";
import { type AgentCall, verifyBody } from "../support/verifier-harness.js";

// Every reason the verifier can give: its documented answer (docs/verifier.md), the code's
// mapping, and — over HTTP, against a running verifier — a request that earns it.

interface Documented {
  readonly status: 401 | 403 | 429;
  readonly error?: ChallengeError;
}

const token401: Documented = { status: 401, error: "invalid_token" };
const proof401: Documented = { status: 401, error: "invalid_dpop_proof" };
const nonce401: Documented = { status: 401, error: "use_dpop_nonce" };
const scope403: Documented = { status: 403, error: "insufficient_scope" };

/** docs/verifier.md's table, as data; a `Record` so a reason added to the type must be added here. */
const EXPECTED: Record<DenyReason, Documented> = {
  token_missing: { status: 401 },
  dpop_scheme_required: { status: 401 },
  token_malformed: token401,
  token_typ_invalid: token401,
  token_alg_not_allowed: token401,
  token_kid_unknown: token401,
  token_signature_invalid: token401,
  token_issuer_mismatch: token401,
  token_audience_mismatch: token401,
  token_expired: token401,
  token_not_yet_valid: token401,
  token_lifetime_too_long: token401,
  token_claims_invalid: token401,
  token_revoked: token401,
  grant_revoked: token401,
  agent_revoked: token401,
  dpop_missing: proof401,
  dpop_multiple: proof401,
  dpop_malformed: proof401,
  dpop_typ_invalid: proof401,
  dpop_alg_not_allowed: proof401,
  dpop_jwk_invalid: proof401,
  dpop_jwk_private: proof401,
  dpop_claims_invalid: proof401,
  dpop_jti_invalid: proof401,
  dpop_htm_mismatch: proof401,
  dpop_htu_mismatch: proof401,
  dpop_iat_out_of_window: proof401,
  dpop_ath_missing: proof401,
  dpop_ath_mismatch: proof401,
  dpop_jkt_mismatch: proof401,
  dpop_signature_invalid: proof401,
  dpop_jti_replayed: proof401,
  dpop_nonce_required: nonce401,
  dpop_nonce_invalid: nonce401,
  capability_not_granted: scope403,
  outside_time_window: scope403,
  amount_required: scope403,
  invalid_amount: scope403,
  currency_not_allowed: scope403,
  transaction_limit_exceeded: scope403,
  spend_cap_exceeded: scope403,
  rate_limited: { status: 429 },
  burst_limited: { status: 429 },
  step_up_required: scope403,
};
const REASONS = Object.keys(EXPECTED) as DenyReason[];

/** The reasons table of docs/verifier.md: reason → status and `error=`. */
async function readDocumentedTable(): Promise<Map<string, Documented>> {
  const text = await readFile(new URL("../../../../docs/verifier.md", import.meta.url), "utf8");
  const start = text.indexOf("| Reason | Status | `error=` |");
  expect(start).toBeGreaterThan(0);
  const table = new Map<string, Documented>();
  for (const line of text.slice(start).split("\n").slice(2)) {
    if (!line.startsWith("|")) break;
    const [, names = "", status = "", error = ""] = line.split("|").map((cell) => cell.trim());
    const code = /^`(\w+)`$/.exec(error)?.[1] as ChallengeError | undefined;
    const documented: Documented = {
      status: Number(status) as Documented["status"],
      ...(code === undefined ? {} : { error: code }),
    };
    for (const [, name] of names.matchAll(/`(\w+)`/g)) table.set(name as string, documented);
  }
  return table;
}

describe("deny reasons: the documented table", () => {
  it("documents every reason the verifier has, with the status and error the code gives", async () => {
    const documented = await readDocumentedTable();
    expect([...documented.keys()].sort()).toEqual([...REASONS].sort());
    for (const reason of REASONS) {
      expect(documented.get(reason), reason).toEqual(EXPECTED[reason]);
      expect(responseForReason(reason), reason).toEqual(EXPECTED[reason]);
    }
  });

  it("names every token and DPoP error of core after its code, and nothing else", () => {
    for (const code of ERROR_CODES) {
      const reason = reasonForCoreError(code as ErrorCode);
      if (code.startsWith("ERR_TOKEN_") || code.startsWith("ERR_DPOP_")) {
        expect(reason).toBe(code.slice(4).toLowerCase());
        expect(REASONS).toContain(reason);
      } else {
        expect(reason, code).toBeUndefined();
      }
    }
  });
});

describe("deny reasons over HTTP: each one earned by a request", () => {
  let verifier: BareVerifier;
  let agent: AgentKey;
  let other: AgentKey;
  let nonce: string;

  beforeAll(async () => {
    verifier = await startBareVerifier();
    agent = await createAgentKey();
    other = await createAgentKey();
    nonce = await verifier.nonce();
  });
  afterAll(() => verifier?.stop());

  const token = (overrides: Record<string, unknown> = {}, header?: Record<string, unknown>) =>
    verifier.signer.sign(tokenClaims(agent, overrides), header);
  const envelopeToken = (envelope: Record<string, unknown>, details: unknown[] = DETAILS) =>
    token({ authorization_details: [...details, { type: "envelope", ...envelope }] });
  const body = async (accessToken?: string, call: AgentCall = {}) =>
    verifyBody(agent, accessToken ?? (await token()), { nonce, ...call });
  const send = async (accessToken?: string, call: AgentCall = {}) =>
    verifier.verify(await body(accessToken, call));
  /** A proof signed by `signer` (default the agent's key) with `header` and `claims` as given. */
  const craft = (
    header: Record<string, unknown>,
    claims: Record<string, unknown>,
    signer: JwsSigner = agent.key,
  ) => signCompactJws({ typ: "dpop+jwt", jwk: agent.key.publicJwk, ...header }, claims, signer);
  const withProof = async (build: (accessToken: string) => Promise<string>): Promise<Exchange> => {
    const accessToken = await token();
    return verifier.verify({ ...(await body(accessToken)), dpop: await build(accessToken) });
  };
  const read = (extra: Record<string, unknown> = {}) => ({
    type: "read",
    resource: "reports/q3",
    ...extra,
  });
  const pay = (amount: string, currency = "EUR") => ({
    type: "transact",
    resource: "merchant/acme",
    amount: { amount, currency },
  });
  const alg = (name: string): JwsSigner["alg"] => name as JwsSigner["alg"];
  const flip = (jws: string) => `${jws.slice(0, -2)}${jws.endsWith("AA") ? "BA" : "AA"}`;
  const now = () => Math.floor(Date.now() / 1000);

  const SCENARIOS: Record<DenyReason, () => Promise<Exchange>> = {
    token_missing: async () => verifier.verify({ ...(await body()), authorization: undefined }),
    dpop_scheme_required: async () => {
      const accessToken = await token();
      return verifier.verify({
        ...(await body(accessToken)),
        authorization: `Bearer ${accessToken}`,
      });
    },
    token_malformed: async () =>
      verifier.verify({ ...(await body()), authorization: "DPoP not.a-token" }),
    token_typ_invalid: async () => send(await token({}, { typ: "JWT" })),
    token_alg_not_allowed: async () =>
      send(
        await signCompactJws({ typ: "at+jwt", kid: verifier.signer.kid }, tokenClaims(agent), {
          alg: alg("HS256"),
          sign: (data) => verifier.signer.signer.sign(data),
        }),
      ),
    token_kid_unknown: async () => send(await (await createTokenSigner()).sign(tokenClaims(agent))),
    token_signature_invalid: async () => {
      const accessToken = flip(await token());
      return send(accessToken);
    },
    token_issuer_mismatch: async () => send(await token({ iss: "https://evil.example" })),
    token_audience_mismatch: async () => send(await token({ aud: "https://other.example" })),
    token_expired: async () => send(await token({ iat: now() - 1000, exp: now() - 100 })),
    token_not_yet_valid: async () => send(await token({ iat: now() + 100, exp: now() + 700 })),
    token_lifetime_too_long: async () => send(await token({ iat: now(), exp: now() + 901 })),
    token_claims_invalid: async () => send(await token({ client_id: "someone-else" })),
    token_revoked: async () => {
      const jti = "at_revoked-token";
      await revoke("token", jti);
      return send(await token({ jti }));
    },
    grant_revoked: async () => {
      await revoke("grant", "grt_revoked");
      return send(await token({ grant_id: "grt_revoked" }));
    },
    agent_revoked: async () => {
      const disabled = await createAgentKey();
      await revoke("agent", disabled.id);
      const accessToken = await verifier.signer.sign(tokenClaims(disabled));
      return verifier.verify(await verifyBody(disabled, accessToken, { nonce }));
    },
    dpop_missing: async () => verifier.verify({ ...(await body()), dpop: undefined }),
    dpop_multiple: async () => {
      const request = await body();
      return verifier.verify({ ...request, dpop: [request.dpop, request.dpop] });
    },
    dpop_malformed: async () => verifier.verify({ ...(await body()), dpop: "junk" }),
    dpop_typ_invalid: () => withProof((at) => craft({ typ: "JWT" }, proofClaims(at, nonce))),
    dpop_alg_not_allowed: () =>
      withProof((at) =>
        craft({}, proofClaims(at, nonce), {
          alg: alg("RS256"),
          sign: (data) => agent.key.sign(data),
        }),
      ),
    dpop_jwk_invalid: () => withProof((at) => craft({ jwk: undefined }, proofClaims(at, nonce))),
    dpop_jwk_private: () =>
      withProof((at) =>
        craft({ jwk: { ...agent.key.publicJwk, d: "AAAA" } }, proofClaims(at, nonce)),
      ),
    dpop_claims_invalid: () =>
      withProof((at) => craft({}, { ...proofClaims(at, nonce), htm: undefined })),
    dpop_jti_invalid: () =>
      withProof((at) => craft({}, { ...proofClaims(at, nonce), jti: "too-short" })),
    dpop_htm_mismatch: () => send(undefined, { proofMethod: "GET" }),
    dpop_htu_mismatch: () => send(undefined, { proofUrl: `${PAY_URL}/refunds` }),
    dpop_iat_out_of_window: () => send(undefined, { proofNow: new Date(Date.now() - 120_000) }),
    dpop_ath_missing: () =>
      withProof((at) => craft({}, { ...proofClaims(at, nonce), ath: undefined })),
    dpop_ath_mismatch: () => send(undefined, { athToken: "another-token" }),
    dpop_jkt_mismatch: () => send(undefined, { proofKey: other.key }),
    dpop_signature_invalid: () =>
      withProof(async (at) => flip(await craft({}, proofClaims(at, nonce)))),
    dpop_jti_replayed: async () => {
      const request = await body();
      expect((await verifier.verify(request)).json.decision).toBe("allow");
      return verifier.verify(request);
    },
    dpop_nonce_required: async () => {
      const accessToken = await token();
      return verifier.verify(await verifyBody(agent, accessToken));
    },
    dpop_nonce_invalid: () => send(undefined, { nonce: "made-up-nonce-made-up-nonce" }),
    capability_not_granted: () => send(undefined, { action: read({ type: "delete" }) }),
    outside_time_window: async () => {
      const otherDay = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"][
        (new Date().getUTCDay() + 2) % 7
      ];
      const windows = [{ days: [otherDay], start: "00:00", end: "23:59", time_zone: "UTC" }];
      return send(await envelopeToken({ time_windows: windows }), { action: read() });
    },
    amount_required: async () => {
      const tip = { type: "custom", resource: "tips/jar", namespace: "com.acme", name: "tip" };
      const accessToken = await envelopeToken(
        { spend_caps: [{ amount: "10.00", currency: "EUR", window_seconds: 86400 }] },
        [tip],
      );
      return send(accessToken, { action: tip });
    },
    invalid_amount: () =>
      send(undefined, { action: read({ amount: { amount: "1.000", currency: "EUR" } }) }),
    currency_not_allowed: async () => {
      const accessToken = await envelopeToken({
        spend_caps: [{ amount: "100.00", currency: "EUR", window_seconds: 86400 }],
      });
      return send(accessToken, { action: read({ amount: { amount: "1.00", currency: "USD" } }) });
    },
    transaction_limit_exceeded: async () => {
      const accessToken = await envelopeToken({
        max_transaction_amount: { amount: "20.00", currency: "EUR" },
      });
      return send(accessToken, { action: pay("20.01") });
    },
    spend_cap_exceeded: async () => {
      const accessToken = await envelopeToken({
        spend_caps: [{ amount: "15.00", currency: "EUR", window_seconds: 86400 }],
      });
      expect((await send(accessToken, { action: pay("10.00") })).json.decision).toBe("allow");
      return send(accessToken, { action: pay("10.00") });
    },
    rate_limited: async () => {
      const accessToken = await envelopeToken({
        rate_limit: { max_requests: 1, window_seconds: 3600 },
      });
      expect((await send(accessToken, { action: read() })).json.decision).toBe("allow");
      return send(accessToken, { action: read() });
    },
    burst_limited: async () => {
      const accessToken = await envelopeToken({
        rate_limit: { max_requests: 100, window_seconds: 3600, burst: 1 },
      });
      // Three at once span at most two seconds, so at least one is over a burst of one.
      const bodies = await Promise.all([1, 2, 3].map(() => body(accessToken, { action: read() })));
      const answers = await Promise.all(bodies.map((request) => verifier.verify(request)));
      return answers.find((answer) => answer.json.decision === "deny") ?? (answers[0] as Exchange);
    },
    step_up_required: async () => {
      const accessToken = await envelopeToken({
        step_up_above: { amount: "5.00", currency: "EUR" },
      });
      return send(accessToken, { action: pay("10.00") });
    },
  };

  async function revoke(kind: "token" | "grant" | "agent", subject: string): Promise<void> {
    await verifier.state.revocationBus.publish({
      kind,
      subject,
      expiresAt: new Date(Date.now() + 3_600_000),
    });
  }

  it("allows the request every scenario breaks, unbroken", async () => {
    expect((await send()).json).toMatchObject({ decision: "allow", reason: "ok" });
  });

  it.each(REASONS)("%s", async (reason) => {
    const answer = await SCENARIOS[reason]();
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toMatchObject({ decision: "deny", reason });
    const { status, error } = EXPECTED[reason];
    const respond = answer.json.respond as { status: number; headers: Record<string, string> };
    expect(respond.status).toBe(status);
    // A fresh nonce with every answer, so the agent can retry at once.
    expect(respond.headers["DPoP-Nonce"]).toEqual(expect.any(String));
    const challenge = respond.headers["WWW-Authenticate"];
    if (error !== undefined) {
      expect(challenge).toMatch(
        new RegExp(
          `^DPoP error="${error}", error_description="[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]+", algs="ES256 EdDSA Ed25519"$`,
        ),
      );
    } else if (status === 401) {
      expect(challenge).toBe('DPoP algs="ES256 EdDSA Ed25519"');
    } else {
      expect(challenge).toBeUndefined();
    }
    if (status === 429) expect(Number(respond.headers["Retry-After"])).toBeGreaterThan(0);
  });
});
