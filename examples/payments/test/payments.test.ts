import {
  freePort,
  type GuardedServiceProvider,
  startGuardedServiceProvider,
  startTestPlatform,
  type TestPlatform,
  testBackend,
} from "@agentauth/embedded-platform/testing";
import { DEMO_PAYMENT_REQUEST, PAYMENTS } from "@agentauth/examples-kit";
import { type Agent, AgentAuthSdkError, isAgentAuthSdkError } from "@agentauth/sdk";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPaymentsApp, type Payment } from "../src/create-payments-app.js";

// The payments example end to end: the real registry and verifier (the embedded platform's
// co-hosting process), an agent of the real SDK whose grant a human approved with a software
// passkey, and the app guarded by @agentauth/express. The limits are the grant's, enforced by
// the verifier; the example books what is allowed.

function startPayments(test: TestPlatform, booked: Payment[], verifierUrl?: string) {
  return startGuardedServiceProvider(
    test,
    PAYMENTS,
    (agentAuth) =>
      createPaymentsApp({
        agentAuth,
        merchants: ["acme", "globex"],
        clock: test.clock,
        logger: pino({ level: "silent" }),
        onPayment: (payment) => booked.push(payment),
      }),
    verifierUrl === undefined ? {} : { verifierUrl },
  );
}

/** `POST /v1/payments` through `fetch` (the agent's, or a task's). */
function pay(
  fetch: (input: string, init: RequestInit) => Promise<Response>,
  url: string,
  body: Record<string, unknown>,
): Promise<Response> {
  return fetch(`${url}/v1/payments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function refusal(promise: Promise<unknown>): Promise<AgentAuthSdkError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AgentAuthSdkError)) throw new Error(`expected a refusal, got ${error}`);
  return error;
}

describe(`the payments example (${testBackend().name})`, () => {
  let test: TestPlatform;
  let payments: GuardedServiceProvider;
  const booked: Payment[] = [];
  let agent: Agent;
  let grantId: string;
  let agentFetch: (input: string, init: RequestInit) => Promise<Response>;
  const recorded: Request[] = [];

  beforeAll(async () => {
    test = await startTestPlatform();
    payments = await startPayments(test, booked);
    ({ agent, grantId } = await test.agentWithGrant(DEMO_PAYMENT_REQUEST, {
      fetch: async (input, init) => {
        const request = new Request(input, init);
        recorded.push(request.clone());
        return globalThis.fetch(request);
      },
    }));
    agentFetch = (input, init) => agent.fetch(input, { ...init, serviceProvider: PAYMENTS.id });
  });
  afterAll(async () => {
    await payments?.close();
    await test?.close();
  });

  it("pays within the limits with a per-task token, which is revoked when the task ends", async () => {
    let taskToken: string | undefined;
    {
      await using task = await agent.task({
        serviceProvider: PAYMENTS.id,
        capabilities: [
          { type: "transact", resource: "merchant/acme", max_amount: "15.00", currency: "EUR" },
        ],
        ttl: 120,
      });
      const paid = await pay(task.fetch, payments.url, {
        merchant: "acme",
        amount: "12.50",
        currency: "EUR",
        reference: "Taxi",
      });
      expect(paid.status).toBe(201);
      const body = (await paid.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        merchant: "acme",
        amount: "12.50",
        currency: "EUR",
        reference: "Taxi",
        agent: agent.id,
        grant: grantId,
        remaining: { spend: [{ currency: "EUR", windowSeconds: 86_400, remaining: "37.50" }] },
      });
      taskToken = recorded
        .at(-1)
        ?.headers.get("authorization")
        ?.replace(/^DPoP /, "");
      // The task is narrower than the grant.
      const wider = await refusal(
        pay(task.fetch, payments.url, { merchant: "acme", amount: "20.00", currency: "EUR" }),
      );
      expect(wider).toMatchObject({
        code: "ERR_INSUFFICIENT_CAPABILITY",
        reason: "capability_not_granted",
      });
    }
    expect(booked.map((payment) => payment.amount)).toEqual(["12.50"]);
    // Revoked at the registry: the verifier calls it inactive.
    expect(taskToken).toBeDefined();
    const introspection = await fetch(`${test.verifierUrl}/introspect`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${test.apiKeys[PAYMENTS.id]}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ token: taskToken as string }),
    });
    expect(await introspection.json()).toEqual({ active: false });
  });

  it("refuses a payment above the per-transaction maximum", async () => {
    const error = await refusal(
      pay(agentFetch, payments.url, { merchant: "acme", amount: "45.00", currency: "EUR" }),
    );
    expect(error).toMatchObject({
      code: "ERR_INSUFFICIENT_CAPABILITY",
      status: 403,
      reason: "transaction_limit_exceeded",
    });
  });

  it("asks for a step-up above the threshold, and pays once the human approved it", async () => {
    const error = await refusal(
      pay(agentFetch, payments.url, { merchant: "acme", amount: "30.00", currency: "EUR" }),
    );
    expect(error.code).toBe("ERR_STEP_UP_REQUIRED");
    expect(error.stepUp).toMatchObject({
      above: { amount: "25.00", currency: "EUR" },
      action: {
        type: "transact",
        resource: "merchant/acme",
        amount: { amount: "30.00", currency: "EUR" },
      },
      // The registry's issuer identifier exactly, to compare with its metadata (RFC 8414 §3.3).
      authorizationServer: test.registryUrl,
      approvalEndpoint: `${test.registryUrl}/oauth/backchannel`,
    });

    // The step-up: a fresh grant for exactly that payment, approved by the human.
    const stepUp = await test.agentWithGrant({
      serviceProvider: PAYMENTS.id,
      capabilities: [
        { type: "transact", resource: "merchant/acme", max_amount: "30.00", currency: "EUR" },
      ],
      envelope: { spend_caps: [{ amount: "30.00", currency: "EUR", window_seconds: 86_400 }] },
    });
    const paid = await pay(
      (input, init) => stepUp.agent.fetch(input, { ...init, serviceProvider: PAYMENTS.id }),
      payments.url,
      { merchant: "acme", amount: "30.00", currency: "EUR" },
    );
    expect(paid.status).toBe(201);
    expect(((await paid.json()) as { grant: string }).grant).toBe(stepUp.grantId);
  });

  it("refuses what would pass the daily spend cap, saying when the window reopens", async () => {
    // 12.50 spent under the grant so far; 24.00 more leaves 13.50 of the 50.00 a day.
    const paid = await pay(agentFetch, payments.url, {
      merchant: "acme",
      amount: "24.00",
      currency: "EUR",
    });
    expect(paid.status).toBe(201);
    expect(((await paid.json()) as { remaining: unknown }).remaining).toEqual({
      spend: [{ currency: "EUR", windowSeconds: 86_400, remaining: "13.50" }],
    });
    const error = await refusal(
      pay(agentFetch, payments.url, { merchant: "acme", amount: "20.00", currency: "EUR" }),
    );
    expect(error).toMatchObject({
      code: "ERR_INSUFFICIENT_CAPABILITY",
      reason: "spend_cap_exceeded",
    });
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(86_400);
  });

  it("refuses another merchant, another currency and an amount with the wrong digits", async () => {
    // A malformed amount ("5.5" for EUR, which has two minor digits) matches no capability.
    for (const body of [
      { merchant: "globex", amount: "5.00", currency: "EUR" },
      { merchant: "acme", amount: "5.00", currency: "USD" },
      { merchant: "acme", amount: "5.5", currency: "EUR" },
    ]) {
      const error = await refusal(pay(agentFetch, payments.url, body));
      expect(error, JSON.stringify(body)).toMatchObject({
        code: "ERR_INSUFFICIENT_CAPABILITY",
        status: 403,
        reason: "capability_not_granted",
      });
    }
  });

  it("refuses malformed payments and unknown merchants itself, before any budget is counted", async () => {
    const before = booked.length;
    for (const [body, status, code] of [
      [{ merchant: "acme", amount: 5, currency: "EUR" }, 400, "ERR_VALIDATION"],
      [{ merchant: "acme", amount: "5.00", currency: "eur" }, 400, "ERR_VALIDATION"],
      [{ merchant: "acme", amount: "5.00", currency: "EUR", tip: "1.00" }, 400, "ERR_VALIDATION"],
      [{ merchant: "nobody", amount: "5.00", currency: "EUR" }, 404, "ERR_UNKNOWN_MERCHANT"],
    ] as const) {
      const response = await pay(agentFetch, payments.url, body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(((await response.json()) as { code: string }).code).toBe(code);
    }
    expect(booked.length).toBe(before);
    // The cap still has its 13.50: none of those counted.
    const paid = await pay(agentFetch, payments.url, {
      merchant: "acme",
      amount: "13.50",
      currency: "EUR",
    });
    expect(paid.status).toBe(201);
  });

  it("answers 503 when it cannot get a decision, and pays nothing", async () => {
    const gone = await startPayments(test, booked, `http://127.0.0.1:${await freePort()}`);
    try {
      const before = booked.length;
      const response = await pay(agentFetch, gone.url, {
        merchant: "acme",
        amount: "1.00",
        currency: "EUR",
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { code: string }).code).toBe("ERR_VERIFIER_UNAVAILABLE");
      expect(booked.length).toBe(before);
    } finally {
      await gone.close();
    }
  });

  it("refuses the whole grant once the human revokes it", async () => {
    await test.revokeGrant(grantId);
    const error = await refusal(
      pay(agentFetch, payments.url, { merchant: "acme", amount: "1.00", currency: "EUR" }),
    );
    expect(isAgentAuthSdkError(error)).toBe(true);
    expect(error.reason).toBe("grant_revoked");
  });
});
