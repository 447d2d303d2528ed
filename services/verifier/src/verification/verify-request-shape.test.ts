import { describe, expect, it } from "vitest";
import { checkVerifyRequest } from "./verify-request-shape.js";

const valid = {
  authorization: "DPoP eyJ.a.b",
  dpop: "eyJ.c.d",
  method: "POST",
  url: "https://payments.example.com/v1/payments?x=1",
  action: {
    type: "transact",
    resource: "merchant/acme",
    amount: { amount: "1.00", currency: "EUR" },
  },
};
const problemsOf = (body: unknown) => {
  const result = checkVerifyRequest(body);
  return result.ok ? [] : result.problems;
};

describe("checkVerifyRequest", () => {
  it("accepts a valid body, with the action in core's form and unknown members left out", () => {
    expect(
      checkVerifyRequest({
        ...valid,
        extra: true,
        action: { ...valid.action, note: "x", amount: { ...valid.action.amount, fx: 1 } },
      }),
    ).toEqual({
      ok: true,
      request: {
        authorization: valid.authorization,
        dpop: valid.dpop,
        method: "POST",
        url: valid.url,
        action: {
          action: "transact",
          resource: "merchant/acme",
          amount: { amount: "1.00", currency: "EUR" },
        },
      },
    });
  });

  it("accepts what is optional left out, several proofs, and every action member", () => {
    const result = checkVerifyRequest({
      method: "PATCH",
      url: "http://localhost:8080/x",
      dpop: ["a", "b"],
      action: {
        type: "write",
        resource: "notes/1",
        items: 0,
        operation: "append",
        namespace: "n",
        name: "m",
      },
    });
    expect(result).toEqual({
      ok: true,
      request: {
        authorization: undefined,
        dpop: ["a", "b"],
        method: "PATCH",
        url: "http://localhost:8080/x",
        action: {
          action: "write",
          resource: "notes/1",
          items: 0,
          operation: "append",
          namespace: "n",
          name: "m",
        },
      },
    });
  });

  it("refuses a body that is not an object", () => {
    for (const body of [null, [], "text", 42, true, undefined]) {
      expect(problemsOf(body)).toEqual(["body: must be a JSON object"]);
    }
  });

  it("names every field that is wrong, each once, in a clear sentence", () => {
    expect(
      problemsOf({
        authorization: 42,
        dpop: Array(9).fill("x"),
        method: "PO ST",
        url: "ftp://files.example.com/x",
        action: { type: "fly", amount: { amount: 10 } },
      }),
    ).toEqual([
      "authorization: must be a string of at most 16384 characters",
      "dpop: must be a string, or an array of at most 8 strings, of at most 16384 characters each",
      "method: must be an HTTP method",
      "url: must be an absolute http(s) URL of at most 8192 characters",
      "action.type: must be one of read, write, delete, transact, custom",
      "action.resource: must be a string of 1 to 2048 characters",
      "action.amount.amount: must be a decimal string of at most 64 characters",
      "action.amount.currency: must be a currency code of at most 8 characters",
    ]);
    expect(problemsOf({})).toEqual([
      "method: must be an HTTP method",
      "url: must be an absolute http(s) URL of at most 8192 characters",
      "action: must be an object",
    ]);
  });

  it("refuses each bad value of each field", () => {
    const long = (n: number) => "x".repeat(n);
    const cases: [Record<string, unknown>, string][] = [
      [{ authorization: null }, "authorization:"],
      [{ authorization: long(16_385) }, "authorization:"],
      [{ dpop: null }, "dpop:"],
      [{ dpop: 7 }, "dpop:"],
      [{ dpop: long(16_385) }, "dpop:"],
      [{ dpop: ["a", 1] }, "dpop:"],
      [{ dpop: [long(16_385)] }, "dpop:"],
      [{ method: "" }, "method:"],
      [{ method: long(33) }, "method:"],
      [{ method: "GET\n" }, "method:"],
      [{ method: 1 }, "method:"],
      [{ url: "payments.example.com/v1" }, "url:"],
      [{ url: "/v1/payments" }, "url:"],
      [{ url: "https:payments.example.com" }, "url:"],
      [{ url: "https://" }, "url:"],
      [{ url: " https://payments.example.com/" }, "url:"],
      [{ url: "https://payments.example.com/ " }, "url:"],
      [{ url: "https://pay\nments.example.com/" }, "url:"],
      [{ url: "https://payments.example.com/\t" }, "url:"],
      [{ url: `https://payments.example.com/${long(8_192)}` }, "url:"],
      [{ url: ["https://payments.example.com/"] }, "url:"],
      [{ action: null }, "action:"],
      [{ action: [] }, "action:"],
      [{ action: "read" }, "action:"],
      [{ action: { ...valid.action, type: "envelope" } }, "action.type:"],
      [{ action: { ...valid.action, type: "READ" } }, "action.type:"],
      [{ action: { ...valid.action, resource: "" } }, "action.resource:"],
      [{ action: { ...valid.action, resource: long(2_049) } }, "action.resource:"],
      [{ action: { ...valid.action, resource: 3 } }, "action.resource:"],
      [{ action: { ...valid.action, amount: "1.00 EUR" } }, "action.amount:"],
      [{ action: { ...valid.action, amount: null } }, "action.amount:"],
      [
        { action: { ...valid.action, amount: { amount: "1", currency: long(9) } } },
        "action.amount.currency:",
      ],
      [
        { action: { ...valid.action, amount: { amount: long(65), currency: "EUR" } } },
        "action.amount.amount:",
      ],
      [{ action: { ...valid.action, items: -1 } }, "action.items:"],
      [{ action: { ...valid.action, items: 1.5 } }, "action.items:"],
      [{ action: { ...valid.action, items: 2 ** 53 } }, "action.items:"],
      [{ action: { ...valid.action, items: "3" } }, "action.items:"],
      [{ action: { ...valid.action, operation: "delete" } }, "action.operation:"],
      [{ action: { ...valid.action, namespace: 1 } }, "action.namespace:"],
      [{ action: { ...valid.action, namespace: long(257) } }, "action.namespace:"],
      [{ action: { ...valid.action, name: null } }, "action.name:"],
    ];
    for (const [change, field] of cases) {
      const problems = problemsOf({ ...valid, ...change });
      expect(problems, JSON.stringify(change).slice(0, 120)).toHaveLength(1);
      expect(problems[0]?.startsWith(field), problems[0]).toBe(true);
    }
  });

  it("accepts the longest values allowed", () => {
    const long = (n: number) => "x".repeat(n);
    const result = checkVerifyRequest({
      ...valid,
      authorization: long(16_384),
      dpop: Array(8).fill(long(16_384)),
      method: long(32),
      url: `https://p.example/${long(8_192 - 18)}`,
      action: { type: "custom", resource: long(2_048), namespace: long(256), name: long(256) },
    });
    expect(result.ok).toBe(true);
  });
});
