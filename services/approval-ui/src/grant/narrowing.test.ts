import {
  type AuthorizationDetails,
  isNarrowerOrEqual,
  parseAuthorizationDetails,
  WEEKDAYS,
} from "@agentauth/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildFinalGrant,
  FIELD,
  type GrantDraft,
  initialDraft,
  isHighRisk,
  lifetimeChoices,
  normalizeAmount,
} from "./narrowing.js";

const REQUESTED: AuthorizationDetails = parseAuthorizationDetails([
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  { type: "write", resource: "notes/inbox", max_items: 10 },
  { type: "read", resource: "calendar/*" },
  {
    type: "envelope",
    rate_limit: { max_requests: 30, window_seconds: 60, burst: 5 },
    time_windows: [
      { days: ["mon", "tue", "wed"], start: "09:00", end: "17:00", time_zone: "Europe/Paris" },
    ],
    max_transaction_amount: { amount: "50.00", currency: "EUR" },
    spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86_400 }],
    step_up_above: { amount: "100.00", currency: "EUR" },
    max_token_lifetime_seconds: 600,
  },
]);
const LIFETIME = 86_400;

describe("buildFinalGrant", () => {
  it("gives exactly the request when nothing is changed", () => {
    const result = buildFinalGrant(REQUESTED, LIFETIME, initialDraft(REQUESTED, LIFETIME));
    expect(result.ok && result.narrowed).toBe(false);
    expect(result.ok && result.authorization).toEqual(REQUESTED);
  });

  it("drops unticked capabilities and lowers limits", () => {
    const draft = initialDraft(REQUESTED, LIFETIME);
    const result = buildFinalGrant(REQUESTED, LIFETIME, {
      ...draft,
      capabilities: [{ included: true, maxAmount: "30" }, { included: false }, { included: true }],
      envelope: draft.envelope && { ...draft.envelope, spendCaps: ["150.5"], maxRequests: "10" },
      lifetimeSeconds: 3_600,
    });
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.narrowed).toBe(true);
    expect(result.grantLifetime).toBe(3_600);
    expect(result.authorizationDetails.slice(0, 2)).toEqual([
      { type: "transact", resource: "merchant/acme", max_amount: "30.00", currency: "EUR" },
      { type: "read", resource: "calendar/*" },
    ]);
    expect(result.authorization.envelope?.spend_caps).toEqual([
      { amount: "150.50", currency: "EUR", window_seconds: 86_400 },
    ]);
    expect(result.authorization.envelope?.rate_limit).toEqual({
      max_requests: 10,
      window_seconds: 60,
      burst: 5,
    });
  });

  it("refuses anything above what was asked, naming the field", () => {
    const draft = initialDraft(REQUESTED, LIFETIME);
    const result = buildFinalGrant(REQUESTED, LIFETIME, {
      ...draft,
      capabilities: [
        { included: true, maxAmount: "50.01" },
        { included: true, maxItems: "11" },
        { included: true },
      ],
      envelope: draft.envelope && {
        ...draft.envelope,
        maxRequests: "31",
        stepUpAbove: "1000",
        maxTokenLifetimeSeconds: "601",
      },
      lifetimeSeconds: LIFETIME + 1,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.problems).sort()).toEqual(
      [
        FIELD.maxAmount(0),
        FIELD.maxItems(1),
        FIELD.maxRequests,
        FIELD.stepUpAbove,
        FIELD.maxTokenLifetime,
        FIELD.lifetime,
      ].sort(),
    );
    expect(result.problems[FIELD.maxAmount(0)]).toMatch(/At most 50.00 EUR/);
  });

  it("refuses a burst above the new rate, and an empty grant", () => {
    const draft = initialDraft(REQUESTED, LIFETIME);
    const lowRate = buildFinalGrant(REQUESTED, LIFETIME, {
      ...draft,
      envelope: draft.envelope && { ...draft.envelope, maxRequests: "3" },
    });
    expect(!lowRate.ok && lowRate.problems[FIELD.burst]).toMatch(/burst/);
    const empty = buildFinalGrant(REQUESTED, LIFETIME, {
      ...draft,
      capabilities: draft.capabilities.map((edit) => ({ ...edit, included: false })),
    });
    expect(!empty.ok && empty.problems[FIELD.capabilities]).toMatch(/at least one/);
  });

  it("keeps only asked days, and at least one", () => {
    const draft = initialDraft(REQUESTED, LIFETIME);
    const base = draft.envelope;
    if (base === undefined) throw new Error("expected an envelope");
    const fewer = buildFinalGrant(REQUESTED, LIFETIME, {
      ...draft,
      envelope: { ...base, timeWindowDays: [["wed", "sun", "mon"]] },
    });
    expect(fewer.ok && fewer.authorization.envelope?.time_windows?.[0]?.days).toEqual([
      "mon",
      "wed",
    ]);
    const none = buildFinalGrant(REQUESTED, LIFETIME, {
      ...draft,
      envelope: { ...base, timeWindowDays: [[]] },
    });
    expect(!none.ok && none.problems[FIELD.days(0)]).toBeTruthy();
  });

  // Whatever the human types or ticks, what comes out is never wider than what was asked.
  it("never produces a widening, whatever is typed (property)", () => {
    const text = fc.oneof(
      fc.constantFrom(
        "",
        "0",
        "1",
        "30",
        "50",
        "50.00",
        "50.01",
        "1e3",
        "-1",
        " 7 ",
        "٣",
        "999999",
      ),
      fc.stringMatching(/^[0-9]{0,4}(\.[0-9]{0,3})?$/),
      fc.string({ maxLength: 6 }),
    );
    const draft = fc.record({
      capabilities: fc.tuple(
        fc.record({ included: fc.boolean(), maxAmount: text }),
        fc.record({ included: fc.boolean(), maxItems: text, appendOnly: fc.boolean() }),
        fc.record({ included: fc.boolean() }),
      ),
      envelope: fc.record({
        maxRequests: text,
        burst: text,
        timeWindowDays: fc.tuple(fc.subarray([...WEEKDAYS])),
        maxTransactionAmount: text,
        spendCaps: fc.tuple(text),
        stepUpAbove: text,
        maxTokenLifetimeSeconds: text,
      }),
      lifetimeSeconds: fc.integer({ min: -10, max: 200_000 }),
    });
    fc.assert(
      fc.property(draft, (edited) => {
        const result = buildFinalGrant(REQUESTED, LIFETIME, edited as GrantDraft);
        if (!result.ok) return;
        expect(isNarrowerOrEqual(result.authorization, REQUESTED)).toBe(true);
        expect(result.grantLifetime).toBeLessThanOrEqual(LIFETIME);
        // What goes to the registry parses as what the editor shows.
        expect(parseAuthorizationDetails(result.authorizationDetails)).toEqual(
          result.authorization,
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe("helpers", () => {
  it("normalizes amounts to the currency's minor units", () => {
    expect(normalizeAmount("30", "EUR")).toBe("30.00");
    expect(normalizeAmount("007.5", "EUR")).toBe("7.50");
    expect(normalizeAmount("500", "JPY")).toBe("500");
    expect(normalizeAmount("1.2345", "EUR")).toBeUndefined();
    expect(normalizeAmount("1.5", "JPY")).toBeUndefined();
    expect(normalizeAmount("-1", "EUR")).toBeUndefined();
    expect(normalizeAmount("1e3", "EUR")).toBeUndefined();
  });

  it("offers only lifetimes up to what was asked", () => {
    expect(lifetimeChoices(7_200)).toEqual([7_200, 3_600, 900]);
    expect(Math.max(...lifetimeChoices(86_400))).toBe(86_400);
  });

  it("calls payments and deletions high risk", () => {
    expect(isHighRisk(REQUESTED)).toBe(true);
    expect(isHighRisk({ capabilities: [{ type: "read", resource: "*" }] })).toBe(false);
    expect(isHighRisk({ capabilities: [{ type: "delete", resource: "a" }] })).toBe(true);
  });
});
