import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "./retry-after.js";

const now = new Date("2026-11-22T10:00:00Z");

describe("parseRetryAfter", () => {
  it("reads delay-seconds", () => {
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
  });

  it("reads HTTP-dates relative to now; a past date is 0", () => {
    expect(parseRetryAfter("Sun, 22 Nov 2026 10:00:30 GMT", now)).toBe(30);
    expect(parseRetryAfter("Sunday, 22-Nov-26 10:01:00 GMT", now)).toBe(60);
    expect(parseRetryAfter("Sun Nov 22 10:00:05 2026", now)).toBe(5);
    expect(parseRetryAfter("Sun, 22 Nov 2026 09:00:00 GMT", now)).toBe(0);
  });

  it("refuses anything else", () => {
    for (const value of ["", "-1", "1.5", "soon", "2026-11-22T10:00:30Z", "1e3", undefined, null]) {
      expect(parseRetryAfter(value, now), String(value)).toBeUndefined();
    }
  });

  it("answers a non-negative whole number or undefined for any input (property)", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const seconds = parseRetryAfter(value, now);
        if (seconds !== undefined) {
          expect(Number.isInteger(seconds)).toBe(true);
          expect(seconds).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });
});
