import type { VerificationAnswer } from "./verification.js";

// Decisions as the verifier answers them, for tests that stand in for it.

/** An allow of a read, with what remains of a spend cap; `overrides` replace top-level fields. */
export function allowAnswer(overrides: Partial<VerificationAnswer> = {}): VerificationAnswer {
  return {
    decision: "allow",
    reason: "ok",
    message: "Allowed",
    agent: "agt_1",
    grant: "grt_1",
    human: "hum_1",
    token_id: "at_1",
    capability: { type: "read", resource: "reports/*" },
    remaining: { spend: [{ currency: "EUR", window_seconds: 60, remaining: "1.00" }] },
    respond: { status: 200, headers: { "DPoP-Nonce": "nonce-allow" } },
    ...overrides,
  };
}
