import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { minorOf, moneyArb } from "../capabilities/grant-arbitraries.test-support.js";
import type { Envelope, TimeWindow } from "./envelope.js";
import { currentWindowStart, type EnvelopeCounters, spendCounterKey } from "./envelope-counters.js";
import { type EnvelopeRequest, evaluateEnvelope } from "./evaluate-envelope.js";
import { historyArb, simulateEnvelope } from "./simulate-envelope.test-support.js";

const fresh: EnvelopeCounters = { requestsInWindow: 0, requestsInBurstWindow: 0, spent: {} };
const at = (iso: string) => new Date(iso);
const monday = at("2026-03-02T10:00:00Z");
const eur = (amount: string): EnvelopeRequest => ({
  action: "transact",
  amount: { amount, currency: "EUR" },
});
const envelope = (limits: Omit<Envelope, "type">): Envelope => ({ type: "envelope", ...limits });

describe("evaluateEnvelope", () => {
  it("allows anything well-formed without an envelope", () => {
    expect(evaluateEnvelope(undefined, {}, fresh, monday)).toEqual({
      outcome: "allow",
      remaining: {},
    });
    expect(evaluateEnvelope(undefined, eur("1000.00"), fresh, monday)).toEqual({
      outcome: "allow",
      remaining: {},
    });
    expect(evaluateEnvelope(undefined, eur("1"), fresh, monday)).toEqual({
      outcome: "deny",
      reason: "invalid_amount",
      message: "The request amount must have exactly 2 decimal places for EUR",
    });
  });

  describe("time windows", () => {
    const window = (
      days: TimeWindow["days"],
      start: string,
      end: string,
      time_zone = "Europe/Paris",
    ) => envelope({ time_windows: [{ days, start, end, time_zone }] });
    const outside = {
      outcome: "deny",
      reason: "outside_time_window",
      message: "The grant does not allow requests at this time",
    };
    const decide = (limits: Envelope, iso: string) =>
      evaluateEnvelope(limits, {}, fresh, at(iso)).outcome;

    it("uses local wall-clock time of the window's zone, start inclusive, end exclusive", () => {
      const office = window(["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00");
      expect(decide(office, "2026-03-02T08:00:00Z")).toBe("allow"); // Mon 09:00 in Paris (UTC+1)
      expect(decide(office, "2026-03-02T15:59:59Z")).toBe("allow");
      expect(evaluateEnvelope(office, {}, fresh, at("2026-03-02T07:59:59Z"))).toEqual(outside);
      expect(decide(office, "2026-03-02T16:00:00Z")).toBe("deny");
      expect(decide(office, "2026-03-07T10:00:00Z")).toBe("deny"); // Saturday
      // The same instant is outside a UTC window of the same hours.
      const utc = window(["mon"], "09:00", "17:00", "UTC");
      expect(decide(utc, "2026-03-02T08:30:00Z")).toBe("deny");
      expect(decide(office, "2026-03-02T08:30:00Z")).toBe("allow");
    });

    it("allows if any window covers the moment", () => {
      const split = envelope({
        time_windows: [
          { days: ["mon"], start: "09:00", end: "10:00", time_zone: "UTC" },
          { days: ["mon"], start: "15:00", end: "16:00", time_zone: "Asia/Tokyo" },
        ],
      });
      expect(decide(split, "2026-03-02T09:30:00Z")).toBe("allow");
      expect(decide(split, "2026-03-02T06:30:00Z")).toBe("allow"); // 15:30 in Tokyo
      expect(decide(split, "2026-03-02T12:00:00Z")).toBe("deny");
    });

    it("runs windows past midnight on the day they start", () => {
      const fridayNight = window(["fri"], "22:00", "06:00");
      expect(decide(fridayNight, "2026-03-06T21:00:00Z")).toBe("allow"); // Fri 22:00 local
      expect(decide(fridayNight, "2026-03-07T04:59:00Z")).toBe("allow"); // Sat 05:59 local
      expect(decide(fridayNight, "2026-03-07T05:00:00Z")).toBe("deny"); // Sat 06:00 local
      expect(decide(fridayNight, "2026-03-06T04:30:00Z")).toBe("deny"); // Fri 05:30: Thursday's night
      expect(decide(fridayNight, "2026-03-07T21:30:00Z")).toBe("deny"); // Sat 22:30
      const sundayNight = window(["sun"], "22:00", "02:00", "UTC");
      expect(decide(sundayNight, "2026-03-09T01:00:00Z")).toBe("allow"); // Mon 01:00
      expect(decide(sundayNight, "2026-03-10T01:00:00Z")).toBe("deny"); // Tue 01:00
    });

    it("follows Europe/Paris into summer time (2026-03-29)", () => {
      const daily = window(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "09:00", "17:00");
      expect(decide(daily, "2026-03-28T07:30:00Z")).toBe("deny"); // Sat 08:30 CET
      expect(decide(daily, "2026-03-29T07:30:00Z")).toBe("allow"); // Sun 09:30 CEST
      expect(decide(daily, "2026-03-28T15:30:00Z")).toBe("allow"); // Sat 16:30 CET
      expect(decide(daily, "2026-03-29T15:30:00Z")).toBe("deny"); // Sun 17:30 CEST
      // 02:00-03:00 does not exist that night.
      const skipped = window(["sun"], "02:00", "03:00");
      expect(decide(skipped, "2026-03-29T00:59:00Z")).toBe("deny"); // 01:59 CET
      expect(decide(skipped, "2026-03-29T01:00:00Z")).toBe("deny"); // 03:00 CEST
    });

    it("follows Europe/Paris back to winter time (2026-10-25)", () => {
      const daily = window(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "09:00", "17:00");
      expect(decide(daily, "2026-10-24T07:30:00Z")).toBe("allow"); // Sat 09:30 CEST
      expect(decide(daily, "2026-10-25T07:30:00Z")).toBe("deny"); // Sun 08:30 CET
      expect(decide(daily, "2026-10-25T08:30:00Z")).toBe("allow"); // Sun 09:30 CET
      // 02:00-03:00 happens twice that night; both are inside.
      const repeated = window(["sun"], "02:00", "03:00");
      expect(decide(repeated, "2026-10-25T00:30:00Z")).toBe("allow"); // 02:30 CEST
      expect(decide(repeated, "2026-10-25T01:30:00Z")).toBe("allow"); // 02:30 CET
      expect(decide(repeated, "2026-10-25T02:00:00Z")).toBe("deny"); // 03:00 CET
    });

    it("follows America/New_York into daylight time (2026-03-08)", () => {
      const daily = window(["sat", "sun"], "09:00", "17:00", "America/New_York");
      expect(decide(daily, "2026-03-07T13:30:00Z")).toBe("deny"); // Sat 08:30 EST
      expect(decide(daily, "2026-03-08T13:30:00Z")).toBe("allow"); // Sun 09:30 EDT
      expect(decide(daily, "2026-03-07T21:30:00Z")).toBe("allow"); // Sat 16:30 EST
      expect(decide(daily, "2026-03-08T21:30:00Z")).toBe("deny"); // Sun 17:30 EDT
    });

    it("fails closed for a zone the runtime does not know", () => {
      expect(
        decide(window(["mon"], "00:00", "23:59", "Mars/Olympus_Mons"), "2026-03-02T10:00:00Z"),
      ).toBe("deny");
    });
  });

  describe("amounts", () => {
    const limits = envelope({
      max_transaction_amount: { amount: "50.00", currency: "EUR" },
      spend_caps: [{ amount: "2000.00", currency: "USD", window_seconds: 86400 }],
    });

    it("requires an amount when money is limited, unless the action cannot move money", () => {
      const required = {
        outcome: "deny",
        reason: "amount_required",
        message: "The grant limits payments, so the request must state its amount",
      };
      expect(evaluateEnvelope(limits, {}, fresh, monday)).toEqual(required);
      expect(evaluateEnvelope(limits, { action: "transact" }, fresh, monday)).toEqual(required);
      expect(evaluateEnvelope(limits, { action: "custom" }, fresh, monday)).toEqual(required);
      expect(evaluateEnvelope(limits, { action: "read" }, fresh, monday).outcome).toBe("allow");
      expect(evaluateEnvelope(limits, { action: "delete" }, fresh, monday).outcome).toBe("allow");
    });

    it("rejects malformed amounts", () => {
      const invalid = (request: EnvelopeRequest, problem: string) =>
        expect(evaluateEnvelope(limits, request, fresh, monday)).toEqual({
          outcome: "deny",
          reason: "invalid_amount",
          message: `The request amount ${problem}`,
        });
      invalid(eur("50.001"), "must have exactly 2 decimal places for EUR");
      invalid(
        eur("-1.00"),
        'must be a decimal string like "50.00" (no sign, exponent or leading zeros)',
      );
      invalid(
        eur("1e3"),
        'must be a decimal string like "50.00" (no sign, exponent or leading zeros)',
      );
      invalid(
        { amount: { amount: "1.00", currency: "XYZ" } },
        "the currency is not an active ISO 4217 code",
      );
      invalid({ amount: null as unknown as EnvelopeRequest["amount"] }, "must be an object");
    });

    it("denies currencies no money limit mentions", () => {
      expect(
        evaluateEnvelope(limits, { amount: { amount: "1", currency: "JPY" } }, fresh, monday),
      ).toEqual({
        outcome: "deny",
        reason: "currency_not_allowed",
        message: "The grant does not allow payments in JPY",
      });
    });

    it("applies the per-payment maximum to its own currency", () => {
      expect(evaluateEnvelope(limits, eur("50.00"), fresh, monday).outcome).toBe("allow");
      expect(evaluateEnvelope(limits, eur("50.01"), fresh, monday)).toEqual({
        outcome: "deny",
        reason: "transaction_limit_exceeded",
        message: "50.01 EUR is more than the 50.00 EUR allowed per payment",
      });
      const dollars = { amount: { amount: "1000.00", currency: "USD" } };
      expect(evaluateEnvelope(limits, dollars, fresh, monday)).toEqual({
        outcome: "allow",
        remaining: { spend: [{ currency: "USD", window_seconds: 86400, remaining: "1000.00" }] },
      });
    });
  });

  describe("spend caps", () => {
    const limits = envelope({
      spend_caps: [
        { amount: "200.00", currency: "EUR", window_seconds: 86400 },
        { amount: "100.00", currency: "EUR", window_seconds: 3600 },
        { amount: "5000", currency: "JPY", window_seconds: 86400 },
      ],
    });
    const spent = (daily: number, hourly = 0): EnvelopeCounters => ({
      ...fresh,
      spent: { [spendCounterKey("EUR", 86400)]: daily, [spendCounterKey("EUR", 3600)]: hourly },
    });

    it("allows up to each cap and reports what is left", () => {
      expect(evaluateEnvelope(limits, eur("50.00"), spent(15000, 2000), monday)).toEqual({
        outcome: "allow",
        remaining: {
          spend: [
            { currency: "EUR", window_seconds: 86400, remaining: "0.00" },
            { currency: "EUR", window_seconds: 3600, remaining: "30.00" },
            { currency: "JPY", window_seconds: 86400, remaining: "5000" },
          ],
        },
      });
    });

    it("denies what would go over a cap, with the wait until its window ends", () => {
      expect(
        evaluateEnvelope(limits, eur("50.01"), spent(15000), at("2026-03-02T22:00:00.250Z")),
      ).toEqual({
        outcome: "deny",
        reason: "spend_cap_exceeded",
        message: "50.01 EUR would exceed the cap of 200.00 EUR per day (150.00 EUR already spent)",
        retryAfterSeconds: 7200,
      });
      expect(
        evaluateEnvelope(limits, eur("80.00"), spent(0, 2001), at("2026-03-02T22:59:30Z")),
      ).toEqual({
        outcome: "deny",
        reason: "spend_cap_exceeded",
        message: "80.00 EUR would exceed the cap of 100.00 EUR per hour (20.01 EUR already spent)",
        retryAfterSeconds: 30,
      });
    });

    it("gives no retry hint when the payment can never fit", () => {
      expect(evaluateEnvelope(limits, eur("100.01"), fresh, monday)).toEqual({
        outcome: "deny",
        reason: "spend_cap_exceeded",
        message: "100.01 EUR would exceed the cap of 100.00 EUR per hour (0.00 EUR already spent)",
      });
    });
  });

  describe("rate limits", () => {
    const limits = envelope({ rate_limit: { max_requests: 3, window_seconds: 60, burst: 2 } });
    const now = at("2026-03-02T10:00:45.500Z");

    it("allows up to max_requests per window and reports what is left", () => {
      expect(
        evaluateEnvelope(
          limits,
          {},
          { ...fresh, requestsInWindow: 2, requestsInBurstWindow: 1 },
          now,
        ),
      ).toEqual({
        outcome: "allow",
        remaining: { requests: 0 },
      });
    });

    it("denies the request after max_requests until the window ends", () => {
      expect(evaluateEnvelope(limits, {}, { ...fresh, requestsInWindow: 3 }, now)).toEqual({
        outcome: "deny",
        reason: "rate_limited",
        message: "The grant allows at most 3 requests a minute",
        retryAfterSeconds: 15,
      });
    });

    it("denies bursts within one second", () => {
      expect(
        evaluateEnvelope(
          limits,
          {},
          { ...fresh, requestsInWindow: 1, requestsInBurstWindow: 2 },
          now,
        ),
      ).toEqual({
        outcome: "deny",
        reason: "burst_limited",
        message: "The grant allows bursts of at most 2 requests a second",
        retryAfterSeconds: 1,
      });
    });

    it("describes windows that are not one whole unit", () => {
      const odd = envelope({ rate_limit: { max_requests: 1, window_seconds: 90 } });
      // 60 s into an epoch-aligned 90-second window: 30 s to go.
      const now = new Date((currentWindowStart(90, monday) + 60) * 1000);
      expect(evaluateEnvelope(odd, {}, { ...fresh, requestsInWindow: 1 }, now)).toEqual({
        outcome: "deny",
        reason: "rate_limited",
        message: "The grant allows at most 1 request per 90 seconds",
        retryAfterSeconds: 30,
      });
    });
  });

  describe("step-up", () => {
    const limits = envelope({
      step_up_above: { amount: "100.00", currency: "EUR" },
      max_transaction_amount: { amount: "500.00", currency: "EUR" },
      rate_limit: { max_requests: 1, window_seconds: 60 },
    });

    it("asks for a fresh approval strictly above the threshold", () => {
      expect(evaluateEnvelope(limits, eur("100.00"), fresh, monday).outcome).toBe("allow");
      expect(evaluateEnvelope(limits, eur("100.01"), fresh, monday)).toEqual({
        outcome: "step_up",
        reason: "step_up_required",
        message: "Payments above 100.00 EUR need a fresh approval",
      });
    });

    it("loses to any deny", () => {
      expect(evaluateEnvelope(limits, eur("500.01"), fresh, monday)).toMatchObject({
        reason: "transaction_limit_exceeded",
      });
      expect(
        evaluateEnvelope(limits, eur("200.00"), { ...fresh, requestsInWindow: 1 }, monday),
      ).toMatchObject({
        reason: "rate_limited",
      });
    });
  });

  it("checks in order: time, amount, spend caps, rate, burst", () => {
    const limits = envelope({
      time_windows: [{ days: ["mon"], start: "09:00", end: "17:00", time_zone: "UTC" }],
      max_transaction_amount: { amount: "50.00", currency: "EUR" },
      spend_caps: [{ amount: "60.00", currency: "EUR", window_seconds: 86400 }],
      rate_limit: { max_requests: 1, window_seconds: 60, burst: 1 },
    });
    const busy: EnvelopeCounters = {
      requestsInWindow: 1,
      requestsInBurstWindow: 1,
      spent: { [spendCounterKey("EUR", 86400)]: 5000 },
    };
    const reason = (request: EnvelopeRequest, counters: EnvelopeCounters, now = monday) => {
      const decision = evaluateEnvelope(limits, request, counters, now);
      return decision.outcome === "deny" ? decision.reason : decision.outcome;
    };
    expect(reason(eur("x"), busy, at("2026-03-02T18:00:00Z"))).toBe("outside_time_window");
    expect(reason(eur("x"), busy)).toBe("invalid_amount");
    expect(reason(eur("50.01"), busy)).toBe("transaction_limit_exceeded");
    expect(reason(eur("10.01"), busy)).toBe("spend_cap_exceeded");
    expect(reason(eur("10.00"), busy)).toBe("rate_limited");
    expect(reason(eur("10.00"), { ...busy, requestsInWindow: 0 })).toBe("burst_limited");
    expect(reason(eur("10.00"), { ...busy, requestsInWindow: 0, requestsInBurstWindow: 0 })).toBe(
      "allow",
    );
  });

  it("throws TypeError for caller bugs: bad dates and counters", () => {
    const limits = envelope({
      rate_limit: { max_requests: 5, window_seconds: 60 },
      spend_caps: [{ amount: "1.00", currency: "EUR", window_seconds: 60 }],
    });
    expect(() => evaluateEnvelope(limits, {}, fresh, new Date(Number.NaN))).toThrow(TypeError);
    expect(() => evaluateEnvelope(limits, {}, { ...fresh, requestsInWindow: -1 }, monday)).toThrow(
      TypeError,
    );
    expect(() =>
      evaluateEnvelope(limits, {}, { ...fresh, requestsInBurstWindow: 0.5 }, monday),
    ).toThrow(TypeError);
    expect(() =>
      evaluateEnvelope(limits, {}, { ...fresh, spent: { "EUR:60": Number.NaN } }, monday),
    ).toThrow(TypeError);
  });

  it("never allows more than the rate, burst or spend caps over any sequence", () => {
    const limitsArb = fc.record({
      max_requests: fc.integer({ min: 1, max: 6 }),
      window_seconds: fc.constantFrom(1, 2, 3, 5, 60),
      burst: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
      caps: fc.uniqueArray(
        fc
          .tuple(moneyArb(30), fc.constantFrom(1, 2, 5, 60))
          .map(([money, window_seconds]) => ({ ...money, window_seconds })),
        {
          minLength: 1,
          maxLength: 3,
          selector: (cap) => spendCounterKey(cap.currency, cap.window_seconds),
        },
      ),
    });
    let allowed = 0;
    const denials = new Map<string, number>();
    fc.assert(
      fc.property(
        limitsArb,
        historyArb(60),
        ({ max_requests, window_seconds, burst, caps }, history) => {
          const limits = envelope({
            rate_limit: {
              max_requests,
              window_seconds,
              ...(burst === undefined ? {} : { burst: Math.min(burst, max_requests) }),
            },
            spend_caps: caps,
          });
          const outcomes = simulateEnvelope(limits, history);
          for (const { decision } of outcomes) {
            if (decision.outcome === "deny")
              denials.set(decision.reason, (denials.get(decision.reason) ?? 0) + 1);
          }
          const passed = outcomes
            .filter(({ decision }) => decision.outcome === "allow")
            .map(({ request }) => request);
          allowed += passed.length;
          const perRateWindow = countBy(passed, (request) =>
            currentWindowStart(window_seconds, request.at),
          );
          for (const count of perRateWindow.values())
            expect(count).toBeLessThanOrEqual(max_requests);
          const perSecond = countBy(passed, (request) => currentWindowStart(1, request.at));
          for (const count of perSecond.values())
            expect(count).toBeLessThanOrEqual(Math.min(burst ?? max_requests, max_requests));
          for (const cap of caps) {
            const capMinor = minorOf(cap);
            const inCurrency = passed.filter(
              (request) => request.amount?.currency === cap.currency,
            );
            const spentPerWindow = countBy(
              inCurrency,
              (request) => currentWindowStart(cap.window_seconds, request.at),
              (request) => (request.amount === undefined ? 0 : minorOf(request.amount)),
            );
            for (const spent of spentPerWindow.values())
              expect(spent).toBeLessThanOrEqual(capMinor);
          }
        },
      ),
      { numRuns: 500 },
    );
    // The limits were actually reached, often.
    expect(allowed).toBeGreaterThan(500);
    expect(denials.get("rate_limited")).toBeGreaterThan(50);
    expect(denials.get("spend_cap_exceeded")).toBeGreaterThan(50);
    expect(denials.get("burst_limited")).toBeGreaterThan(15);
  });
});

function countBy<T>(
  items: readonly T[],
  key: (item: T) => number,
  weight: (item: T) => number = () => 1,
): Map<number, number> {
  const totals = new Map<number, number>();
  for (const item of items) totals.set(key(item), (totals.get(key(item)) ?? 0) + weight(item));
  return totals;
}
