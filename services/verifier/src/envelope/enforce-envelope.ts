import {
  currentWindowStart,
  type Envelope,
  type EnvelopeCounters,
  type EnvelopeDecision,
  type EnvelopeDenyReason,
  type EnvelopeRequest,
  evaluateEnvelope,
  spendCounterKey,
  tryParseAmount,
} from "@agentauth/core";
import type { QuotaEntry } from "@agentauth/state";

const NO_USAGE: EnvelopeCounters = { requestsInWindow: 0, requestsInBurstWindow: 0, spent: {} };

/**
 * One request judged against a grant's envelope before any counter is read: either already
 * decided (no envelope, no counter to use, or refused whatever the usage — time window,
 * currency, per-payment maximum, a payment larger than a whole cap), or the counters to check and
 * count atomically, and how to judge their values.
 */
export type PreparedEnvelope =
  | { readonly decided: EnvelopeDecision }
  | {
      readonly decided?: undefined;
      /** The counters the request uses up, to check and add to in one atomic step. */
      readonly entries: readonly QuotaEntry[];
      /** Only check the counters: a step-up must not spend the budget. */
      readonly dryRun: boolean;
      /** The decision on the counters as they were just before the request. */
      settle(withinLimits: boolean, before: readonly number[]): EnvelopeDecision;
    };

/**
 * Prepares the envelope decision of one request. Core's pure `evaluateEnvelope` makes every
 * decision; the quota store makes the counting atomic. The request is first judged as if
 * nothing had been used yet: what that refuses is refused without touching a counter. Otherwise
 * every counter the envelope limits is checked and incremented in one atomic step (only checked,
 * for a step-up) and `settle` judges the request again on the counters as they were just before
 * it — the same values the atomic step judged, so both agree and N concurrent requests across
 * replicas allow exactly the limit.
 */
export function prepareEnvelope(
  grantId: string,
  envelope: Envelope | undefined,
  request: EnvelopeRequest,
  now: Date,
): PreparedEnvelope {
  const unused = evaluateEnvelope(envelope, request, NO_USAGE, now);
  if (unused.outcome === "deny" || envelope === undefined) return { decided: unused };
  const plan = planQuotas(grantId, envelope, request, now);
  if (plan.entries.length === 0) return { decided: unused };
  return {
    entries: plan.entries,
    dryRun: unused.outcome === "step_up",
    settle(withinLimits, before) {
      const decision = evaluateEnvelope(envelope, request, plan.countersBefore(before), now);
      if (withinLimits || decision.outcome === "deny") return decision;
      // Unreachable while both judge alike; if they ever disagree, the counters' refusal stands.
      const full = plan.entries.findIndex(
        (entry, index) => (before[index] ?? 0) + entry.increment > entry.limit,
      );
      return {
        outcome: "deny",
        reason: plan.reasons[full] ?? "rate_limited",
        message: "A limit of the grant has been reached",
      };
    },
  };
}

interface QuotaPlan {
  readonly entries: QuotaEntry[];
  /** Why each entry would refuse, in the order of `entries`. */
  readonly reasons: EnvelopeDenyReason[];
  countersBefore(before: readonly number[]): EnvelopeCounters;
}

// The counters one request touches: its rate and burst windows, and every spend cap (adding the
// payment to caps of its currency, zero to the others, whose usage the answer still reports).
function planQuotas(
  grantId: string,
  envelope: Envelope,
  request: EnvelopeRequest,
  now: Date,
): QuotaPlan {
  const entries: QuotaEntry[] = [];
  const reasons: EnvelopeDenyReason[] = [];
  const add = (
    key: string,
    increment: number,
    limit: number,
    windowSeconds: number,
    why: EnvelopeDenyReason,
  ) => {
    const start = currentWindowStart(windowSeconds, now);
    entries.push({
      key: `grant:${grantId}:${key}:${start}`,
      increment,
      limit,
      expiresAt: new Date((start + windowSeconds) * 1000),
    });
    reasons.push(why);
  };
  const rate = envelope.rate_limit;
  let rateIndex = -1;
  let burstIndex = -1;
  if (rate !== undefined) {
    rateIndex = entries.length;
    add(`rate:${rate.window_seconds}`, 1, rate.max_requests, rate.window_seconds, "rate_limited");
    if (rate.burst !== undefined) {
      burstIndex = entries.length;
      add("burst", 1, rate.burst, 1, "burst_limited");
    }
  }
  const payment =
    request.amount === undefined
      ? undefined
      : tryParseAmount(request.amount.amount, request.amount.currency);
  const spendIndex = new Map<string, number>();
  for (const cap of envelope.spend_caps ?? []) {
    const counter = spendCounterKey(cap.currency, cap.window_seconds);
    const capacity = tryParseAmount(cap.amount, cap.currency);
    const limit = capacity.ok ? capacity.minor : 0;
    const known = spendIndex.get(counter);
    if (known !== undefined) {
      // Two caps on one counter: the smaller one binds.
      const entry = entries[known] as QuotaEntry;
      entries[known] = { ...entry, limit: Math.min(entry.limit, limit) };
      continue;
    }
    const charge =
      payment?.ok === true && request.amount?.currency === cap.currency ? payment.minor : 0;
    spendIndex.set(counter, entries.length);
    add(`spend:${counter}`, charge, limit, cap.window_seconds, "spend_cap_exceeded");
  }
  return {
    entries,
    reasons,
    countersBefore(before) {
      const spent: Record<string, number> = {};
      for (const [counter, index] of spendIndex) spent[counter] = before[index] ?? 0;
      return {
        requestsInWindow: rateIndex < 0 ? 0 : (before[rateIndex] ?? 0),
        requestsInBurstWindow: burstIndex < 0 ? 0 : (before[burstIndex] ?? 0),
        spent,
      };
    },
  };
}
