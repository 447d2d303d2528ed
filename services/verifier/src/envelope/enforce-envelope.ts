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
 * count atomically; {@link settleEnvelope} then judges the request on their values.
 */
export type PreparedEnvelope =
  | { readonly decided: EnvelopeDecision }
  | {
      readonly decided?: undefined;
      /** The counters the request uses up, to check and add to in one atomic step. */
      readonly entries: readonly QuotaEntry[];
      /** Only check the counters: a step-up must not spend the budget. */
      readonly dryRun: boolean;
      readonly envelope: Envelope;
      readonly request: EnvelopeRequest;
      readonly now: Date;
      readonly plan: QuotaPlan;
    };

/**
 * Prepares the envelope decision of one request. Core's pure `evaluateEnvelope` makes every
 * decision; the quota store makes the counting atomic. The request is first judged as if
 * nothing had been used yet: what that refuses is refused without touching a counter. Otherwise
 * every counter the envelope limits is checked and incremented in one atomic step (only checked,
 * for a step-up) and {@link settleEnvelope} judges the request again on the counters as they
 * were just before it — the same values the atomic step judged, so both agree and N concurrent
 * requests across replicas allow exactly the limit.
 */
export function prepareEnvelope(
  grantId: string,
  envelope: Envelope | undefined,
  request: EnvelopeRequest,
  now: Date,
): PreparedEnvelope {
  const unused = evaluateEnvelope(envelope, request, NO_USAGE, now);
  if (unused.outcome === "deny" || envelope === undefined) return { decided: unused };
  const plan = planFor(grantId, envelope);
  if (plan.counters.length === 0) return { decided: unused };
  return {
    entries: quotaEntries(plan, grantId, request, now),
    dryRun: unused.outcome === "step_up",
    envelope,
    request,
    now,
    plan,
  };
}

/** The decision on the counters as they were just before the request (`before`, in order). */
export function settleEnvelope(
  prepared: PreparedEnvelope & { decided?: undefined },
  withinLimits: boolean,
  before: readonly number[],
): EnvelopeDecision {
  const { envelope, request, now, plan, entries } = prepared;
  const decision = evaluateEnvelope(envelope, request, countersBefore(plan, before), now);
  if (withinLimits || decision.outcome === "deny") return decision;
  // Unreachable while both judge alike; if they ever disagree, the counters' refusal stands.
  const full = entries.findIndex(
    (entry, index) => (before[index] ?? 0) + entry.increment > entry.limit,
  );
  return {
    outcome: "deny",
    reason: plan.counters[full]?.reason ?? "rate_limited",
    message: "A limit of the grant has been reached",
  };
}

/** One counter an envelope limits, as every request of its grant uses it. */
interface PlannedCounter {
  /** Names the counter within the grant: `rate:3600`, `burst`, `spend:EUR:86400`. */
  readonly name: string;
  readonly windowSeconds: number;
  readonly limit: number;
  /** Why it would refuse. */
  readonly reason: EnvelopeDenyReason;
  /** Spend counters: the currency a payment must be in to be added (others add 0). */
  readonly currency?: string;
  /** The key of the current window, kept while the window lasts. */
  window?: { readonly start: number; readonly key: string; readonly expiresAt: Date };
}

/** The counters one grant's envelope limits, worked out once per envelope. */
interface QuotaPlan {
  readonly counters: readonly PlannedCounter[];
  readonly rateIndex: number;
  readonly burstIndex: number;
  /** Spend counter key (`EUR:86400`) → its index in `counters`. */
  readonly spendIndex: ReadonlyMap<string, number>;
}

// The envelopes are those of verified tokens, kept by the token cache (tokens with equal details
// share one): each is planned once per grant.
const plans = new WeakMap<Envelope, Map<string, QuotaPlan>>();
const MAX_GRANTS_PER_ENVELOPE = 1_000;

function planFor(grantId: string, envelope: Envelope): QuotaPlan {
  let byGrant = plans.get(envelope);
  if (byGrant === undefined) {
    byGrant = new Map();
    plans.set(envelope, byGrant);
  }
  let plan = byGrant.get(grantId);
  if (plan === undefined) {
    plan = planQuotas(envelope);
    if (byGrant.size >= MAX_GRANTS_PER_ENVELOPE) byGrant.clear();
    byGrant.set(grantId, plan);
  }
  return plan;
}

// The counters one envelope limits: its rate and burst windows, and every spend cap (a payment
// is added to caps of its currency, zero to the others, whose usage the answer still reports).
function planQuotas(envelope: Envelope): QuotaPlan {
  const counters: PlannedCounter[] = [];
  const rate = envelope.rate_limit;
  let rateIndex = -1;
  let burstIndex = -1;
  if (rate !== undefined) {
    rateIndex = counters.length;
    counters.push({
      name: `rate:${rate.window_seconds}`,
      windowSeconds: rate.window_seconds,
      limit: rate.max_requests,
      reason: "rate_limited",
    });
    if (rate.burst !== undefined) {
      burstIndex = counters.length;
      counters.push({
        name: "burst",
        windowSeconds: 1,
        limit: rate.burst,
        reason: "burst_limited",
      });
    }
  }
  const spendIndex = new Map<string, number>();
  for (const cap of envelope.spend_caps ?? []) {
    const counter = spendCounterKey(cap.currency, cap.window_seconds);
    const capacity = tryParseAmount(cap.amount, cap.currency);
    const limit = capacity.ok ? capacity.minor : 0;
    const known = spendIndex.get(counter);
    if (known !== undefined) {
      // Two caps on one counter: the smaller one binds.
      const planned = counters[known] as PlannedCounter;
      counters[known] = { ...planned, limit: Math.min(planned.limit, limit) };
      continue;
    }
    spendIndex.set(counter, counters.length);
    counters.push({
      name: `spend:${counter}`,
      windowSeconds: cap.window_seconds,
      limit,
      reason: "spend_cap_exceeded",
      currency: cap.currency,
    });
  }
  return { counters, rateIndex, burstIndex, spendIndex };
}

function quotaEntries(
  plan: QuotaPlan,
  grantId: string,
  request: EnvelopeRequest,
  now: Date,
): QuotaEntry[] {
  const payment =
    request.amount === undefined
      ? undefined
      : tryParseAmount(request.amount.amount, request.amount.currency);
  const paid = payment?.ok === true ? payment.minor : 0;
  const entries: QuotaEntry[] = [];
  for (const counter of plan.counters) {
    const start = currentWindowStart(counter.windowSeconds, now);
    let window = counter.window;
    if (window?.start !== start) {
      window = {
        start,
        key: `grant:${grantId}:${counter.name}:${start}`,
        expiresAt: new Date((start + counter.windowSeconds) * 1000),
      };
      counter.window = window;
    }
    const increment =
      counter.currency === undefined ? 1 : request.amount?.currency === counter.currency ? paid : 0;
    entries.push({ key: window.key, increment, limit: counter.limit, expiresAt: window.expiresAt });
  }
  return entries;
}

function countersBefore(plan: QuotaPlan, before: readonly number[]): EnvelopeCounters {
  const spent: Record<string, number> = {};
  for (const [counter, index] of plan.spendIndex) spent[counter] = before[index] ?? 0;
  return {
    requestsInWindow: plan.rateIndex < 0 ? 0 : (before[plan.rateIndex] ?? 0),
    requestsInBurstWindow: plan.burstIndex < 0 ? 0 : (before[plan.burstIndex] ?? 0),
    spent,
  };
}
