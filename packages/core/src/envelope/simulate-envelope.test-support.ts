// Replays requests against evaluateEnvelope the way a verifier would: counters per fixed window,
// updated only when a request is allowed.
import fc from "fast-check";
import { moneyArb } from "../capabilities/grant-arbitraries.test-support.js";
import type { Money } from "../money/money.js";
import { tryParseAmount } from "../money/parse-amount.js";
import type { Envelope } from "./envelope.js";
import { currentWindowStart, spendCounterKey } from "./envelope-counters.js";
import { type EnvelopeDecision, evaluateEnvelope } from "./evaluate-envelope.js";

export interface SimulatedRequest {
  at: Date;
  amount?: Money;
}

export interface SimulatedOutcome {
  request: SimulatedRequest;
  decision: EnvelopeDecision;
}

export function simulateEnvelope(
  envelope: Envelope,
  requests: readonly SimulatedRequest[],
): SimulatedOutcome[] {
  const usage = new Map<string, number>();
  const read = (key: string) => usage.get(key) ?? 0;
  const add = (key: string, amount: number) => usage.set(key, read(key) + amount);
  const rateKey = (at: Date) =>
    envelope.rate_limit === undefined
      ? "no-rate-limit"
      : `requests:${currentWindowStart(envelope.rate_limit.window_seconds, at)}`;
  const burstKey = (at: Date) => `burst:${currentWindowStart(1, at)}`;
  const spendKey = (currency: string, windowSeconds: number, at: Date) =>
    `spent:${spendCounterKey(currency, windowSeconds)}:${currentWindowStart(windowSeconds, at)}`;

  return requests.map((request) => {
    const caps = envelope.spend_caps ?? [];
    const spent = Object.fromEntries(
      caps.map((cap) => [
        spendCounterKey(cap.currency, cap.window_seconds),
        read(spendKey(cap.currency, cap.window_seconds, request.at)),
      ]),
    );
    const counters = {
      requestsInWindow: read(rateKey(request.at)),
      requestsInBurstWindow: read(burstKey(request.at)),
      spent,
    };
    const action = request.amount === undefined ? "read" : "transact";
    const decision = evaluateEnvelope(
      envelope,
      { action, amount: request.amount },
      counters,
      request.at,
    );
    if (decision.outcome === "allow") {
      add(rateKey(request.at), 1);
      add(burstKey(request.at), 1);
      const amount = request.amount;
      const parsed =
        amount === undefined ? undefined : tryParseAmount(amount.amount, amount.currency);
      for (const cap of caps) {
        if (amount !== undefined && parsed?.ok === true && cap.currency === amount.currency) {
          add(spendKey(cap.currency, cap.window_seconds, request.at), parsed.minor);
        }
      }
    }
    return { request, decision };
  });
}

/**
 * Requests in time order from a random instant of 2026: mostly bursts within a second,
 * sometimes gaps across windows; with an amount (EUR or JPY) always, or only sometimes.
 */
export function historyArb(
  maxLength: number,
  amounts: "always" | "sometimes" = "sometimes",
): fc.Arbitrary<SimulatedRequest[]> {
  const amount = amounts === "always" ? moneyArb(12) : fc.option(moneyArb(12), { nil: undefined });
  const step = fc.tuple(
    fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5000 })),
    amount,
  );
  return fc
    .tuple(
      fc.date({
        min: new Date("2026-01-01T00:00:00Z"),
        max: new Date("2026-12-31T00:00:00Z"),
        noInvalidDate: true,
      }),
      fc.array(step, { maxLength }),
    )
    .map(([start, steps]) => {
      let time = start.getTime();
      return steps.map(([gap, money]): SimulatedRequest => {
        time += gap;
        return { at: new Date(time), amount: money };
      });
    });
}
