import { StateError } from "@agentauth/state";
import type { VerificationEngine } from "@agentauth/verifier/engine";
import { describe, expect, it } from "vitest";
import { isAgentAuthExpressError } from "../errors.js";
import { createInProcessVerification } from "./in-process-verification.js";

// How the adapter turns the engine's failures into coded errors; its decisions against the real
// registry are the shared suite's (test/require-capability.test.ts).

const REQUEST = {
  method: "GET",
  url: "https://payments.example.com/r",
  action: { type: "read", resource: "reports/q3" },
} as const;

function engineThat(verify: VerificationEngine["verify"]) {
  let closed = 0;
  const engine = {
    verify,
    close: async () => {
      closed += 1;
    },
  } as unknown as VerificationEngine;
  return { engine, closed: () => closed };
}

describe("createInProcessVerification", () => {
  it("asks the engine for its service provider, and closes the engine", async () => {
    const asked: unknown[] = [];
    const { engine, closed } = engineThat(async (serviceProvider, request) => {
      asked.push([serviceProvider, request]);
      return {
        decision: "deny",
        reason: "token_missing",
        message: "m",
        respond: { status: 401, headers: {} },
      };
    });
    const verification = createInProcessVerification({
      engine,
      serviceProvider: "https://payments.example.com",
    });
    await expect(verification.verify(REQUEST)).resolves.toMatchObject({ reason: "token_missing" });
    expect(asked).toEqual([["https://payments.example.com", REQUEST]]);
    await verification.close();
    expect(closed()).toBe(1);
  });

  it.each([
    [
      "shared state down",
      new StateError("ERR_STATE_UNAVAILABLE", "Redis"),
      "ERR_VERIFIER_UNAVAILABLE",
    ],
    [
      "shared state full",
      new StateError("ERR_STATE_CAPACITY_EXCEEDED", "full"),
      "ERR_VERIFIER_UNAVAILABLE",
    ],
    ["a request of the wrong shape", new TypeError("action.resource"), "ERR_VERIFIER_REJECTED"],
  ])("turns %s into %s", async (_name, failure, code) => {
    const { engine } = engineThat(() => Promise.reject(failure));
    const verification = createInProcessVerification({ engine, serviceProvider: "sp" });
    const error = await verification.verify(REQUEST).catch((thrown: unknown) => thrown);
    expect(isAgentAuthExpressError(error, code as "ERR_VERIFIER_UNAVAILABLE")).toBe(true);
    expect((error as Error).cause).toBe(failure);
  });

  it("says when shared state is unavailable how soon to retry", async () => {
    const { engine } = engineThat(() =>
      Promise.reject(new StateError("ERR_STATE_UNAVAILABLE", "x")),
    );
    const error = await createInProcessVerification({ engine, serviceProvider: "sp" })
      .verify(REQUEST)
      .catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ retryAfterSeconds: 1 });
  });

  it("lets other errors through as they are", async () => {
    const bug = new Error("a bug");
    const { engine } = engineThat(() => Promise.reject(bug));
    await expect(
      createInProcessVerification({ engine, serviceProvider: "sp" }).verify(REQUEST),
    ).rejects.toBe(bug);
  });

  it("gives up after timeoutMs with ERR_VERIFIER_TIMEOUT", async () => {
    const { engine } = engineThat(() => new Promise(() => undefined));
    const verification = createInProcessVerification({
      engine,
      serviceProvider: "sp",
      timeoutMs: 20,
    });
    const error = await verification.verify(REQUEST).catch((thrown: unknown) => thrown);
    expect(isAgentAuthExpressError(error, "ERR_VERIFIER_TIMEOUT")).toBe(true);
  });

  it.each([
    ["no engine", { serviceProvider: "sp" }, "engine"],
    ["an engine without verify", { engine: { close() {} }, serviceProvider: "sp" }, "engine"],
    [
      "no service provider",
      { engine: engineThat(async () => undefined as never).engine },
      "serviceProvider",
    ],
    [
      "a timeout of 0",
      {
        engine: engineThat(async () => undefined as never).engine,
        serviceProvider: "sp",
        timeoutMs: 0,
      },
      "timeoutMs",
    ],
  ])("refuses %s with a TypeError naming it", (_name, options, field) => {
    const build = () => createInProcessVerification(options as never);
    expect(build).toThrow(TypeError);
    expect(build).toThrow(
      new RegExp(`^createInProcessVerification: invalid options \\(${field}: `),
    );
  });
});
