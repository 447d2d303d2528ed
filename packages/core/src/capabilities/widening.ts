import type { Money } from "../money/money.js";
import { tryParseAmount } from "../money/parse-amount.js";

/** Where a candidate grant allows more than the grant it should narrow, and why. */
export interface Widening {
  /** e.g. `capabilities[1].max_items`, `envelope.rate_limit.burst`. */
  path: string;
  reason: string;
}

/**
 * A money limit narrows another when it is in the same currency and not larger. Amounts that do
 * not parse count as widening: the comparison fails closed.
 */
export function findMoneyWidening(
  candidate: Money,
  granted: Money,
  paths: { amount: string; currency: string },
): Widening | undefined {
  if (candidate.currency !== granted.currency) {
    return { path: paths.currency, reason: `must be ${granted.currency}, as granted` };
  }
  const candidateAmount = tryParseAmount(candidate.amount, candidate.currency);
  const grantedAmount = tryParseAmount(granted.amount, granted.currency);
  if (!candidateAmount.ok || !grantedAmount.ok) {
    return { path: paths.amount, reason: "cannot be compared: an amount is malformed" };
  }
  if (candidateAmount.minor > grantedAmount.minor) {
    return {
      path: paths.amount,
      reason: `${candidate.amount} ${candidate.currency} is more than the granted ${granted.amount} ${granted.currency}`,
    };
  }
  return undefined;
}

/** A limit the grant sets that the candidate dropped. */
export function describeDroppedLimit(path: string): Widening {
  return { path, reason: "must be kept: the grant sets this limit" };
}
