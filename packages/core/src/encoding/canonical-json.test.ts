import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isAgentAuthError } from "../errors.js";
import { canonicalizeJson } from "./canonical-json.js";

describe("canonicalizeJson (RFC 8785)", () => {
  it("serialises the RFC 8785 §3.2.2 example", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(canonicalizeJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts members by UTF-16 code units (RFC 8785 §3.2.3)", () => {
    const input = {
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis",
    };
    // Object.keys would put "1" first (integer-like keys), so read the order off the text.
    const values = [...canonicalizeJson(input).matchAll(/:"([^"]*)"/g)].map((match) => match[1]);
    expect(values).toEqual([
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
    ]);
  });

  it.each([
    [-0, "0"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [9007199254740992, "9007199254740992"],
    [295147905179352830000, "295147905179352830000"],
    [1e23, "1e+23"],
    [0.000001, "0.000001"],
    [1e-7, "1e-7"],
  ])("formats the number %s as %s (RFC 8785 Appendix B)", (value, expected) => {
    expect(canonicalizeJson(value)).toBe(expected);
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a lone high surrogate", { a: "\ud800" }],
    ["a lone low surrogate key", { "\udc00": 1 }],
    ["a bigint", 1n],
    ["a Date", new Date(0)],
    ["a function", () => 1],
  ])("rejects %s", (_name, value) => {
    expect(() => canonicalizeJson(value)).toThrow(
      expect.objectContaining({ code: "ERR_JSON_NOT_CANONICALIZABLE" }),
    );
  });

  it("names the path of the offending value", () => {
    try {
      canonicalizeJson({ a: [1, { b: Number.NaN }] });
      expect.unreachable();
    } catch (error) {
      expect(isAgentAuthError(error, "ERR_JSON_NOT_CANONICALIZABLE")).toBe(true);
      expect((error as Error).message).toContain("$.a[1].b");
    }
  });

  it("is stable under member order and round-trips through JSON.parse", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const canonical = canonicalizeJson(value);
        const reordered = JSON.parse(JSON.stringify(value, shuffleKeys));
        expect(canonicalizeJson(reordered)).toBe(canonical);
        expect(canonicalizeJson(JSON.parse(canonical))).toBe(canonical);
      }),
    );
  });
});

function shuffleKeys(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).reverse());
}
