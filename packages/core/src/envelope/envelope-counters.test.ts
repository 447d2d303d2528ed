import { describe, expect, it } from "vitest";
import { currentWindowStart, spendCounterKey } from "./envelope-counters.js";

describe("spendCounterKey", () => {
  it("joins currency and window", () => {
    expect(spendCounterKey("EUR", 86400)).toBe("EUR:86400");
  });
});

describe("currentWindowStart", () => {
  const now = new Date("2026-03-02T10:00:45.500Z");
  const seconds = (iso: string) => Date.parse(iso) / 1000;

  it("aligns fixed windows to the Unix epoch", () => {
    expect(currentWindowStart(1, now)).toBe(seconds("2026-03-02T10:00:45Z"));
    expect(currentWindowStart(60, now)).toBe(seconds("2026-03-02T10:00:00Z"));
    expect(currentWindowStart(3600, now)).toBe(seconds("2026-03-02T10:00:00Z"));
    expect(currentWindowStart(86400, now)).toBe(seconds("2026-03-02T00:00:00Z"));
    // 2026-02-26 is a Thursday, like 1970-01-01: weekly windows start on Thursdays.
    expect(currentWindowStart(604800, now)).toBe(seconds("2026-02-26T00:00:00Z"));
    expect(currentWindowStart(60, new Date("1969-12-31T23:59:59.500Z"))).toBe(-60);
  });

  it("throws TypeError for bad arguments", () => {
    expect(() => currentWindowStart(0, now)).toThrow(TypeError);
    expect(() => currentWindowStart(1.5, now)).toThrow(TypeError);
    expect(() => currentWindowStart(60, new Date(Number.NaN))).toThrow(TypeError);
    expect(() => currentWindowStart(60, "2026-03-02" as unknown as Date)).toThrow(TypeError);
  });
});
