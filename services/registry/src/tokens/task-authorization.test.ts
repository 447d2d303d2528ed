import { parseAuthorizationDetails } from "@agentauth/core";
import { describe, expect, it } from "vitest";
import { RegistryError } from "../errors.js";
import { narrowForTask } from "./task-authorization.js";

const PAY = { type: "transact", resource: "merchant/*", max_amount: "100.00", currency: "EUR" };
const READ = { type: "read", resource: "reports/*" };
const ENVELOPE = {
  type: "envelope",
  rate_limit: { max_requests: 100, window_seconds: 60, burst: 10 },
  spend_caps: [
    { amount: "200.00", currency: "EUR", window_seconds: 86400 },
    { amount: "500.00", currency: "EUR", window_seconds: 604800 },
  ],
};
const granted = parseAuthorizationDetails([PAY, READ, ENVELOPE]);
const details = (...entries: unknown[]) => parseAuthorizationDetails(entries);

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof Error && "code" in error) {
      return { code: String(error.code), message: error.message };
    }
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("narrowForTask", () => {
  it("is the grant's authorization when nothing is asked for", () => {
    expect(narrowForTask(undefined, granted)).toEqual(granted);
  });

  it("keeps the grant's envelope for capabilities asked for without one", () => {
    expect(narrowForTask(details(READ), granted)).toEqual({
      capabilities: [READ],
      envelope: granted.envelope,
    });
  });

  it("takes a narrower envelope counted in the grant's windows, with limits of its own", () => {
    const envelope = {
      type: "envelope",
      rate_limit: { max_requests: 5, window_seconds: 60, burst: 1 },
      spend_caps: [
        { amount: "20.00", currency: "EUR", window_seconds: 86400 },
        { amount: "20.00", currency: "EUR", window_seconds: 604800 },
      ],
      max_transaction_amount: { amount: "5.00", currency: "EUR" },
      max_token_lifetime_seconds: 60,
    };
    const asked = details(READ, envelope);
    expect(narrowForTask(asked, granted)).toEqual(asked);
  });

  it("lets a task of a grant without an envelope add one", () => {
    const open = details(PAY);
    const asked = details(PAY, {
      type: "envelope",
      rate_limit: { max_requests: 3, window_seconds: 3600 },
    });
    expect(narrowForTask(asked, open)).toEqual(asked);
  });

  it("refuses a widening with core's ERR_GRANT_WIDENED", () => {
    const wider = details({ ...PAY, max_amount: "100.01" });
    expect(refusal(() => narrowForTask(wider, granted))).toMatchObject({
      code: "ERR_GRANT_WIDENED",
    });
    const looser = details(READ, {
      ...ENVELOPE,
      rate_limit: { ...ENVELOPE.rate_limit, burst: 11 },
    });
    expect(refusal(() => narrowForTask(looser, granted)).code).toBe("ERR_GRANT_WIDENED");
  });

  it("refuses a rate limit counted in a longer window, though core calls it narrower", () => {
    const longer = details(READ, {
      ...ENVELOPE,
      rate_limit: { max_requests: 100, window_seconds: 120, burst: 10 },
    });
    const error = refusal(() => narrowForTask(longer, granted));
    expect(error).toEqual({
      code: "ERR_INVALID_AUTHORIZATION_DETAILS",
      message:
        "A task token's authorization_details: envelope.rate_limit.window_seconds must be the grant's (60), so the grant's rate limit counts the task's requests too",
    });
  });

  it("refuses a rate limit without the grant's burst limit", () => {
    const noBurst = details(READ, {
      ...ENVELOPE,
      rate_limit: { max_requests: 10, window_seconds: 60 },
    });
    expect(refusal(() => narrowForTask(noBurst, granted)).message).toMatch(
      /envelope\.rate_limit\.burst is required \(at most 10\)/,
    );
  });

  it("refuses spend caps that leave one of the grant's windows uncounted", () => {
    const moved = details(READ, {
      ...ENVELOPE,
      spend_caps: [
        { amount: "200.00", currency: "EUR", window_seconds: 86400 },
        { amount: "500.00", currency: "EUR", window_seconds: 1209600 },
      ],
    });
    const error = refusal(() => narrowForTask(moved, granted));
    expect(error.code).toBe("ERR_INVALID_AUTHORIZATION_DETAILS");
    expect(error.message).toMatch(
      /must keep the grant's spend_caps\[1\] \(500\.00 EUR per 604800 s\) with the same window/,
    );
  });

  it("throws only registry or core coded errors", () => {
    const longer = details(READ, {
      ...ENVELOPE,
      rate_limit: { max_requests: 100, window_seconds: 120, burst: 10 },
    });
    expect(() => narrowForTask(longer, granted)).toThrow(RegistryError);
  });
});
