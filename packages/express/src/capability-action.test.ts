import type { Request } from "express";
import { describe, expect, it } from "vitest";
import { createActionResolver, type RequireCapabilityOptions } from "./capability-action.js";
import { isAgentAuthExpressError } from "./errors.js";

const req = (body: unknown = {}, params: Record<string, string> = {}) =>
  ({ body, params }) as unknown as Request;

describe("requireCapability options, checked when the route is declared", () => {
  it.each([
    ["an unknown type", { type: "own", resource: "x" }, "type"],
    ["a pattern as the resource", { type: "read", resource: "reports/*" }, "resource"],
    ["everything as the resource", { type: "read", resource: "*" }, "resource"],
    ["an empty segment", { type: "read", resource: "reports//q3" }, "resource"],
    ["a dot segment", { type: "read", resource: "reports/../q3" }, "resource"],
    ["a resource that is not a string", { type: "read", resource: 42 }, "resource"],
    ["transact without an amount", { type: "transact", resource: "merchant/acme" }, "options"],
    [
      "an amount with the wrong minor units",
      { type: "transact", resource: "m", amount: { amount: "1.5", currency: "EUR" } },
      "amount",
    ],
    [
      "an amount in no currency",
      { type: "transact", resource: "m", amount: { amount: "1.50", currency: "XXX" } },
      "amount",
    ],
    [
      "an amount on a read",
      { type: "read", resource: "r", amount: { amount: "1.00", currency: "EUR" } },
      "options",
    ],
    ["items on a read", { type: "read", resource: "r", items: 1 }, "options"],
    ["negative items", { type: "write", resource: "r", items: -1 }, "items"],
    ["an unknown operation", { type: "write", resource: "r", operation: "upsert" }, "operation"],
    [
      "custom without a name",
      { type: "custom", resource: "r", namespace: "com.example" },
      "options",
    ],
    [
      "custom with a bad namespace",
      { type: "custom", resource: "r", namespace: "Example", name: "x" },
      "options",
    ],
    [
      "a namespace on a read",
      { type: "read", resource: "r", namespace: "com.example", name: "x" },
      "options",
    ],
    ["an unknown option", { type: "read", resource: "r", scope: "x" }, "options"],
  ])("refuses %s with a TypeError naming it", (_name, options, field) => {
    const build = () => createActionResolver(options as unknown as RequireCapabilityOptions);
    expect(build).toThrow(TypeError);
    expect(build).toThrow(new RegExp(`^requireCapability: invalid options \\(.*${field}: `));
  });

  it("accepts each capability type with what it uses", () => {
    const valid: RequireCapabilityOptions[] = [
      { type: "read", resource: "reports/q3" },
      { type: "write", resource: "notes", items: 2, operation: "append" },
      { type: "delete", resource: "notes/1" },
      { type: "transact", resource: "merchant/acme", amount: { amount: "1.00", currency: "EUR" } },
      { type: "custom", resource: "door/1", namespace: "com.example", name: "open" },
      {
        type: "custom",
        resource: "door/1",
        namespace: "com.example",
        name: "open",
        amount: () => undefined,
      },
    ];
    for (const options of valid) expect(() => createActionResolver(options)).not.toThrow();
  });
});

describe("the action of each request", () => {
  it("computes resource, amount, items and operation from the request", async () => {
    const resolve = createActionResolver({
      type: "write",
      resource: (r) => `notes/${r.params.id}`,
      items: async (r) => (r.body as { items: unknown[] }).items.length,
      operation: () => "append",
    });
    await expect(resolve(req({ items: [1, 2] }, { id: "7" }))).resolves.toEqual({
      type: "write",
      resource: "notes/7",
      items: 2,
      operation: "append",
    });
    const pay = createActionResolver({
      type: "transact",
      resource: "merchant/acme",
      amount: (r) => (r.body as { amount: { amount: string; currency: string } }).amount,
    });
    await expect(
      pay(req({ amount: { amount: "2.00", currency: "EUR", note: "dropped" } })),
    ).resolves.toEqual({
      type: "transact",
      resource: "merchant/acme",
      amount: { amount: "2.00", currency: "EUR" },
    });
    const custom = createActionResolver({
      type: "custom",
      resource: "door/1",
      namespace: "com.example",
      name: "open",
    });
    await expect(custom(req())).resolves.toEqual({
      type: "custom",
      resource: "door/1",
      namespace: "com.example",
      name: "open",
    });
  });

  it.each([
    ["an empty resource", { resource: () => "" }],
    ["an over-long resource", { resource: () => "r".repeat(2049) }],
    ["a resource that is not a string", { resource: () => 7 as unknown as string }],
    ["an amount that is a number", { amount: () => 12.5 as unknown as undefined }],
    [
      "an amount whose amount is a number",
      { amount: () => ({ amount: 12.5, currency: "EUR" }) as unknown as undefined },
    ],
    ["an over-long amount", { amount: () => ({ amount: "1".repeat(65), currency: "EUR" }) }],
    ["null as the amount", { amount: () => null as unknown as undefined }],
  ])("refuses %s with ERR_INVALID_ACTION", async (_name, override) => {
    const resolve = createActionResolver({
      type: "transact",
      resource: "merchant/acme",
      amount: () => ({ amount: "1.00", currency: "EUR" }),
      ...override,
    } as RequireCapabilityOptions);
    const error = await resolve(req()).catch((thrown: unknown) => thrown);
    expect(isAgentAuthExpressError(error, "ERR_INVALID_ACTION")).toBe(true);
  });

  it("refuses computed items and operations the verifier would not take", async () => {
    for (const options of [
      { items: () => 1.5 },
      { items: () => -1 },
      { operation: () => "upsert" as "append" },
    ]) {
      const resolve = createActionResolver({ type: "write", resource: "notes", ...options });
      const error = await resolve(req()).catch((thrown: unknown) => thrown);
      expect(isAgentAuthExpressError(error, "ERR_INVALID_ACTION")).toBe(true);
    }
  });

  it("lets a function's own error through, for the app's error handler", async () => {
    const failure = new Error("no such merchant");
    const resolve = createActionResolver({
      type: "read",
      resource: () => {
        throw failure;
      },
    });
    await expect(resolve(req())).rejects.toBe(failure);
  });
});
