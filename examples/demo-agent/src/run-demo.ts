import {
  createExchangeClient,
  createExchangeKey,
  isExchangeError,
  openPayloadText,
  sealPayload,
} from "@agentauth/example-exchange/client";
import { DEMO_PAYMENT_REQUEST, EXCHANGE, PAYMENTS } from "@agentauth/examples-kit";
import {
  AgentAuthSdkError,
  type Clock,
  createAgent,
  type GrantRequest,
  isAgentAuthSdkError,
  type KeyStore,
  systemClock,
  type Task,
} from "@agentauth/sdk";

export interface DemoOptions {
  readonly registryUrl: string;
  readonly exchangeUrl: string;
  readonly paymentsUrl: string;
  /** The examples' ids at the registry; default the demo service providers'. */
  readonly exchangeId?: string;
  readonly paymentsId?: string;
  /** Where the agent's key lives: the same key is the same agent on the next run. */
  readonly keyStore: KeyStore;
  /** Asked only when the key is not enrolled yet: the code the human created in the app. */
  readonly enrolmentCode: () => Promise<string>;
  /** Each line of what the demo does. */
  readonly say: (line: string) => void;
  readonly signal?: AbortSignal;
  /** How long to wait for each approval; default 10 minutes. */
  readonly approvalTimeoutMs?: number;
  readonly fetch?: typeof globalThis.fetch;
  readonly clock?: Clock;
}

/** What happened, step by step: the demo's summary. */
export interface DemoOutcome {
  readonly agentId: string;
  readonly exchangeGrant: string | undefined;
  readonly paymentsGrant: string | undefined;
  /** Each payment attempt and how it ended: `paid` or the verifier's reason. */
  readonly payments: ReadonlyArray<{ readonly amount: string; readonly outcome: string }>;
}

/**
 * The demo agent: enrols (once per key), asks its human for a grant on each example service
 * provider and waits for the approvals, passes a sealed note through the exchange (one-time and
 * expiring tokens), pays with a per-task token revoked when the task ends, meets each of the
 * human's limits, completes a step-up, and revokes its grants at the end.
 */
export async function runDemo(options: DemoOptions): Promise<DemoOutcome> {
  const { say, signal } = options;
  const exchangeId = options.exchangeId ?? EXCHANGE.id;
  const paymentsId = options.paymentsId ?? PAYMENTS.id;
  const clock = options.clock ?? systemClock;
  const agent = await createAgent({
    registryUrl: options.registryUrl,
    keyStore: options.keyStore,
    clock,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  // Aborted when the demo stops early (Ctrl+C, or one grant denied while another is awaited),
  // so no poll outlives it.
  const stopped = new AbortController();
  const onAbort = () => stopped.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const waitOptions = { timeout: options.approvalTimeoutMs ?? 600_000, signal: stopped.signal };
  try {
    return await demo();
  } finally {
    signal?.removeEventListener("abort", onAbort);
    stopped.abort();
  }

  async function demo(): Promise<DemoOutcome> {
    say(`AgentAuth demo agent, registry ${options.registryUrl}`);
    say("");
    say("1. Enrolment");
    if (agent.id === undefined) {
      const { agentId } = await agent.enroll(await options.enrolmentCode());
      say(`   Enrolled as agent ${agentId} (its identity is its key, thumbprint ${agent.jkt})`);
    } else {
      say(`   Already enrolled as agent ${agent.id} (key thumbprint ${agent.jkt})`);
    }
    const agentId = agent.id as string;

    say("");
    say("2. Asking the human for two grants");
    const exchangeRequest = await agent.requestGrant({
      serviceProvider: exchangeId,
      capabilities: [
        { type: "write", resource: "exchange/*" },
        { type: "read", resource: "exchange/*" },
      ],
      bindingMessage: "Demo: pass sealed notes through the exchange",
      lifetime: 3600,
    });
    showRequest(say, "Exchange: publish and retrieve sealed payloads", exchangeRequest);
    const paymentsRequest = await agent.requestGrant({
      ...DEMO_PAYMENT_REQUEST,
      serviceProvider: paymentsId,
      bindingMessage: "Demo: pay ACME up to 50.00 EUR a day",
      lifetime: 3600,
    });
    showRequest(
      say,
      "Payments: pay merchant/acme at most 40.00 EUR at a time, 50.00 EUR a day, step-up above 25.00 EUR",
      paymentsRequest,
    );
    say("   Waiting for the human to approve in the approval app…");
    const [exchangeGrant, paymentsGrant] = await Promise.all([
      exchangeRequest.waitForApproval(waitOptions),
      paymentsRequest.waitForApproval(waitOptions),
    ]);
    say(`   Exchange grant ${exchangeGrant.grantId} approved`);
    say(`   Payments grant ${paymentsGrant.grantId} approved`);

    say("");
    say("3. Exchange: a sealed note for another agent");
    const exchange = createExchangeClient({
      baseUrl: options.exchangeUrl,
      fetch: (input, init) => agent.fetch(input, { ...init, serviceProvider: exchangeId }),
    });
    const namespace = `demo-${agentId
      .slice(-8)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, "0")}`;
    const key = createExchangeKey();
    const note = "Meet at gate B12, 09:40. Bring the blue folder.";
    const sealed = await sealPayload({ key, namespace, plaintext: note });
    say(
      `   Sealed with a fresh AES-256-GCM key, which goes to the recipient out of band, never to the exchange`,
    );
    const once = await exchange.publish({ namespace, sealed, mode: "once", ttlSeconds: 300 });
    say(
      `   Published in exchange/${namespace} as a one-time payload: data token ${shorten(once.token)}, expires ${once.expiresAt.toISOString()}`,
    );
    const retrieved = await exchange.retrieve({ namespace, token: once.token });
    const opened = await openPayloadText({ key, namespace, sealed: retrieved.sealed });
    say(`   Retrieved (here by this agent standing in for the recipient) and opened: "${opened}"`);
    say(
      `   Retrieved again: ${await exchangeRefusal(exchange.retrieve({ namespace, token: once.token }))}`,
    );
    const brief = await exchange.publish({
      namespace,
      sealed: await sealPayload({ key, namespace, plaintext: "short-lived" }),
      mode: "reusable",
      ttlSeconds: 1,
    });
    await clock.sleep(1_500, stopped.signal);
    say(
      `   A reusable payload with a 1 s TTL, retrieved 1.5 s later: ${await exchangeRefusal(exchange.retrieve({ namespace, token: brief.token }))}`,
    );

    say("");
    say("4. Payments");
    const payments: Array<{ amount: string; outcome: string }> = [];
    const pay = async (
      fetch: (input: string, init: RequestInit) => Promise<Response>,
      amount: string,
      reference: string,
    ): Promise<string> => {
      try {
        const response = await fetch(`${options.paymentsUrl}/v1/payments`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ merchant: "acme", amount, currency: "EUR", reference }),
        });
        const body = (await response.json()) as {
          id?: string;
          code?: string;
          remaining?: { spend?: Array<{ remaining: string; currency: string }> };
        };
        if (response.status !== 201) {
          payments.push({ amount, outcome: body.code ?? String(response.status) });
          return `refused by the payments service: ${response.status} ${body.code ?? ""}`.trim();
        }
        payments.push({ amount, outcome: "paid" });
        const left = body.remaining?.spend?.[0];
        return `paid (${body.id})${left === undefined ? "" : `, ${left.remaining} ${left.currency} left today`}`;
      } catch (error) {
        if (!isAgentAuthSdkError(error)) throw error;
        payments.push({ amount, outcome: error.reason ?? error.code });
        return describeRefusal(error);
      }
    };
    const paymentsFetch = (input: string, init: RequestInit) =>
      agent.fetch(input, { ...init, serviceProvider: paymentsId });

    say("   A per-task token for one taxi ride: merchant/acme, at most 15.00 EUR, for 2 minutes");
    let ended: Task | undefined;
    {
      // Revoked at the registry when this block exits, normally or by an exception.
      await using task = await agent.task({
        serviceProvider: paymentsId,
        capabilities: [
          { type: "transact", resource: "merchant/acme", max_amount: "15.00", currency: "EUR" },
        ],
        ttl: 120,
      });
      ended = task;
      say(`     12.50 EUR with the task token: ${await pay(task.fetch, "12.50", "Taxi")}`);
      say(
        `     20.00 EUR with the task token: ${await pay(task.fetch, "20.00", "Taxi, with tip")}`,
      );
    }
    say(`     The task has ended and its token is revoked (${ended.revoked ? "yes" : "no"})`);
    say(`     Using it now: ${await pay(ended.fetch, "1.00", "After the task")}`);
    say(`   45.00 EUR: ${await pay(paymentsFetch, "45.00", "Conference ticket")}`);
    say(`   30.00 EUR: ${await pay(paymentsFetch, "30.00", "Dinner")}`);
    const last = payments.at(-1);
    if (last?.outcome === "step_up_required") {
      // A fresh approval for exactly this payment. The agent holds it beside the main grant
      // (a new grant never replaces another), so the retry names it; once revoked, calls that
      // name no grant use the main one again.
      const stepUpRequest = await agent.requestGrant({
        serviceProvider: paymentsId,
        capabilities: [
          { type: "transact", resource: "merchant/acme", max_amount: "30.00", currency: "EUR" },
        ],
        envelope: { spend_caps: [{ amount: "30.00", currency: "EUR", window_seconds: 86_400 }] },
        bindingMessage: "Demo step-up: dinner, 30.00 EUR",
        lifetime: 300,
      });
      showRequest(say, "Step-up: this one payment of 30.00 EUR", stepUpRequest);
      const stepUp = await stepUpRequest.waitForApproval(waitOptions);
      try {
        say(
          `     Approved; 30.00 EUR under the step-up grant ${stepUp.grantId}: ${await pay((input, init) => agent.fetch(input, { ...init, grantId: stepUp.grantId }), "30.00", "Dinner")}`,
        );
      } finally {
        await agent.revokeGrant(paymentsId, { grantId: stepUp.grantId });
      }
    }
    say(`   24.00 EUR: ${await pay(paymentsFetch, "24.00", "Books")}`);
    say(`   20.00 EUR: ${await pay(paymentsFetch, "20.00", "Flowers")}`);

    say("");
    say("5. Done: revoking both grants");
    await agent.revokeGrant(exchangeId);
    await agent.revokeGrant(paymentsId);
    say(`   Summary: ${payments.map((p) => `${p.amount} ${p.outcome}`).join(", ")}`);
    return {
      agentId,
      exchangeGrant: exchangeGrant.grantId,
      paymentsGrant: paymentsGrant.grantId,
      payments,
    };
  }
}

function showRequest(say: (line: string) => void, what: string, request: GrantRequest): void {
  say(`   ${what}`);
  say(`     Approve at: ${request.approvalUri}`);
  say(`     Code:       ${request.userCode} (check the approval app shows the same)`);
}

/** `19 h 38 min`, `4 min`, `12 s`. */
function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60) % 60;
  const hours = Math.floor(seconds / 3600);
  return hours === 0 ? `${minutes} min` : `${hours} h ${minutes} min`;
}

function shorten(token: string): string {
  return `${token.slice(0, 9)}…`;
}

async function exchangeRefusal(retrieval: Promise<unknown>): Promise<string> {
  try {
    await retrieval;
    return "retrieved (unexpected)";
  } catch (error) {
    if (!isExchangeError(error)) throw error;
    return `refused, ${error.status} ${error.code}: ${error.message}`;
  }
}

function describeRefusal(error: AgentAuthSdkError): string {
  switch (error.code) {
    case "ERR_STEP_UP_REQUIRED": {
      const above = error.stepUp?.above;
      return `step-up required${above === undefined ? "" : ` above ${above.amount} ${above.currency}`}: the human must approve this one`;
    }
    case "ERR_INSUFFICIENT_CAPABILITY":
      return `refused, ${error.reason ?? "insufficient_scope"}${error.retryAfterSeconds === undefined ? "" : ` (the window reopens in ${duration(error.retryAfterSeconds)})`}`;
    case "ERR_TASK_REVOKED":
      return "refused before it leaves the agent: ERR_TASK_REVOKED";
    default:
      return `refused, ${error.code}${error.reason === undefined ? "" : ` (${error.reason})`}`;
  }
}

/** An error the demo stops on, with what to tell the person at the terminal. */
export function explainDemoFailure(error: unknown): string | undefined {
  if (!(error instanceof AgentAuthSdkError)) return undefined;
  switch (error.code) {
    case "ERR_ENROLMENT_CODE_INVALID":
      return "The enrolment code was refused: create a new one in the approval app (Agents) and try again.";
    case "ERR_ACCESS_DENIED":
      return `The human denied the request${error.denialReason === undefined ? "" : `: ${error.denialReason}`}.`;
    case "ERR_REQUEST_EXPIRED":
    case "ERR_TIMEOUT":
      return "Nobody approved the request in time; run the demo again.";
    case "ERR_UNAVAILABLE":
      return `${error.message}. Is the platform running (npm start)?`;
    default:
      return `${error.code}: ${error.message}`;
  }
}
