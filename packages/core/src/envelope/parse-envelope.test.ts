import { describe, expect, it } from "vitest";
import { parseEnvelope } from "./parse-envelope.js";

const full = {
  type: "envelope",
  rate_limit: { max_requests: 30, window_seconds: 60, burst: 5 },
  time_windows: [
    {
      days: ["mon", "tue", "wed", "thu", "fri"],
      start: "09:00",
      end: "17:00",
      time_zone: "Europe/Paris",
    },
    { days: ["fri"], start: "22:00", end: "06:00", time_zone: "America/New_York" },
  ],
  max_transaction_amount: { amount: "50.00", currency: "EUR" },
  spend_caps: [
    { amount: "200.00", currency: "EUR", window_seconds: 86400 },
    { amount: "500.00", currency: "EUR", window_seconds: 604800 },
    { amount: "20000", currency: "JPY", window_seconds: 86400 },
  ],
  step_up_above: { amount: "100.00", currency: "EUR" },
  max_token_lifetime_seconds: 600,
};

function expectInvalid(value: unknown, path: string, message: string): void {
  expect(() => parseEnvelope(value)).toThrow(
    expect.objectContaining({
      code: "ERR_ENVELOPE_INVALID",
      message: `${path}: ${message}`,
      details: { issues: [{ path, message }] },
    }),
  );
}

describe("parseEnvelope", () => {
  it("accepts every limit", () => {
    expect(parseEnvelope(full)).toStrictEqual(full);
    expect(parseEnvelope({ type: "envelope", max_token_lifetime_seconds: 900 })).toStrictEqual({
      type: "envelope",
      max_token_lifetime_seconds: 900,
    });
    const utc = { days: ["sun"], start: "00:00", end: "23:59", time_zone: "UTC" };
    expect(parseEnvelope({ type: "envelope", time_windows: [utc] }).time_windows).toStrictEqual([
      utc,
    ]);
  });

  it.each([
    ["not an object", [], "envelope", "must be an object"],
    ["no limit", { type: "envelope" }, "envelope", "must set at least one limit"],
    ["a wrong type", { ...full, type: "capability" }, "envelope.type", 'must be "envelope"'],
    [
      "an unknown limit",
      { ...full, max_requests: 5 },
      "envelope.max_requests",
      "is not an allowed member",
    ],
  ])("rejects %s", (_, value, path, message) => {
    expectInvalid(value, path, message);
  });

  it.each([
    [{ max_requests: 0, window_seconds: 60 }, "max_requests", "must be at least 1"],
    [{ max_requests: 1.5, window_seconds: 60 }, "max_requests", "must be an integer"],
    [{ max_requests: 10 }, "window_seconds", "is required"],
    [{ max_requests: 10, window_seconds: 0 }, "window_seconds", "must be at least 1"],
    [{ max_requests: 10, window_seconds: 60, burst: 0 }, "burst", "must be at least 1"],
    [
      { max_requests: 10, window_seconds: 60, burst: 11 },
      "burst",
      "must be at most max_requests (10)",
    ],
    [{ max_requests: 10, window_seconds: 60, per: "ip" }, "per", "is not an allowed member"],
  ])("rejects rate_limit %o", (rate_limit, member, message) => {
    expectInvalid({ type: "envelope", rate_limit }, `envelope.rate_limit.${member}`, message);
  });

  const window = { days: ["mon"], start: "09:00", end: "17:00", time_zone: "Europe/Paris" };
  it.each([
    ["days", "must not be empty", { days: [] }],
    ["days", "repeats mon", { days: ["mon", "tue", "mon"] }],
    ["days[0]", "must be one of mon, tue, wed, thu, fri, sat, sun", { days: ["monday"] }],
    ["days[0]", "must be one of mon, tue, wed, thu, fri, sat, sun", { days: ["Mon"] }],
    ["days", "is required", { days: undefined }],
    ["start", 'must be a time "HH:MM" from 00:00 to 23:59', { start: "24:00" }],
    ["start", 'must be a time "HH:MM" from 00:00 to 23:59', { start: "9:00" }],
    ["end", 'must be a time "HH:MM" from 00:00 to 23:59', { end: "09:60" }],
    ["end", 'must be a time "HH:MM" from 00:00 to 23:59', { end: "17:00:00" }],
    ["end", "must differ from start", { end: "09:00" }],
    [
      "time_zone",
      'must be an IANA time zone name known to this runtime, such as "Europe/Paris"',
      { time_zone: "Mars/Olympus_Mons" },
    ],
    [
      "time_zone",
      'must be an IANA time zone name known to this runtime, such as "Europe/Paris"',
      { time_zone: "+01:00" },
    ],
    [
      "time_zone",
      'must be an IANA time zone name known to this runtime, such as "Europe/Paris"',
      { time_zone: "" },
    ],
    ["time_zone", "is required", { time_zone: undefined }],
  ])("rejects time_windows[0].%s: %s", (member, message, change) => {
    expectInvalid(
      { type: "envelope", time_windows: [{ ...window, ...change }] },
      `envelope.time_windows[0].${member}`,
      message,
    );
  });

  it("rejects empty or oversized time_windows", () => {
    expectInvalid(
      { type: "envelope", time_windows: [] },
      "envelope.time_windows",
      "must not be empty",
    );
    expectInvalid(
      { type: "envelope", time_windows: Array.from({ length: 33 }, () => window) },
      "envelope.time_windows",
      "must have at most 32 entries",
    );
  });

  it.each([
    [
      "max_transaction_amount",
      "amount",
      { amount: "50", currency: "EUR" },
      "must have exactly 2 decimal places for EUR",
    ],
    [
      "max_transaction_amount",
      "currency",
      { amount: "50.00", currency: "XXX" },
      "must be an active ISO 4217 currency code such as EUR",
    ],
    ["max_transaction_amount", "amount", { currency: "EUR" }, "is required"],
    [
      "step_up_above",
      "amount",
      { amount: "100.5", currency: "JPY" },
      "must have no decimal places for JPY",
    ],
    [
      "step_up_above",
      "note",
      { amount: "100", currency: "JPY", note: "x" },
      "is not an allowed member",
    ],
  ])("rejects %s.%s", (limit, member, money, message) => {
    expectInvalid({ type: "envelope", [limit]: money }, `envelope.${limit}.${member}`, message);
  });

  it("rejects malformed or repeated spend caps", () => {
    const cap = { amount: "200.00", currency: "EUR", window_seconds: 86400 };
    expectInvalid({ type: "envelope", spend_caps: [] }, "envelope.spend_caps", "must not be empty");
    expectInvalid(
      { type: "envelope", spend_caps: [{ ...cap, window_seconds: 0 }] },
      "envelope.spend_caps[0].window_seconds",
      "must be at least 1",
    );
    expectInvalid(
      { type: "envelope", spend_caps: [{ ...cap, amount: "200.0" }] },
      "envelope.spend_caps[0].amount",
      "must have exactly 2 decimal places for EUR",
    );
    expectInvalid(
      {
        type: "envelope",
        spend_caps: [cap, { ...cap, currency: "USD" }, { ...cap, amount: "100.00" }],
      },
      "envelope.spend_caps[2]",
      "repeats the EUR cap per 86400 seconds of spend_caps[0]",
    );
  });

  it("bounds max_token_lifetime_seconds to 1..900", () => {
    expectInvalid(
      { type: "envelope", max_token_lifetime_seconds: 901 },
      "envelope.max_token_lifetime_seconds",
      "must be at most 900",
    );
    expectInvalid(
      { type: "envelope", max_token_lifetime_seconds: 0 },
      "envelope.max_token_lifetime_seconds",
      "must be at least 1",
    );
  });
});
