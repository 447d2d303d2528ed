import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseErrorBody } from "../http/error-body.js";
import { mayBeRefusal, type Refusal, readRefusal } from "./service-provider-refusal.js";

const context = { serviceProvider: "https://payments.example.com", now: new Date(0) };
const ALGS = 'algs="ES256 EdDSA Ed25519"';

/** The refusal for an answer with these headers and this problem body. */
function refusal(status: number, headers: Record<string, string>, body?: unknown) {
  const response = new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: {
      ...headers,
      ...(body === undefined ? {} : { "Content-Type": "application/problem+json" }),
    },
  });
  const parsed = parseErrorBody(
    body === undefined ? undefined : JSON.stringify(body),
    response.headers.get("Content-Type"),
  );
  return { may: mayBeRefusal(response), refusal: readRefusal(response, parsed, context) };
}

function summary(found: Refusal | undefined) {
  if (found === undefined) return undefined;
  const { code, reason, oauthError, retryAfterSeconds, stepUp, status } = found.error;
  return { remedy: found.remedy, code, reason, oauthError, retryAfterSeconds, stepUp, status };
}

describe("readRefusal: the verifier's answers, as a service provider passes them on", () => {
  it("use_dpop_nonce is fixed by one retry with the nonce (RFC 9449 §9)", () => {
    const { may, refusal: found } = refusal(401, {
      "WWW-Authenticate": `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", ${ALGS}`,
      "DPoP-Nonce": "eyJ7S_zG.eyJH0-Z.HX4w-7v",
    });
    expect(may).toBe(true);
    expect(summary(found)).toMatchObject({
      remedy: "nonce",
      code: "ERR_NONCE_REJECTED",
      oauthError: "use_dpop_nonce",
      status: 401,
    });
    expect(found?.error.message).toContain("Resource server requires nonce in DPoP proof");
  });

  it("invalid_token is fixed, if at all, by a renewed token; the reason is kept", () => {
    expect(
      summary(
        refusal(
          401,
          {
            "WWW-Authenticate": `DPoP error="invalid_token", error_description="The grant behind the access token has been revoked", ${ALGS}`,
          },
          { detail: "The grant behind the access token has been revoked", reason: "grant_revoked" },
        ).refusal,
      ),
    ).toMatchObject({ remedy: "token", code: "ERR_TOKEN_REJECTED", reason: "grant_revoked" });
    // RFC 6750 §3.1: no error code when the request had no credentials.
    expect(summary(refusal(401, { "WWW-Authenticate": `DPoP ${ALGS}` }).refusal)).toMatchObject({
      remedy: "token",
      code: "ERR_TOKEN_REJECTED",
    });
    expect(
      summary(refusal(401, { "WWW-Authenticate": 'Bearer error="invalid_token"' }).refusal),
    ).toMatchObject({ remedy: "token" });
  });

  it("invalid_dpop_proof is not retried", () => {
    expect(
      summary(
        refusal(
          401,
          { "WWW-Authenticate": `DPoP error="invalid_dpop_proof", ${ALGS}` },
          { reason: "dpop_iat_out_of_window" },
        ).refusal,
      ),
    ).toEqual({
      remedy: undefined,
      code: "ERR_DPOP_REJECTED",
      reason: "dpop_iat_out_of_window",
      oauthError: "invalid_dpop_proof",
      retryAfterSeconds: undefined,
      stepUp: undefined,
      status: 401,
    });
  });

  it("insufficient_scope is a missing capability or an envelope refusal, with Retry-After", () => {
    expect(
      summary(
        refusal(
          403,
          {
            "WWW-Authenticate": `DPoP error="insufficient_scope", error_description="Spend cap", ${ALGS}`,
            "Retry-After": "3600",
          },
          { reason: "spend_cap_exceeded", detail: "The daily spend cap is reached" },
        ).refusal,
      ),
    ).toMatchObject({
      code: "ERR_INSUFFICIENT_CAPABILITY",
      reason: "spend_cap_exceeded",
      retryAfterSeconds: 3600,
      status: 403,
    });
  });

  it("a step-up carries what the agent needs to ask for a fresh approval", () => {
    const stepUp = {
      above: { amount: "20.00", currency: "EUR" },
      action: {
        type: "transact",
        resource: "merchant/acme",
        amount: { amount: "30.00", currency: "EUR" },
      },
      authorization_server: "https://registry.example.com",
      approval_endpoint: "https://registry.example.com/oauth/backchannel",
    };
    const found = refusal(
      403,
      {
        "WWW-Authenticate": `DPoP error="insufficient_scope", ${ALGS}, resource_metadata="https://payments.example.com/.well-known/oauth-protected-resource"`,
      },
      {
        reason: "step_up_required",
        step_up: stepUp,
        detail: "Above 20.00 EUR needs a fresh approval",
      },
    ).refusal;
    expect(summary(found)).toMatchObject({
      code: "ERR_STEP_UP_REQUIRED",
      reason: "step_up_required",
      stepUp: {
        above: stepUp.above,
        action: stepUp.action,
        authorizationServer: stepUp.authorization_server,
        approvalEndpoint: stepUp.approval_endpoint,
      },
    });
    expect(found?.error.message).toContain("Above 20.00 EUR needs a fresh approval");
    // RFC 9470's error code means the same.
    expect(
      summary(
        refusal(401, { "WWW-Authenticate": 'Bearer error="insufficient_user_authentication"' })
          .refusal,
      ),
    ).toMatchObject({ code: "ERR_STEP_UP_REQUIRED", stepUp: {} });
  });

  it("429 is a rate limit, with when to come back", () => {
    const { may, refusal: found } = refusal(
      429,
      { "Retry-After": "12", "DPoP-Nonce": "n" },
      { reason: "rate_limited", detail: "At most 2 requests per minute" },
    );
    expect(may).toBe(true);
    expect(summary(found)).toMatchObject({
      code: "ERR_RATE_LIMITED",
      reason: "rate_limited",
      retryAfterSeconds: 12,
      status: 429,
    });
  });

  it("leaves the service provider's own answers alone", () => {
    for (const [status, headers] of [
      [401, { "WWW-Authenticate": 'Basic realm="x"' }],
      [401, {}],
      [403, {}],
      [403, { "WWW-Authenticate": 'DPoP error="something_else"' }],
      [404, { "WWW-Authenticate": 'DPoP error="invalid_token"' }],
      [200, {}],
    ] as const) {
      const { refusal: found } = refusal(status, headers);
      expect(found, `${status} ${JSON.stringify(headers)}`).toBeUndefined();
    }
    expect(refusal(403, {}).may).toBe(false);
    expect(refusal(500, { "WWW-Authenticate": 'DPoP error="invalid_token"' }).may).toBe(false);
  });

  it("never throws, and a remedy only ever comes with a 401 (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(200, 401, 403, 429, 500),
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.string(), { nil: undefined }),
        fc.jsonValue(),
        (status, challenge, retryAfter, body) => {
          const headers: Record<string, string> = {};
          if (challenge !== undefined)
            headers["WWW-Authenticate"] = challenge.replace(/[\r\n\0]/g, "");
          if (retryAfter !== undefined)
            headers["Retry-After"] = retryAfter.replace(/[\r\n\0]/g, "");
          let found: Refusal | undefined;
          try {
            found = refusal(status, headers, body).refusal;
          } catch (error) {
            // Only the Headers constructor may refuse a generated value; the parser never throws.
            expect(error).toBeInstanceOf(TypeError);
            return;
          }
          if (found?.remedy !== undefined) expect(status).toBe(401);
          if (status === 200 || status === 500) expect(found).toBeUndefined();
          if (found !== undefined)
            expect(found.error.serviceProvider).toBe(context.serviceProvider);
        },
      ),
    );
  });
});
