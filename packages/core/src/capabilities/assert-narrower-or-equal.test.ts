import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Envelope, type TimeWindow, WEEKDAYS } from "../envelope/envelope.js";
import { evaluateEnvelope } from "../envelope/evaluate-envelope.js";
import { parseEnvelope } from "../envelope/parse-envelope.js";
import {
  historyArb,
  type SimulatedRequest,
  simulateEnvelope,
} from "../envelope/simulate-envelope.test-support.js";
import { formatAmount } from "../money/format-amount.js";
import { assertNarrowerOrEqual, isNarrowerOrEqual } from "./assert-narrower-or-equal.js";
import type { AuthorizationDetails } from "./authorization-details.js";
import type { Capability } from "./capability.js";
import {
  detailsArb,
  envelopeArb,
  minorOf,
  moneyArb,
  requestNearArb,
  variantArb,
  windowVariantArb,
} from "./grant-arbitraries.test-support.js";
import { matchesCapabilities } from "./match-capability.js";

const caps = (...capabilities: Capability[]): AuthorizationDetails => ({ capabilities });
const read = (resource: string): Capability => ({ type: "read", resource });
const anyRead = caps(read("*"));

function expectNarrower(candidate: AuthorizationDetails, granted: AuthorizationDetails): void {
  expect(isNarrowerOrEqual(candidate, granted)).toBe(true);
  expect(() => assertNarrowerOrEqual(candidate, granted)).not.toThrow();
}

function expectWidened(
  candidate: AuthorizationDetails,
  granted: AuthorizationDetails,
  path: string,
  reason: string,
): void {
  expect(isNarrowerOrEqual(candidate, granted)).toBe(false);
  expect(() => assertNarrowerOrEqual(candidate, granted)).toThrow(
    expect.objectContaining({
      code: "ERR_GRANT_WIDENED",
      message: `Grant widened at ${path}: ${reason}`,
      details: { path, reason },
    }),
  );
}

describe("capability narrowing", () => {
  it("allows keeping or dropping capabilities, not adding them", () => {
    const granted = caps(read("calendar/work"), read("mail/inbox"));
    expectNarrower(granted, granted);
    expectNarrower(caps(read("mail/inbox")), granted);
    expectWidened(
      caps(read("calendar/work"), read("contacts")),
      granted,
      "capabilities[1].resource",
      "no granted read capability includes contacts",
    );
  });

  it("never lets a capability change type", () => {
    expectWidened(
      caps({ type: "delete", resource: "calendar/work" }),
      caps(read("calendar/*")),
      "capabilities[0].resource",
      "no granted delete capability includes calendar/work",
    );
  });

  it.each([
    ["calendar/work", "calendar/work", true],
    ["calendar/work", "calendar/home", false],
    ["calendar/work", "calendar/*", true],
    ["calendar/work/x", "calendar/*", true],
    ["calendar", "calendar/*", false],
    ["calendarx/a", "calendar/*", false],
    ["calendar/work/*", "calendar/*", true],
    ["calendar/*", "calendar/*", true],
    ["calendar/*", "calendar/work/*", false],
    ["calendar/*", "calendar/work", false],
    ["calendar/*", "calendar", false],
    ["*", "calendar/*", false],
    ["*", "*", true],
    ["a/b/c/*", "*", true],
  ])("compares resources by segment: %s inside %s is %s", (candidate, granted, narrower) => {
    expect(isNarrowerOrEqual(caps(read(candidate)), caps(read(granted)))).toBe(narrower);
  });

  describe("write", () => {
    const granted = caps({ type: "write", resource: "notes/*", max_items: 10, append_only: true });

    it("may lower max_items and keep append_only", () => {
      expectNarrower(
        caps({ type: "write", resource: "notes/a", max_items: 3, append_only: true }),
        granted,
      );
      expectNarrower(
        caps({ type: "write", resource: "notes/*", append_only: true, max_items: 2 }),
        caps({ type: "write", resource: "*" }),
      );
    });

    it("may not raise or drop max_items", () => {
      expectWidened(
        caps({ type: "write", resource: "notes/a", max_items: 11, append_only: true }),
        granted,
        "capabilities[0].max_items",
        "11 is more than the granted 10",
      );
      expectWidened(
        caps({ type: "write", resource: "notes/a", append_only: true }),
        granted,
        "capabilities[0].max_items",
        "must be kept: the grant sets this limit",
      );
    });

    it("may not drop append_only", () => {
      for (const append_only of [false, undefined]) {
        expectWidened(
          caps({ type: "write", resource: "notes/a", max_items: 1, append_only }),
          granted,
          "capabilities[0].append_only",
          "must stay true: the grant is append-only",
        );
      }
    });

    it("explains with the first granted capability that nearly covers", () => {
      const two = caps(
        { type: "write", resource: "notes/*", max_items: 10 },
        { type: "write", resource: "notes/a", max_items: 20 },
      );
      expectNarrower(caps({ type: "write", resource: "notes/a", max_items: 15 }), two);
      expectWidened(
        caps({ type: "write", resource: "notes/a", max_items: 25 }),
        two,
        "capabilities[0].max_items",
        "25 is more than the granted 10",
      );
    });
  });

  describe("transact", () => {
    const granted = caps({
      type: "transact",
      resource: "merchant/*",
      max_amount: "50.00",
      currency: "EUR",
    });

    it("may lower max_amount in the same currency", () => {
      expectNarrower(
        caps({ type: "transact", resource: "merchant/acme", max_amount: "49.99", currency: "EUR" }),
        granted,
      );
      expectNarrower(granted, granted);
    });

    it("may not raise max_amount or change currency", () => {
      expectWidened(
        caps({ type: "transact", resource: "merchant/acme", max_amount: "50.01", currency: "EUR" }),
        granted,
        "capabilities[0].max_amount",
        "50.01 EUR is more than the granted 50.00 EUR",
      );
      expectWidened(
        caps({ type: "transact", resource: "merchant/acme", max_amount: "5000", currency: "JPY" }),
        granted,
        "capabilities[0].currency",
        "must be EUR, as granted",
      );
    });

    it("compares amounts as numbers, not strings", () => {
      const nine = caps({ type: "transact", resource: "m", max_amount: "9.00", currency: "EUR" });
      const ten = caps({ type: "transact", resource: "m", max_amount: "10.00", currency: "EUR" });
      expectNarrower(nine, ten);
      expect(isNarrowerOrEqual(ten, nine)).toBe(false);
    });
  });

  describe("custom", () => {
    const deploy: Capability = {
      type: "custom",
      resource: "services/*",
      namespace: "com.example",
      name: "deploy",
      params: { env: "prod", regions: ["eu"] },
    };

    it("must keep namespace, name and params (compared as JSON, not text)", () => {
      expectNarrower(
        caps({ ...deploy, resource: "services/api", params: { regions: ["eu"], env: "prod" } }),
        caps(deploy),
      );
      expectWidened(
        caps({ ...deploy, namespace: "com.other" }),
        caps(deploy),
        "capabilities[0].namespace",
        "must be com.example, as granted",
      );
      expectWidened(
        caps({ ...deploy, name: "destroy" }),
        caps(deploy),
        "capabilities[0].name",
        "must be deploy, as granted",
      );
      expectWidened(
        caps({ ...deploy, params: { env: "dev", regions: ["eu"] } }),
        caps(deploy),
        "capabilities[0].params",
        "must equal the granted params",
      );
      expectWidened(
        caps({ ...deploy, params: undefined }),
        caps(deploy),
        "capabilities[0].params",
        "must equal the granted params",
      );
    });
  });
});

describe("envelope narrowing", () => {
  const withEnvelope = (limits: Omit<Envelope, "type">): AuthorizationDetails => ({
    capabilities: [read("*")],
    envelope: { type: "envelope", ...limits },
  });

  it("lets a candidate add limits but never drop the envelope", () => {
    expectNarrower(withEnvelope({ max_token_lifetime_seconds: 60 }), anyRead);
    expectWidened(
      anyRead,
      withEnvelope({ max_token_lifetime_seconds: 60 }),
      "envelope",
      "must be kept: the grant sets this limit",
    );
    expectWidened(
      withEnvelope({ max_token_lifetime_seconds: 60 }),
      withEnvelope({
        max_token_lifetime_seconds: 60,
        rate_limit: { max_requests: 1, window_seconds: 1 },
      }),
      "envelope.rate_limit",
      "must be kept: the grant sets this limit",
    );
  });

  describe("rate_limit", () => {
    const granted = withEnvelope({
      rate_limit: { max_requests: 30, window_seconds: 60, burst: 5 },
    });
    const rate = (max_requests: number, window_seconds: number, burst?: number) =>
      withEnvelope({
        rate_limit: { max_requests, window_seconds, ...(burst === undefined ? {} : { burst }) },
      });

    it("accepts fewer requests over a whole multiple of the window", () => {
      expectNarrower(rate(30, 60, 5), granted);
      expectNarrower(rate(10, 60, 2), granted);
      expectNarrower(rate(30, 120, 5), granted);
      expectNarrower(rate(30, 3600, 5), granted);
      expectNarrower(rate(4, 60), granted); // without burst, at most 4 a second anyway
    });

    it("rejects a window that is not a whole multiple", () => {
      expectWidened(
        rate(10, 30, 5),
        granted,
        "envelope.rate_limit.window_seconds",
        "must be a whole multiple of the granted 60 seconds",
      );
      expectWidened(
        rate(10, 90, 5),
        granted,
        "envelope.rate_limit.window_seconds",
        "must be a whole multiple of the granted 60 seconds",
      );
    });

    it("rejects more requests or bigger bursts", () => {
      expectWidened(
        rate(31, 60, 5),
        granted,
        "envelope.rate_limit.max_requests",
        "31 is more than the granted 30",
      );
      expectWidened(
        rate(30, 60, 6),
        granted,
        "envelope.rate_limit.burst",
        "6 requests a second is more than the granted 5",
      );
      expectWidened(
        rate(30, 60),
        granted,
        "envelope.rate_limit.burst",
        "30 requests a second is more than the granted 5",
      );
    });

    it("treats a missing granted burst as no burst limit", () => {
      expectNarrower(rate(30, 60, 30), rate(30, 60));
    });
  });

  describe("time_windows", () => {
    const paris = (days: TimeWindow["days"], start: string, end: string): TimeWindow => ({
      days,
      start,
      end,
      time_zone: "Europe/Paris",
    });
    const windows = (...time_windows: TimeWindow[]) => withEnvelope({ time_windows });
    const weekdays = windows(paris(["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00"));

    it("accepts fewer days and shorter hours", () => {
      expectNarrower(weekdays, weekdays);
      expectNarrower(
        windows(paris(["mon"], "10:00", "12:00"), paris(["fri"], "09:00", "17:00")),
        weekdays,
      );
    });

    it("rejects extra days, hours or another time zone", () => {
      expectWidened(
        windows(paris(["sat"], "10:00", "12:00")),
        weekdays,
        "envelope.time_windows[0]",
        "includes Sat 10:00 (Europe/Paris), outside every granted window in that time zone",
      );
      expectWidened(
        windows(paris(["mon"], "10:00", "12:00"), paris(["tue"], "08:00", "10:00")),
        weekdays,
        "envelope.time_windows[1]",
        "includes Tue 08:00 (Europe/Paris), outside every granted window in that time zone",
      );
      expectWidened(
        windows(paris(["mon"], "16:00", "17:01")),
        weekdays,
        "envelope.time_windows[0]",
        "includes Mon 17:00 (Europe/Paris), outside every granted window in that time zone",
      );
      expectWidened(
        windows({ days: ["mon"], start: "10:00", end: "12:00", time_zone: "UTC" }),
        weekdays,
        "envelope.time_windows[0]",
        "includes Mon 10:00 (UTC), outside every granted window in that time zone",
      );
      expectWidened(
        withEnvelope({ max_token_lifetime_seconds: 60 }),
        weekdays,
        "envelope.time_windows",
        "must be kept: the grant sets this limit",
      );
    });

    it("handles windows that wrap past midnight, and Sunday into Monday", () => {
      const fridayNight = windows(paris(["fri"], "22:00", "06:00"));
      expectNarrower(windows(paris(["sat"], "00:00", "05:00")), fridayNight);
      expectNarrower(windows(paris(["fri"], "23:00", "02:00")), fridayNight);
      expectWidened(
        windows(paris(["sat"], "05:00", "07:00")),
        fridayNight,
        "envelope.time_windows[0]",
        "includes Sat 06:00 (Europe/Paris), outside every granted window in that time zone",
      );
      expectWidened(
        windows(paris(["sat"], "22:00", "06:00")),
        fridayNight,
        "envelope.time_windows[0]",
        "includes Sat 22:00 (Europe/Paris), outside every granted window in that time zone",
      );
      expectNarrower(
        windows(paris(["mon"], "00:00", "01:00")),
        windows(paris(["sun"], "22:00", "02:00")),
      );
    });

    it("accepts a window covered by the union of granted windows", () => {
      const split = windows(paris(["mon"], "09:00", "12:00"), paris(["mon"], "12:00", "17:00"));
      expectNarrower(windows(paris(["mon"], "10:00", "14:00")), split);
    });
  });

  describe("money limits", () => {
    it.each(["max_transaction_amount", "step_up_above"] as const)(
      "%s may only go down, in the same currency",
      (limit) => {
        const granted = withEnvelope({ [limit]: { amount: "50.00", currency: "EUR" } });
        expectNarrower(withEnvelope({ [limit]: { amount: "10.00", currency: "EUR" } }), granted);
        expectWidened(
          withEnvelope({ [limit]: { amount: "50.01", currency: "EUR" } }),
          granted,
          `envelope.${limit}.amount`,
          "50.01 EUR is more than the granted 50.00 EUR",
        );
        expectWidened(
          withEnvelope({ [limit]: { amount: "10.00", currency: "USD" } }),
          granted,
          `envelope.${limit}.currency`,
          "must be EUR, as granted",
        );
        expectWidened(
          withEnvelope({ max_token_lifetime_seconds: 60 }),
          granted,
          `envelope.${limit}`,
          "must be kept: the grant sets this limit",
        );
      },
    );

    const daily = withEnvelope({
      spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }],
    });
    const spendCaps = (...caps: [string, string, number][]) =>
      withEnvelope({
        spend_caps: caps.map(([amount, currency, window_seconds]) => ({
          amount,
          currency,
          window_seconds,
        })),
      });
    const lostDaily =
      "must keep granted spend_caps[0]: at most 200.00 EUR per 86400 seconds (or per a whole multiple of that window)";

    it("spend caps: keeps each granted cap, with a lower amount or a longer (multiple) window", () => {
      expectNarrower(spendCaps(["100.00", "EUR", 86400]), daily);
      expectNarrower(spendCaps(["200.00", "EUR", 604800]), daily);
      expectNarrower(spendCaps(["50.00", "EUR", 3600], ["200.00", "EUR", 86400]), daily);
    });

    it("spend caps: rejects higher, shorter, other-currency or dropped caps", () => {
      expectWidened(spendCaps(["200.01", "EUR", 86400]), daily, "envelope.spend_caps", lostDaily);
      expectWidened(spendCaps(["200.00", "EUR", 3600]), daily, "envelope.spend_caps", lostDaily);
      expectWidened(spendCaps(["200.00", "EUR", 90000]), daily, "envelope.spend_caps", lostDaily);
      expectWidened(spendCaps(["200.00", "USD", 86400]), daily, "envelope.spend_caps", lostDaily);
      expectWidened(
        withEnvelope({ max_token_lifetime_seconds: 60 }),
        daily,
        "envelope.spend_caps",
        "must be kept: the grant sets this limit",
      );
    });

    it("never opens a currency the granted money limits do not mention", () => {
      const euroOnly = withEnvelope({
        max_transaction_amount: { amount: "50.00", currency: "EUR" },
      });
      expectWidened(
        withEnvelope({
          max_transaction_amount: { amount: "50.00", currency: "EUR" },
          spend_caps: [{ amount: "100.00", currency: "USD", window_seconds: 86400 }],
        }),
        euroOnly,
        "envelope.spend_caps[0].currency",
        "USD payments are not allowed by the grant",
      );
      expectWidened(
        withEnvelope({
          max_transaction_amount: { amount: "50.00", currency: "EUR" },
          step_up_above: { amount: "10", currency: "JPY" },
        }),
        euroOnly,
        "envelope.step_up_above.currency",
        "JPY payments are not allowed by the grant",
      );
      const noMoney = withEnvelope({ max_token_lifetime_seconds: 60 });
      const addsUsd = withEnvelope({
        max_token_lifetime_seconds: 60,
        spend_caps: [{ amount: "100.00", currency: "USD", window_seconds: 86400 }],
      });
      expectNarrower(addsUsd, noMoney);
    });
  });

  it("max_token_lifetime_seconds may only go down", () => {
    const granted = withEnvelope({ max_token_lifetime_seconds: 300 });
    expectNarrower(withEnvelope({ max_token_lifetime_seconds: 60 }), granted);
    expectWidened(
      withEnvelope({ max_token_lifetime_seconds: 600 }),
      granted,
      "envelope.max_token_lifetime_seconds",
      "600 is more than the granted 300",
    );
  });
});

describe("narrowing properties", () => {
  const pairArb = detailsArb.chain((granted) =>
    variantArb(granted).map((candidate) => ({ granted, candidate })),
  );

  it("is reflexive", () => {
    fc.assert(fc.property(detailsArb, (details) => isNarrowerOrEqual(details, details)));
  });

  it("is transitive", () => {
    let chains = 0;
    const chainArb = detailsArb.chain((c) =>
      variantArb(c).chain((b) => variantArb(b).map((a) => ({ a, b, c }))),
    );
    fc.assert(
      fc.property(chainArb, ({ a, b, c }) => {
        if (!isNarrowerOrEqual(a, b) || !isNarrowerOrEqual(b, c)) return;
        chains++;
        expect(isNarrowerOrEqual(a, c)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(chains).toBeGreaterThan(20);
  });

  it("never lets a request through that the granted capabilities refuse", () => {
    let checked = 0;
    const casesArb = pairArb.chain(({ granted, candidate }) =>
      fc
        .array(requestNearArb(candidate.capabilities), { maxLength: 20 })
        .map((requests) => ({ granted, candidate, requests })),
    );
    fc.assert(
      fc.property(casesArb, ({ granted, candidate, requests }) => {
        if (!isNarrowerOrEqual(candidate, granted)) return;
        for (const request of requests) {
          if (!matchesCapabilities(candidate.capabilities, request)) continue;
          checked++;
          expect(matchesCapabilities(granted.capabilities, request)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
    expect(checked).toBeGreaterThan(150);
  });

  const instantArb = fc.date({
    min: new Date("2026-01-01T00:00:00Z"),
    max: new Date("2026-12-31T23:59:59Z"),
    noInvalidDate: true,
  });
  const envelopePairArb = envelopeArb.chain((granted) =>
    variantArb({ capabilities: [read("*")], envelope: granted })
      .map((variant) => ({ granted, candidate: variant.envelope }))
      .filter(
        (pair): pair is { granted: Envelope; candidate: Envelope } => pair.candidate !== undefined,
      ),
  );

  // Replays the history the candidate allows against the granted envelope: all of it must pass.
  function expectHistoryAllowed(
    candidate: Envelope,
    granted: Envelope,
    history: SimulatedRequest[],
  ): number {
    const allowedByCandidate = simulateEnvelope(candidate, history)
      .filter(({ decision }) => decision.outcome === "allow")
      .map(({ request }) => request);
    for (const { decision } of simulateEnvelope(granted, allowedByCandidate)) {
      expect(decision).toMatchObject({ outcome: "allow" });
    }
    return allowedByCandidate.length;
  }

  it("never lets a history through that the granted envelope refuses", () => {
    let allowed = 0;
    fc.assert(
      fc.property(envelopePairArb, historyArb(40), ({ granted, candidate }, history) => {
        if (!isNarrowerOrEqual(withCapability(candidate), withCapability(granted))) return;
        allowed += expectHistoryAllowed(candidate, granted, history);
      }),
      { numRuns: 500 },
    );
    expect(allowed).toBeGreaterThan(100);
  });

  // Focused versions: one kind of limit, candidates close to the granted one, so that near
  // misses (a longer window that is not a whole multiple, the same hours in another zone) come
  // up often.
  it("never lets a history through that a granted rate limit refuses", () => {
    let allowed = 0;
    const rate = (
      max_requests: number,
      window_seconds: number,
      burst: number | undefined,
    ): Envelope => ({
      type: "envelope",
      rate_limit: { max_requests, window_seconds, ...(burst === undefined ? {} : { burst }) },
    });
    // Candidates: the granted limit with max_requests, window and burst nudged.
    const pairArb = fc
      .tuple(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 8 }),
        fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      )
      .filter(([max, , burst]) => (burst ?? 0) <= max)
      .chain(([max, window, burst]) =>
        fc
          .tuple(
            fc.integer({ min: Math.max(1, max - 1), max: max + 1 }),
            windowVariantArb(window),
            fc.constantFrom(burst, undefined, 1, (burst ?? max) + 1),
          )
          .filter(([candidateMax, , candidateBurst]) => (candidateBurst ?? 0) <= candidateMax)
          .map(([candidateMax, candidateWindow, candidateBurst]) => ({
            granted: rate(max, window, burst),
            candidate: rate(candidateMax, candidateWindow, candidateBurst),
          })),
      );
    fc.assert(
      fc.property(pairArb, historyArb(30), ({ candidate, granted }, history) => {
        if (!isNarrowerOrEqual(withCapability(candidate), withCapability(granted))) return;
        allowed += expectHistoryAllowed(candidate, granted, history);
      }),
      { numRuns: 1000 },
    );
    expect(allowed).toBeGreaterThan(200);
  });

  it("never lets a history through that granted spend caps refuse", () => {
    let allowed = 0;
    const capArb = fc
      .tuple(moneyArb(12), fc.integer({ min: 1, max: 8 }))
      .map(([money, window_seconds]) => ({ ...money, window_seconds }));
    // Candidates: the granted caps with amounts and windows nudged, sometimes plus another cap.
    const pairArb = fc
      .uniqueArray(capArb, {
        minLength: 1,
        maxLength: 2,
        selector: (cap) => `${cap.currency}:${cap.window_seconds}`,
      })
      .chain((caps) =>
        fc
          .tuple(
            fc.tuple(
              ...caps.map((cap) =>
                fc
                  .tuple(fc.integer({ min: -3, max: 1 }), windowVariantArb(cap.window_seconds))
                  .map(([delta, window_seconds]) => ({
                    amount: formatAmount(Math.max(0, minorOf(cap) + delta), cap.currency),
                    currency: cap.currency,
                    window_seconds,
                  })),
              ),
            ),
            fc.option(capArb, { nil: undefined }),
          )
          .map(([nudged, extra]) => ({
            granted: { type: "envelope", spend_caps: caps } as Envelope,
            candidate: {
              type: "envelope",
              spend_caps: extra === undefined ? nudged : [...nudged, extra],
            } as Envelope,
          })),
      )
      .filter(({ candidate }) => isValidEnvelope(candidate));
    fc.assert(
      fc.property(pairArb, historyArb(30, "always"), ({ candidate, granted }, history) => {
        if (!isNarrowerOrEqual(withCapability(candidate), withCapability(granted))) return;
        allowed += expectHistoryAllowed(candidate, granted, history);
      }),
      { numRuns: 2000 },
    );
    expect(allowed).toBeGreaterThan(200);
  });

  it("never allows a moment that granted time windows refuse", () => {
    let allowed = 0;
    const ZONES = ["UTC", "Europe/Paris", "America/New_York"];
    const clock = (hours: number) => `${String((hours + 24) % 24).padStart(2, "0")}:00`;
    const windowArb = fc.record(
      {
        days: fc.subarray([...WEEKDAYS], { minLength: 1 }),
        start: fc.integer({ min: 0, max: 23 }),
        length: fc.integer({ min: 1, max: 23 }),
        time_zone: fc.constantFrom(...ZONES),
      },
      { noNullPrototype: true },
    );
    // Candidates: each granted window with fewer days, hours moved by one, or another zone.
    const pairArb = fc.array(windowArb, { minLength: 1, maxLength: 2 }).chain((granted) =>
      fc
        .tuple(
          ...granted.map((window) =>
            fc.record({
              days: fc.subarray(window.days, { minLength: 1 }),
              start: fc.integer({ min: window.start - 1, max: window.start + 1 }),
              length: fc.integer({ min: window.length - 2, max: window.length + 1 }),
              time_zone: fc.constantFrom(window.time_zone, ...ZONES),
            }),
          ),
        )
        .filter((candidate) => candidate.every((window) => window.length % 24 !== 0))
        .map((candidate) => ({ granted: toWindows(granted), candidate: toWindows(candidate) })),
    );
    function toWindows(
      windows: { days: TimeWindow["days"]; start: number; length: number; time_zone: string }[],
    ): Envelope {
      return {
        type: "envelope",
        time_windows: windows.map(({ days, start, length, time_zone }) => ({
          days,
          start: clock(start),
          end: clock(start + length),
          time_zone,
        })),
      };
    }
    const zero = { requestsInWindow: 0, requestsInBurstWindow: 0, spent: {} };
    fc.assert(
      fc.property(
        pairArb,
        fc.array(instantArb, { maxLength: 20 }),
        ({ candidate, granted }, instants) => {
          if (!isNarrowerOrEqual(withCapability(candidate), withCapability(granted))) return;
          for (const now of instants) {
            if (evaluateEnvelope(candidate, {}, zero, now).outcome !== "allow") continue;
            allowed++;
            expect(evaluateEnvelope(granted, {}, zero, now)).toMatchObject({ outcome: "allow" });
          }
        },
      ),
      { numRuns: 3000 },
    );
    expect(allowed).toBeGreaterThan(100);
  });
});

function isValidEnvelope(envelope: Envelope): boolean {
  try {
    parseEnvelope(envelope);
    return true;
  } catch {
    return false;
  }
}

function withCapability(envelope: Envelope): AuthorizationDetails {
  return { capabilities: [read("*")], envelope };
}
