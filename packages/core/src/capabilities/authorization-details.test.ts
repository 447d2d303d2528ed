import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAuthorizationDetails, toAuthorizationDetails } from "./authorization-details.js";
import { detailsArb } from "./grant-arbitraries.test-support.js";

const read = { type: "read", resource: "calendar/work" };
const pay = { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" };
const envelope = {
  type: "envelope",
  rate_limit: { max_requests: 30, window_seconds: 60, burst: 5 },
  max_transaction_amount: { amount: "50.00", currency: "EUR" },
};

function expectInvalid(value: unknown, code: string, path: string, message: string): void {
  expect(() => parseAuthorizationDetails(value)).toThrow(
    expect.objectContaining({
      code,
      message: `${path}: ${message}`,
      details: { issues: [{ path, message }] },
    }),
  );
}

describe("parseAuthorizationDetails", () => {
  it("separates capabilities from the envelope, wherever it sits", () => {
    expect(parseAuthorizationDetails([read, envelope, pay])).toStrictEqual({
      capabilities: [read, pay],
      envelope,
    });
    expect(parseAuthorizationDetails([read])).toStrictEqual({
      capabilities: [read],
      envelope: undefined,
    });
  });

  it("requires an array with at least one capability", () => {
    expectInvalid(read, "ERR_CAPABILITY_INVALID", "authorization_details", "must be an array");
    expectInvalid(
      [],
      "ERR_CAPABILITY_INVALID",
      "authorization_details",
      "must contain at least one capability",
    );
    expectInvalid(
      [envelope],
      "ERR_CAPABILITY_INVALID",
      "authorization_details",
      "must contain at least one capability",
    );
  });

  it("allows at most one envelope", () => {
    const other = { type: "envelope", max_token_lifetime_seconds: 60 };
    expectInvalid(
      [read, envelope, other],
      "ERR_ENVELOPE_INVALID",
      "authorization_details[2]",
      "is a second envelope (the first is authorization_details[1])",
    );
  });

  it("reports envelope problems with ERR_ENVELOPE_INVALID and the entry's path", () => {
    expectInvalid(
      [read, { ...envelope, rate_limit: { max_requests: 3, window_seconds: 60, burst: 5 } }],
      "ERR_ENVELOPE_INVALID",
      "authorization_details[1].rate_limit.burst",
      "must be at most max_requests (3)",
    );
  });

  it("names envelope among the allowed types", () => {
    expectInvalid(
      [{ type: "Envelope" }],
      "ERR_CAPABILITY_INVALID",
      "authorization_details[0].type",
      "must be one of read, write, delete, transact, custom, envelope",
    );
  });

  it("picks the code of the first problem", () => {
    const badCapability = { type: "read", resource: "a/*/b" };
    const badEnvelope = { type: "envelope" };
    expect(() => parseAuthorizationDetails([badCapability, badEnvelope])).toThrow(
      expect.objectContaining({
        code: "ERR_CAPABILITY_INVALID",
        details: { issues: expect.any(Array) },
      }),
    );
    expect(() => parseAuthorizationDetails([badEnvelope, badCapability])).toThrow(
      expect.objectContaining({
        code: "ERR_ENVELOPE_INVALID",
        message: "authorization_details[0]: must set at least one limit (and 1 more)",
      }),
    );
  });

  it("caps the issues it reports", () => {
    const entries = Array.from({ length: 30 }, () => ({ type: "read" }));
    expect(() => parseAuthorizationDetails(entries)).toThrow(
      expect.objectContaining({
        message: "authorization_details[0].resource: is required (and 29 more)",
        details: { issues: expect.objectContaining({ length: 20 }) },
      }),
    );
  });
});

describe("toAuthorizationDetails", () => {
  it("lists capabilities, then the envelope", () => {
    const parsed = parseAuthorizationDetails([envelope, read, pay]);
    expect(toAuthorizationDetails(parsed)).toStrictEqual([read, pay, envelope]);
    expect(toAuthorizationDetails({ capabilities: parsed.capabilities })).toStrictEqual([
      read,
      pay,
    ]);
  });

  it("round-trips through parseAuthorizationDetails", () => {
    fc.assert(
      fc.property(detailsArb, (details) => {
        const parsed = parseAuthorizationDetails(
          JSON.parse(JSON.stringify(toAuthorizationDetails(details))),
        );
        expect(parsed).toStrictEqual({
          capabilities: details.capabilities,
          envelope: details.envelope,
        });
        expect(toAuthorizationDetails(parsed)).toStrictEqual(toAuthorizationDetails(details));
      }),
    );
  });
});
