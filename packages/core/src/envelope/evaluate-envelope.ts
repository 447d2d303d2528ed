import type { CapabilityType } from "../capabilities/capability.js";
import { formatAmount } from "../money/format-amount.js";
import type { Money } from "../money/money.js";
import { tryParseAmount } from "../money/parse-amount.js";
import type { Envelope, RateLimit, SpendCap, TimeWindow } from "./envelope.js";
import {
  currentWindowStart,
  type EnvelopeCounters,
  readTime,
  spendCounterKey,
} from "./envelope-counters.js";
import { formatCount, formatWindow } from "./format-units.js";
import { localMinuteOfWeek, windowCovers } from "./time-window.js";

/** Why an envelope refused a request; stable strings for clients and audit. */
export type EnvelopeDenyReason =
  | "outside_time_window"
  | "rate_limited"
  | "burst_limited"
  | "amount_required"
  | "currency_not_allowed"
  | "transaction_limit_exceeded"
  | "spend_cap_exceeded"
  | "invalid_amount";

/** The part of a request an envelope looks at; a `CapabilityRequest` fits. */
export interface EnvelopeRequest {
  /**
   * When "read", "write" or "delete", a request without an amount passes the money limits: such
   * requests never move money. Any other action (or none) must state an amount when the
   * envelope has money limits.
   */
  action?: CapabilityType;
  amount?: Money;
}

export interface EnvelopeSpendRemaining {
  currency: string;
  window_seconds: number;
  /** Decimal string, after this request. */
  remaining: string;
}

export type EnvelopeDecision =
  | { outcome: "allow"; remaining: { requests?: number; spend?: EnvelopeSpendRemaining[] } }
  | { outcome: "deny"; reason: EnvelopeDenyReason; message: string; retryAfterSeconds?: number }
  | { outcome: "step_up"; reason: "step_up_required"; message: string };

const NON_MONETARY_ACTIONS: ReadonlySet<CapabilityType | undefined> = new Set([
  "read",
  "write",
  "delete",
]);

/**
 * Decides whether one request stays inside `envelope`, given the usage `counters` from before
 * it. Checks, in order: time windows; the amount (well-formed, present when money is limited,
 * in a currency the limits mention, within the per-payment maximum); spend caps; rate; burst;
 * then step-up. Any deny wins over step-up. Pure: the caller records usage, for "allow" only.
 * Throws `TypeError` for an invalid `now` or malformed counters (caller bugs).
 */
export function evaluateEnvelope(
  envelope: Envelope | undefined,
  request: EnvelopeRequest,
  counters: EnvelopeCounters,
  now: Date,
): EnvelopeDecision {
  // Caller bugs fail loudly here rather than as a wrong decision later.
  readTime(now);
  assertValidCounters(counters);
  const limits: Omit<Envelope, "type"> = envelope ?? {};

  if (limits.time_windows !== undefined && !isInsideTimeWindows(limits.time_windows, now)) {
    return deny("outside_time_window", "The grant does not allow requests at this time");
  }
  const amount = checkAmount(envelope, request);
  if ("outcome" in amount) return amount;
  const spend = checkSpendCaps(limits.spend_caps ?? [], amount.payment, counters, now);
  if (!Array.isArray(spend)) return spend;
  const requests = checkRate(limits.rate_limit, counters, now);
  if (typeof requests === "object") return requests;

  const threshold = limits.step_up_above;
  const payment = amount.payment;
  if (
    payment !== undefined &&
    threshold?.currency === payment.currency &&
    exceeds(payment.minor, threshold)
  ) {
    return {
      outcome: "step_up",
      reason: "step_up_required",
      message: `Payments above ${threshold.amount} ${threshold.currency} need a fresh approval`,
    };
  }
  const remaining: { requests?: number; spend?: EnvelopeSpendRemaining[] } = {};
  if (requests !== undefined) remaining.requests = requests;
  if (spend.length > 0) remaining.spend = spend;
  return { outcome: "allow", remaining };
}

type Denial = EnvelopeDecision & { outcome: "deny" };

interface Payment {
  currency: string;
  minor: number;
}

// The payment the request makes, if any, once it is known to be well-formed, allowed in its
// currency and within the per-payment maximum.
function checkAmount(
  envelope: Envelope | undefined,
  request: EnvelopeRequest,
): Denial | { payment?: Payment } {
  if (request.amount === undefined) {
    if (!hasMoneyLimits(envelope) || NON_MONETARY_ACTIONS.has(request.action)) return {};
    return deny(
      "amount_required",
      "The grant limits payments, so the request must state its amount",
    );
  }
  const { amount } = request;
  const parsed =
    typeof amount === "object" && amount !== null
      ? tryParseAmount(amount.amount, amount.currency)
      : { ok: false as const, problem: "must be an object" };
  if (!parsed.ok) return deny("invalid_amount", `The request amount ${parsed.problem}`);
  const payment = { currency: amount.currency, minor: parsed.minor };
  if (hasMoneyLimits(envelope) && !mentionsCurrency(envelope, payment.currency)) {
    return deny("currency_not_allowed", `The grant does not allow payments in ${payment.currency}`);
  }
  const maximum = envelope?.max_transaction_amount;
  if (maximum?.currency === payment.currency && exceeds(payment.minor, maximum)) {
    return deny(
      "transaction_limit_exceeded",
      `${describePayment(payment)} is more than the ${maximum.amount} ${maximum.currency} allowed per payment`,
    );
  }
  return { payment };
}

// What every cap has left after this payment, or the denial of the first cap it would break.
function checkSpendCaps(
  caps: readonly SpendCap[],
  payment: Payment | undefined,
  counters: EnvelopeCounters,
  now: Date,
): Denial | EnvelopeSpendRemaining[] {
  const remaining: EnvelopeSpendRemaining[] = [];
  for (const cap of caps) {
    const capacity = tryParseAmount(cap.amount, cap.currency);
    // A malformed cap (possible only in an unvalidated envelope) allows nothing.
    const capMinor = capacity.ok ? capacity.minor : 0;
    const spent = counters.spent[spendCounterKey(cap.currency, cap.window_seconds)] ?? 0;
    const left = Math.max(0, capMinor - spent);
    const charge = payment?.currency === cap.currency ? payment.minor : 0;
    if (charge > left) {
      return deny(
        "spend_cap_exceeded",
        `${describePayment(payment)} would exceed the cap of ${cap.amount} ${cap.currency} ${formatWindow(cap.window_seconds, "per")} (${formatAmount(spent, cap.currency)} ${cap.currency} already spent)`,
        // Waiting helps only if the payment fits into an empty window.
        charge <= capMinor ? secondsLeftInWindow(cap.window_seconds, now) : undefined,
      );
    }
    remaining.push({
      currency: cap.currency,
      window_seconds: cap.window_seconds,
      remaining: formatAmount(left - charge, cap.currency),
    });
  }
  return remaining;
}

// Requests left in the window after this one, or the denial.
function checkRate(
  rate: RateLimit | undefined,
  counters: EnvelopeCounters,
  now: Date,
): Denial | number | undefined {
  if (rate === undefined) return undefined;
  if (counters.requestsInWindow + 1 > rate.max_requests) {
    return deny(
      "rate_limited",
      `The grant allows at most ${formatCount(rate.max_requests, "request")} ${formatWindow(rate.window_seconds, "a")}`,
      secondsLeftInWindow(rate.window_seconds, now),
    );
  }
  if (rate.burst !== undefined && counters.requestsInBurstWindow + 1 > rate.burst) {
    return deny(
      "burst_limited",
      `The grant allows bursts of at most ${formatCount(rate.burst, "request")} a second`,
      secondsLeftInWindow(1, now),
    );
  }
  return rate.max_requests - counters.requestsInWindow - 1;
}

// True when `minor` is above `limit`, or when the limit is malformed (fail closed).
function exceeds(minor: number, limit: Money): boolean {
  const parsed = tryParseAmount(limit.amount, limit.currency);
  return !parsed.ok || minor > parsed.minor;
}

function describePayment(payment: Payment | undefined): string {
  return payment === undefined
    ? "The payment"
    : `${formatAmount(payment.minor, payment.currency)} ${payment.currency}`;
}

function isInsideTimeWindows(windows: readonly TimeWindow[], now: Date): boolean {
  return windows.some((window) => {
    // A zone this runtime does not know (older time zone data) allows nothing: fail closed.
    const minute = localMinuteOfWeek(now, window.time_zone);
    return minute !== undefined && windowCovers(window, minute);
  });
}

function secondsLeftInWindow(windowSeconds: number, now: Date): number {
  const endMs = (currentWindowStart(windowSeconds, now) + windowSeconds) * 1000;
  return Math.max(1, Math.ceil((endMs - now.getTime()) / 1000));
}

// The money limits of `listMoneyLimits` (envelope.ts), asked about without listing them: this
// runs on every verified request.
function hasMoneyLimits(envelope: Envelope | undefined): envelope is Envelope {
  return (
    envelope !== undefined &&
    (envelope.max_transaction_amount !== undefined ||
      (envelope.spend_caps !== undefined && envelope.spend_caps.length > 0) ||
      envelope.step_up_above !== undefined)
  );
}

function mentionsCurrency(envelope: Envelope, currency: string): boolean {
  if (envelope.max_transaction_amount?.currency === currency) return true;
  for (const cap of envelope.spend_caps ?? []) if (cap.currency === currency) return true;
  return envelope.step_up_above?.currency === currency;
}

function assertValidCounters(counters: EnvelopeCounters): void {
  let valid = isCount(counters.requestsInWindow) && isCount(counters.requestsInBurstWindow);
  for (const key in counters.spent) {
    if (Object.hasOwn(counters.spent, key)) valid &&= isCount(counters.spent[key]);
  }
  if (!valid) throw new TypeError("Envelope counters must be non-negative safe integers");
}

function isCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function deny(reason: EnvelopeDenyReason, message: string, retryAfterSeconds?: number): Denial {
  return retryAfterSeconds === undefined
    ? { outcome: "deny", reason, message }
    : { outcome: "deny", reason, message, retryAfterSeconds };
}
