import { describe, expect, it } from "vitest";
import { formatAmount } from "./format-amount.js";

describe("formatAmount", () => {
  it("writes exactly the currency's minor-unit digits", () => {
    expect(formatAmount(5000, "EUR")).toBe("50.00");
    expect(formatAmount(5, "EUR")).toBe("0.05");
    expect(formatAmount(0, "EUR")).toBe("0.00");
    expect(formatAmount(500, "JPY")).toBe("500");
    expect(formatAmount(1250, "BHD")).toBe("1.250");
    expect(formatAmount(1, "CLF")).toBe("0.0001");
    expect(formatAmount(Number.MAX_SAFE_INTEGER, "EUR")).toBe("90071992547409.91");
  });

  it("throws TypeError for amounts and currencies it cannot write", () => {
    expect(() => formatAmount(-1, "EUR")).toThrow(TypeError);
    expect(() => formatAmount(1.5, "EUR")).toThrow(TypeError);
    expect(() => formatAmount(2 ** 53, "EUR")).toThrow(TypeError);
    expect(() => formatAmount(100, "XYZ")).toThrow(TypeError);
  });
});
