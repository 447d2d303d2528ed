import { describe, expect, it } from "vitest";
import { allowAnswer } from "./answers.test-support.js";
import { parseVerificationAnswer } from "./verification-answer.js";

const allow = allowAnswer({
  remaining: {
    requests: 3,
    spend: [{ currency: "EUR", window_seconds: 86400, remaining: "1.00" }],
  },
});
const deny = {
  decision: "deny",
  reason: "step_up_required",
  message: "Above the threshold",
  step_up: { above: { amount: "20.00", currency: "EUR" } },
  respond: { status: 403, headers: { "WWW-Authenticate": 'DPoP error="insufficient_scope"' } },
};

describe("parseVerificationAnswer", () => {
  it("accepts the verifier's allows and denials as they are", () => {
    expect(parseVerificationAnswer(allow)).toEqual(allow);
    expect(parseVerificationAnswer(deny)).toEqual(deny);
    for (const status of [401, 429]) {
      const answer = { ...deny, respond: { status, headers: {} } };
      expect(parseVerificationAnswer(answer)).toEqual(answer);
    }
  });

  it.each([
    ["nothing", undefined],
    ["an array", [allow]],
    ["an unknown decision", { ...allow, decision: "permit" }],
    ["an allow with a reason", { ...allow, reason: "capability_not_granted" }],
    ["an allow answered 403", { ...allow, respond: { status: 403, headers: {} } }],
    ["an allow naming no human", { ...allow, human: undefined }],
    ["an allow naming no capability", { ...allow, capability: undefined }],
    [
      "an allow with a capability of an unknown type",
      { ...allow, capability: { type: "own", resource: "*" } },
    ],
    ["a denial answered 200", { ...deny, respond: { status: 200, headers: {} } }],
    ["a denial answered 500", { ...deny, respond: { status: 500, headers: {} } }],
    [
      "a header that is not a string",
      { ...deny, respond: { status: 403, headers: { "Retry-After": 5 } } },
    ],
    ["a reason that is not a reason", { ...deny, reason: "Nope!" }],
    ["no respond", { ...deny, respond: undefined }],
    ["negative remaining requests", { ...allow, remaining: { requests: -1 } }],
  ])("refuses %s", (_name, value) => {
    expect(parseVerificationAnswer(value)).toBeUndefined();
  });
});
