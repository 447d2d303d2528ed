import { describe, expect, it } from "vitest";
import { parseCapabilities } from "./parse-capabilities.js";

function expectInvalid(value: unknown, path: string, message: string): void {
  expect(() => parseCapabilities(value)).toThrow(
    expect.objectContaining({
      code: "ERR_CAPABILITY_INVALID",
      message: `${path}: ${message}`,
      details: { issues: [{ path, message }] },
    }),
  );
}

const read = { type: "read", resource: "calendar/work" };

describe("parseCapabilities", () => {
  it("accepts every capability type in wire shape", () => {
    const capabilities = [
      read,
      { type: "read", resource: "calendar/*" },
      { type: "write", resource: "notes/*", max_items: 10, append_only: true },
      { type: "write", resource: "notes/today" },
      { type: "delete", resource: "files/tmp/*" },
      { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
      { type: "transact", resource: "merchant/acme", max_amount: "500", currency: "JPY" },
      { type: "transact", resource: "merchant/acme", max_amount: "1.250", currency: "BHD" },
      { type: "custom", resource: "services/api", namespace: "com.example", name: "deploy" },
      {
        type: "custom",
        resource: "*",
        namespace: "io.github.acme-corp",
        name: "run_job.v2",
        params: { env: "prod", regions: ["eu", "us"], limits: { cpu: 2, burst: null, dry: false } },
      },
    ];
    expect(parseCapabilities(capabilities)).toStrictEqual(capabilities);
  });

  it("returns fresh copies the caller cannot change afterwards", () => {
    const params = { env: "prod" };
    const input = [
      { type: "custom", resource: "a", namespace: "com.example", name: "deploy", params },
    ];
    const [parsed] = parseCapabilities(input);
    params.env = "dev";
    expect(parsed).toEqual({
      type: "custom",
      resource: "a",
      namespace: "com.example",
      name: "deploy",
      params: { env: "prod" },
    });
  });

  describe("rejects the list", () => {
    it("when it is not a non-empty array of at most 64 entries", () => {
      expectInvalid({ 0: read }, "capabilities", "must be an array");
      expectInvalid([], "capabilities", "must contain at least one capability");
      const many = Array.from({ length: 65 }, (_, index) => ({
        type: "read",
        resource: `r${index}`,
      }));
      expectInvalid(many, "capabilities", "must have at most 64 entries");
    });

    it("when an entry repeats, whatever its member order", () => {
      const transact = { type: "transact", resource: "m", max_amount: "1.00", currency: "EUR" };
      const reordered = { currency: "EUR", max_amount: "1.00", resource: "m", type: "transact" };
      expectInvalid([transact, read, reordered], "capabilities[2]", "repeats capabilities[0]");
    });

    it("when it holds an envelope", () => {
      expectInvalid(
        [read, { type: "envelope", max_token_lifetime_seconds: 60 }],
        "capabilities[1].type",
        "must be one of read, write, delete, transact, custom",
      );
    });

    it("naming every problem in details, the first in the message", () => {
      expect(() =>
        parseCapabilities([{ type: "read" }, { type: "write", resource: "a", max_items: 0 }]),
      ).toThrow(
        expect.objectContaining({
          code: "ERR_CAPABILITY_INVALID",
          message: "capabilities[0].resource: is required (and 1 more)",
          details: {
            issues: [
              { path: "capabilities[0].resource", message: "is required" },
              { path: "capabilities[1].max_items", message: "must be at least 1" },
            ],
          },
        }),
      );
    });
  });

  describe("rejects an entry", () => {
    it.each([
      ["a string", "read", "capabilities[0]", "must be an object"],
      ["null", null, "capabilities[0]", "must be an object"],
      ["an array", [read], "capabilities[0]", "must be an object"],
      [
        "no type",
        { resource: "a" },
        "capabilities[0].type",
        "must be one of read, write, delete, transact, custom",
      ],
      [
        "an unknown type",
        { type: "admin", resource: "a" },
        "capabilities[0].type",
        "must be one of read, write, delete, transact, custom",
      ],
      [
        "an unknown member",
        { ...read, scope: "all" },
        "capabilities[0].scope",
        "is not an allowed member",
      ],
      [
        "a member of another type",
        { ...read, max_items: 1 },
        "capabilities[0].max_items",
        "is not an allowed member",
      ],
      ["no resource", { type: "read" }, "capabilities[0].resource", "is required"],
      [
        "a non-string resource",
        { type: "read", resource: 7 },
        "capabilities[0].resource",
        "must be a string",
      ],
      [
        "an empty resource",
        { type: "read", resource: "" },
        "capabilities[0].resource",
        "segment 1 is empty",
      ],
      [
        "a mid-path *",
        { type: "read", resource: "a/*/b" },
        "capabilities[0].resource",
        "segment 2 is '*', which is only allowed as the last segment",
      ],
      [
        "a partial *",
        { type: "read", resource: "cal*" },
        "capabilities[0].resource",
        "segment 1 mixes '*' with other characters",
      ],
      [
        "a .. segment",
        { type: "delete", resource: "files/../etc" },
        "capabilities[0].resource",
        "segment 2 is '..'",
      ],
      [
        "a long resource",
        { type: "read", resource: "a".repeat(257) },
        "capabilities[0].resource",
        "must be at most 256 characters",
      ],
    ])("with %s", (_, entry, path, message) => {
      expectInvalid([entry], path, message);
    });

    it("names unknown members safely, even hostile ones", () => {
      expectInvalid(
        [JSON.parse('{"type":"read","resource":"a","__proto__":{"x":1}}')],
        "capabilities[0].__proto__",
        "is not an allowed member",
      );
      expectInvalid([{ ...read, "a.b": 1 }], 'capabilities[0]["a.b"]', "is not an allowed member");
    });

    it.each([
      [{ max_items: 0 }, "max_items", "must be at least 1"],
      [{ max_items: 1.5 }, "max_items", "must be an integer"],
      [{ max_items: "5" }, "max_items", "must be an integer"],
      [{ max_items: 2 ** 60 }, "max_items", "must be at most 9007199254740991"],
      [{ max_items: Number.POSITIVE_INFINITY }, "max_items", "must be an integer"],
      [{ append_only: "yes" }, "append_only", "must be true or false"],
    ])("write with %o", (extra, member, message) => {
      expectInvalid(
        [{ type: "write", resource: "notes/*", ...extra }],
        `capabilities[0].${member}`,
        message,
      );
    });

    it.each([
      [
        { max_amount: "50.001", currency: "EUR" },
        "max_amount",
        "must have exactly 2 decimal places for EUR",
      ],
      [
        { max_amount: "50", currency: "EUR" },
        "max_amount",
        "must have exactly 2 decimal places for EUR",
      ],
      [
        { max_amount: "500.00", currency: "JPY" },
        "max_amount",
        "must have no decimal places for JPY",
      ],
      [
        { max_amount: "1.25", currency: "BHD" },
        "max_amount",
        "must have exactly 3 decimal places for BHD",
      ],
      [
        { max_amount: "-1.00", currency: "EUR" },
        "max_amount",
        'must be a decimal string like "50.00" (no sign, exponent or leading zeros)',
      ],
      [
        { max_amount: "1e3", currency: "JPY" },
        "max_amount",
        'must be a decimal string like "50" (no sign, exponent or leading zeros)',
      ],
      [{ max_amount: "90071992547409.92", currency: "EUR" }, "max_amount", "is too large"],
      [{ max_amount: 50, currency: "EUR" }, "max_amount", "must be a decimal string"],
      [{ currency: "EUR" }, "max_amount", "is required"],
      [
        { max_amount: "50.00", currency: "eur" },
        "currency",
        "must be an active ISO 4217 currency code such as EUR",
      ],
      [
        { max_amount: "50.00", currency: "HRK" },
        "currency",
        "must be an active ISO 4217 currency code such as EUR",
      ],
      [{ max_amount: "50.00" }, "currency", "is required"],
    ])("transact with %o", (extra, member, message) => {
      expectInvalid(
        [{ type: "transact", resource: "merchant/acme", ...extra }],
        `capabilities[0].${member}`,
        message,
      );
    });

    const custom = {
      type: "custom",
      resource: "services/api",
      namespace: "com.example",
      name: "deploy",
    };
    const nested = (depth: number): unknown => (depth === 0 ? 1 : { n: nested(depth - 1) });
    it.each([
      ["namespace", 'must be a reverse-DNS name such as "com.example"', { namespace: "example" }],
      [
        "namespace",
        'must be a reverse-DNS name such as "com.example"',
        { namespace: "Com.Example" },
      ],
      [
        "namespace",
        'must be a reverse-DNS name such as "com.example"',
        { namespace: "com..example" },
      ],
      [
        "namespace",
        'must be a reverse-DNS name such as "com.example"',
        { namespace: "-com.example" },
      ],
      [
        "name",
        "must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit",
        { name: "" },
      ],
      [
        "name",
        "must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit",
        { name: "-deploy" },
      ],
      [
        "name",
        "must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit",
        { name: "de ploy" },
      ],
      [
        "name",
        "must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit",
        { name: "x".repeat(65) },
      ],
      ["params", "must be a JSON object", { params: ["prod"] }],
      ["params", "must be a JSON object", { params: "prod" }],
      ["params", "must be a JSON object", { params: null }],
      ["params", "must nest at most 16 levels deep", { params: { deep: nested(16) } }],
      [
        "params",
        "must be plain JSON (finite numbers, well-formed strings)",
        { params: { x: Number.NaN } },
      ],
      [
        "params",
        "must be plain JSON (finite numbers, well-formed strings)",
        { params: { x: "\uD800" } },
      ],
      [
        "params",
        "must be plain JSON (finite numbers, well-formed strings)",
        { params: { when: new Date(0) } },
      ],
      [
        "params",
        "must be at most 4096 characters as canonical JSON",
        { params: { text: "x".repeat(4096) } },
      ],
    ])("custom: %s %s", (member, message, extra) => {
      expectInvalid([{ ...custom, ...extra }], `capabilities[0].${member}`, message);
    });

    it("accepts params nested 16 levels deep", () => {
      const [parsed] = parseCapabilities([{ ...custom, params: { deep: nested(15) } }]);
      expect(parsed).toEqual({ ...custom, params: { deep: nested(15) } });
    });
  });
});
