import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseErrorBody } from "./error-body.js";

const json = "application/json";

describe("parseErrorBody", () => {
  it("reads OAuth error responses (RFC 6749 §5.2)", () => {
    expect(
      parseErrorBody(
        JSON.stringify({ error: "access_denied", error_description: "Not for this trip" }),
        "application/json; charset=utf-8",
      ),
    ).toEqual({ error: "access_denied", errorDescription: "Not for this trip" });
  });

  it("reads RFC 9457 problems with AgentAuth's extension members", () => {
    expect(
      parseErrorBody(
        JSON.stringify({
          type: "about:blank",
          title: "Step-up required",
          status: 403,
          detail: "Above 100.00 EUR needs a fresh approval",
          code: "ERR_STEP_UP",
          reason: "step_up_required",
          error: "insufficient_scope",
          step_up: {
            above: { amount: "100.00", currency: "EUR" },
            action: { type: "transact", resource: "merchant/acme" },
            authorization_server: "https://registry.example.com",
            approval_endpoint: "https://registry.example.com/oauth/backchannel",
          },
        }),
        "application/problem+json",
      ),
    ).toEqual({
      title: "Step-up required",
      detail: "Above 100.00 EUR needs a fresh approval",
      code: "ERR_STEP_UP",
      reason: "step_up_required",
      error: "insufficient_scope",
      stepUp: {
        above: { amount: "100.00", currency: "EUR" },
        action: { type: "transact", resource: "merchant/acme" },
        authorizationServer: "https://registry.example.com",
        approvalEndpoint: "https://registry.example.com/oauth/backchannel",
      },
    });
  });

  it("leaves out members of the wrong shape, and bodies that are not JSON objects", () => {
    expect(
      parseErrorBody(
        JSON.stringify({
          error: 'bad"quote',
          reason: "Not A Reason",
          code: "lower",
          detail: 42,
        }),
        json,
      ),
    ).toEqual({});
    expect(
      parseErrorBody(
        JSON.stringify({
          step_up: {
            above: { amount: "1.5", currency: "EUR" },
            action: ["not", "an", "object"],
            authorization_server: "javascript:alert(1)",
            approval_endpoint: "ftp://registry.example.com",
          },
        }),
        json,
      ),
    ).toEqual({ stepUp: {} });
    expect(parseErrorBody(JSON.stringify({ step_up: null }), json)).toEqual({});
    expect(parseErrorBody(JSON.stringify({ step_up: [] }), json)).toEqual({});
    expect(parseErrorBody("[1]", json)).toEqual({});
    expect(parseErrorBody("{", json)).toEqual({});
    expect(parseErrorBody('{"error":"x"}', "text/html")).toEqual({});
    expect(parseErrorBody('{"error":"x"}', null)).toEqual({});
    expect(parseErrorBody(undefined, json)).toEqual({});
  });

  it("keeps a step-up's issuer exactly as sent: RFC 8414 compares issuers character for character", () => {
    const stepUpOf = (url: string) =>
      parseErrorBody(
        JSON.stringify({ step_up: { authorization_server: url, approval_endpoint: url } }),
        json,
      ).stepUp;
    for (const url of [
      "https://registry.example.com",
      "https://registry.example.com/",
      "https://registry.example.com/tenants/a",
      "https://REGISTRY.example.com:443",
      "http://localhost:4000",
    ]) {
      expect(stepUpOf(url), url).toEqual({ authorizationServer: url, approvalEndpoint: url });
    }
    // What the URL parser would quietly trim or drop is refused rather than changed.
    for (const url of [
      " https://registry.example.com",
      "https://registry.example.com\n",
      "https://registry.\texample.com",
      "https://registry.example.com/\u202e",
      "https://registry.example.com/\u200b",
    ]) {
      expect(stepUpOf(url), JSON.stringify(url)).toEqual({});
    }
  });

  it("strips control and bidi characters from text a human may read, and bounds its length", () => {
    const body = parseErrorBody(
      JSON.stringify({ error: "x", error_description: `a\u202eb\nc\u0000d${"e".repeat(400)}` }),
      json,
    );
    expect(body.errorDescription).toMatch(/^a b c de+…$/);
    expect([...(body.errorDescription ?? "")]).toHaveLength(300);
  });

  it("never throws and only returns checked members (property)", () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.constantFrom(json, "application/problem+json"),
        (value, type) => {
          const body = parseErrorBody(JSON.stringify(value), type);
          if (body.error !== undefined) expect(body.error).toMatch(/^[\x20-\x7e]+$/);
          if (body.reason !== undefined) expect(body.reason).toMatch(/^[a-z0-9_]+$/);
          for (const text of [body.errorDescription, body.detail, body.title]) {
            if (text !== undefined) expect(text).not.toMatch(/[\p{Cc}\p{Cf}]/u);
          }
        },
      ),
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        parseErrorBody(text, json);
      }),
    );
  });
});
