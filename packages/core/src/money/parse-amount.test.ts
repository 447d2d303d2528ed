import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AgentAuthError } from "../errors.js";
import { getCurrencyMinorUnits } from "./currencies.js";
import { formatAmount } from "./format-amount.js";
import { parseAmount, tryParseAmount } from "./parse-amount.js";

describe("getCurrencyMinorUnits", () => {
  it("knows ISO 4217 minor units, not CLDR's", () => {
    expect(getCurrencyMinorUnits("EUR")).toBe(2);
    expect(getCurrencyMinorUnits("JPY")).toBe(0);
    expect(getCurrencyMinorUnits("BHD")).toBe(3);
    expect(getCurrencyMinorUnits("CLF")).toBe(4);
    expect(getCurrencyMinorUnits("HUF")).toBe(2);
    expect(getCurrencyMinorUnits("XCG")).toBe(2);
  });

  it("rejects withdrawn, metal, lower-case and made-up codes", () => {
    for (const code of ["HRK", "BGN", "XAU", "XXX", "eur", "EURO", "", "__proto__", "toString"]) {
      expect(getCurrencyMinorUnits(code), code).toBeUndefined();
    }
  });
});

describe("tryParseAmount", () => {
  it("converts to integer minor units", () => {
    expect(tryParseAmount("50.00", "EUR")).toEqual({ ok: true, minor: 5000 });
    expect(tryParseAmount("0.01", "EUR")).toEqual({ ok: true, minor: 1 });
    expect(tryParseAmount("0.00", "EUR")).toEqual({ ok: true, minor: 0 });
    expect(tryParseAmount("500", "JPY")).toEqual({ ok: true, minor: 500 });
    expect(tryParseAmount("1.250", "BHD")).toEqual({ ok: true, minor: 1250 });
    expect(tryParseAmount("90071992547409.91", "EUR")).toEqual({
      ok: true,
      minor: Number.MAX_SAFE_INTEGER,
    });
  });

  it("requires exactly the currency's decimal places", () => {
    expect(tryParseAmount("50", "EUR")).toEqual({
      ok: false,
      problem: "must have exactly 2 decimal places for EUR",
    });
    expect(tryParseAmount("50.0", "EUR")).toEqual({
      ok: false,
      problem: "must have exactly 2 decimal places for EUR",
    });
    expect(tryParseAmount("50.001", "EUR")).toEqual({
      ok: false,
      problem: "must have exactly 2 decimal places for EUR",
    });
    expect(tryParseAmount("500.00", "JPY")).toEqual({
      ok: false,
      problem: "must have no decimal places for JPY",
    });
    expect(tryParseAmount("1.25", "BHD")).toEqual({
      ok: false,
      problem: "must have exactly 3 decimal places for BHD",
    });
  });

  it("rejects every other spelling of a number", () => {
    for (const text of [
      "-1.00",
      "+1.00",
      "1e3",
      "1E3",
      "01.00",
      " 1.00",
      "1.00 ",
      "1,00",
      ".50",
      "1.",
      "0x10",
      "",
      "Infinity",
      "NaN",
      "١.٠٠",
    ]) {
      expect(tryParseAmount(text, "EUR"), text).toEqual({
        ok: false,
        problem: 'must be a decimal string like "50.00" (no sign, exponent or leading zeros)',
      });
    }
  });

  it("rejects amounts above Number.MAX_SAFE_INTEGER minor units and very long strings", () => {
    expect(tryParseAmount("90071992547409.92", "EUR")).toEqual({
      ok: false,
      problem: "is too large",
    });
    expect(tryParseAmount("99999999999999999999.99", "EUR")).toEqual({
      ok: false,
      problem: "is too large",
    });
    expect(tryParseAmount(`${"9".repeat(1000)}.00`, "EUR").ok).toBe(false);
  });

  it("rejects unknown currencies and non-strings without throwing", () => {
    expect(tryParseAmount("50.00", "EURO")).toEqual({
      ok: false,
      problem: "the currency is not an active ISO 4217 code",
    });
    expect(tryParseAmount(50 as unknown as string, "EUR").ok).toBe(false);
    expect(tryParseAmount("50.00", null as unknown as string).ok).toBe(false);
  });

  it("inverts formatAmount for every safe amount", () => {
    const currency = fc.constantFrom("EUR", "JPY", "BHD", "CLF");
    fc.assert(
      fc.property(fc.maxSafeNat(), currency, (minor, code) => {
        expect(tryParseAmount(formatAmount(minor, code), code)).toEqual({ ok: true, minor });
      }),
    );
  });
});

describe("parseAmount", () => {
  it("returns minor units", () => {
    expect(parseAmount("1.250", "BHD", { errorCode: "ERR_ENVELOPE_INVALID" })).toBe(1250);
  });

  it("throws the caller's code, naming the path", () => {
    let error: unknown;
    try {
      parseAmount("50.001", "EUR", { errorCode: "ERR_CAPABILITY_INVALID", path: "max_amount" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AgentAuthError);
    expect(error).toMatchObject({
      code: "ERR_CAPABILITY_INVALID",
      message: "max_amount: must have exactly 2 decimal places for EUR",
      details: {
        issues: [{ path: "max_amount", message: "must have exactly 2 decimal places for EUR" }],
      },
    });
  });
});
