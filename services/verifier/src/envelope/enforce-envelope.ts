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
import type { QuotaEntry, QuotaStore } from "@agentauth/state";

const NO_USAGE: EnvelopeCounters = { requestsInWindow: 0, requestsInBurstWindow: 0, spent: {} };

/**
 * Decides one request against a grant's envelope and, when it is allowed, counts it — atomically
 * across every replica sharing `quotas`.
 *
 * Core's pure `evaluateEnvelope` makes every decision; the quota store makes the counting
 * atomic. First the request is judged as if nothing had been used yet: what that refuses (time
 * window, currency, per-payment maximum, a payment larger than a whole cap) is refused without
 * touching a counter. Otherwise every counter the envelope limits is checked and incremented in
 * one atomic step (only checked, for a step-up, which must not spend the budget) and the request
 * is judged again on the counters as they were just before it — the same values the atomic
 * step judged, so both agree and N concurrent requests across replicas allow exactly the limit.
 */
export async function enforceEnvelope(
  quotas: QuotaStore,
  grantId: string,
  envelope: Envelope | undefined,
  request: EnvelopeRequest,
  now: Date,
): Promise<EnvelopeDecision> {
  const unused = evaluateEnvelope(envelope, request, NO_USAGE, now);
  if (unused.outcome === "deny" || envelope === undefined) return unused;
  const plan = planQuotas(grantId, envelope, request, now);
  if (plan.entries.length === 0) return unused;
  const result = await quotas.consume(plan.entries, { dryRun: unused.outcome === "step_up" });
  const decision = evaluateEnvelope(envelope, request, plan.countersBefore(result.before), now);
  if (result.withinLimits || decision.outcome === "deny") return decision;
  // Unreachable while both judge alike; if they ever disagree, the counters' refusal stands.
  const full = plan.entries.findIndex(
    (entry, index) => (result.before[index] ?? 0) + entry.increment > entry.limit,
  );
  return {
    outcome: "deny",
    reason: plan.reasons[full] ?? "rate_limited",
    message: "A limit of the grant has been reached",
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
