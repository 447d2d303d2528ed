import { describe, expect, it } from "vitest";
import { summarizeLatencies } from "./latency.js";

describe("summarizeLatencies", () => {
  it("takes nearest-rank percentiles of the samples, in any order", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1
    expect(summarizeLatencies(samples)).toEqual({
      p50: 50,
      p90: 90,
      p99: 99,
      max: 100,
      mean: 50.5,
      count: 100,
    });
  });

  it("gives the only sample for every percentile, and NaN when there is none", () => {
    expect(summarizeLatencies([7])).toMatchObject({ p50: 7, p99: 7, max: 7, count: 1 });
    const none = summarizeLatencies([]);
    expect(none.count).toBe(0);
    expect(none.p99).toBeNaN();
  });
});
