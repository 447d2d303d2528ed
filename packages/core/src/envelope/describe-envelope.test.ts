import { describe, expect, it } from "vitest";
import { describeEnvelope } from "./describe-envelope.js";

describe("describeEnvelope", () => {
  it("describes every limit in plain English, one line each", () => {
    expect(
      describeEnvelope({
        type: "envelope",
        rate_limit: { max_requests: 30, window_seconds: 60, burst: 5 },
        time_windows: [
          {
            days: ["fri", "mon", "tue", "wed", "thu"],
            start: "09:00",
            end: "17:00",
            time_zone: "Europe/Paris",
          },
          { days: ["fri"], start: "22:00", end: "06:00", time_zone: "Europe/Paris" },
        ],
        max_transaction_amount: { amount: "50.00", currency: "EUR" },
        spend_caps: [
          { amount: "200.00", currency: "EUR", window_seconds: 86400 },
          { amount: "20000", currency: "JPY", window_seconds: 604800 },
        ],
        step_up_above: { amount: "100.00", currency: "EUR" },
        max_token_lifetime_seconds: 600,
      }),
    ).toEqual([
      "At most 30 requests a minute (bursts of up to 5 a second)",
      "Weekdays 09:00–17:00 (Europe/Paris)",
      "Fri 22:00–06:00 the next day (Europe/Paris)",
      "At most 50.00 EUR per payment",
      "At most 200.00 EUR per day",
      "At most 20000 JPY per week",
      "Payments above 100.00 EUR need your approval again",
      "Tokens last at most 10 minutes",
    ]);
  });

  it.each([
    [1, "At most 1 request a second"],
    [3600, "At most 1 request an hour"],
    [86400, "At most 1 request a day"],
    [604800, "At most 1 request a week"],
    [90, "At most 1 request per 90 seconds"],
    [7200, "At most 1 request per 2 hours"],
  ])("humanises a %i-second rate window", (window_seconds, line) => {
    expect(
      describeEnvelope({ type: "envelope", rate_limit: { max_requests: 1, window_seconds } }),
    ).toEqual([line]);
  });

  it.each([
    [60, "per minute"],
    [3600, "per hour"],
    [90, "per 90 seconds"],
    [172800, "per 2 days"],
  ])("humanises a %i-second spend window", (window_seconds, words) => {
    const spend_caps = [{ amount: "5.00", currency: "EUR", window_seconds }];
    expect(describeEnvelope({ type: "envelope", spend_caps })).toEqual([
      `At most 5.00 EUR ${words}`,
    ]);
  });

  it.each([
    [["sat", "sun"], "Weekends"],
    [["sun", "sat", "fri", "thu", "wed", "tue", "mon"], "Every day"],
    [["wed", "mon"], "Mon, Wed"],
    [["mon", "tue", "wed", "thu"], "Mon, Tue, Wed, Thu"],
  ] as const)("names days %j as %s", (days, words) => {
    const time_windows = [{ days: [...days], start: "08:00", end: "12:30", time_zone: "UTC" }];
    expect(describeEnvelope({ type: "envelope", time_windows })).toEqual([
      `${words} 08:00–12:30 (UTC)`,
    ]);
  });

  it.each([
    [60, "Tokens last at most 1 minute"],
    [90, "Tokens last at most 90 seconds"],
    [900, "Tokens last at most 15 minutes"],
  ])("describes a %i-second token lifetime", (max_token_lifetime_seconds, line) => {
    expect(describeEnvelope({ type: "envelope", max_token_lifetime_seconds })).toEqual([line]);
  });
});
