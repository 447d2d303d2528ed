import {
  describeDroppedLimit,
  findMoneyWidening,
  type Widening,
} from "../capabilities/widening.js";
import type { Money } from "../money/money.js";
import { tryParseAmount } from "../money/parse-amount.js";
import {
  type Envelope,
  listMoneyLimits,
  type RateLimit,
  type SpendCap,
  type TimeWindow,
} from "./envelope.js";
import { formatMinuteOfWeek, listWeeklyIntervals, MINUTES_PER_WEEK } from "./time-window.js";

/**
 * The first way `candidate` allows more than `granted`, or `undefined` when it allows no more.
 * Every limit `granted` sets must be kept and not loosened; the candidate may add limits.
 */
export function findEnvelopeWidening(
  candidate: Envelope | undefined,
  granted: Envelope | undefined,
): Widening | undefined {
  if (granted === undefined) return undefined;
  if (candidate === undefined) return describeDroppedLimit("envelope");
  return (
    findRateLimitWidening(candidate.rate_limit, granted.rate_limit) ??
    findTimeWindowWidening(candidate.time_windows, granted.time_windows) ??
    findMoneyLimitWidening(
      "max_transaction_amount",
      candidate.max_transaction_amount,
      granted.max_transaction_amount,
    ) ??
    findSpendCapWidening(candidate.spend_caps, granted.spend_caps) ??
    findMoneyLimitWidening("step_up_above", candidate.step_up_above, granted.step_up_above) ??
    findLifetimeWidening(
      candidate.max_token_lifetime_seconds,
      granted.max_token_lifetime_seconds,
    ) ??
    findCurrencyWidening(candidate, granted)
  );
}

// Windows are fixed and aligned to the Unix epoch, so a window k times as long is exactly k
// consecutive granted windows, and every granted window lies inside one candidate window. At
// most N requests in the long window therefore means at most N in each granted window. The
// same holds for 1-second burst windows, which is why a candidate without `burst` is still
// limited to `max_requests` per second.
function findRateLimitWidening(
  candidate: RateLimit | undefined,
  granted: RateLimit | undefined,
): Widening | undefined {
  if (granted === undefined) return undefined;
  if (candidate === undefined) return describeDroppedLimit("envelope.rate_limit");
  const path = "envelope.rate_limit";
  if (candidate.window_seconds % granted.window_seconds !== 0) {
    return {
      path: `${path}.window_seconds`,
      reason: `must be a whole multiple of the granted ${granted.window_seconds} seconds`,
    };
  }
  if (candidate.max_requests > granted.max_requests) {
    return {
      path: `${path}.max_requests`,
      reason: `${candidate.max_requests} is more than the granted ${granted.max_requests}`,
    };
  }
  const candidateBurst = candidate.burst ?? candidate.max_requests;
  if (granted.burst !== undefined && candidateBurst > granted.burst) {
    return {
      path: `${path}.burst`,
      reason: `${candidateBurst} requests a second is more than the granted ${granted.burst}`,
    };
  }
  return undefined;
}

// Compared minute by minute of the local week, per time zone: each candidate window must lie
// inside the union of the granted windows in its zone. Zones are never mixed, as their offsets
// drift apart with DST.
function findTimeWindowWidening(
  candidate: readonly TimeWindow[] | undefined,
  granted: readonly TimeWindow[] | undefined,
): Widening | undefined {
  if (granted === undefined) return undefined;
  if (candidate === undefined) return describeDroppedLimit("envelope.time_windows");
  for (const [index, window] of candidate.entries()) {
    const allowed = markMinutes(granted.filter((other) => other.time_zone === window.time_zone));
    for (const { opensAt, length } of listWeeklyIntervals(window)) {
      for (let offset = 0; offset < length; offset++) {
        const minute = (opensAt + offset) % MINUTES_PER_WEEK;
        if (allowed[minute] !== 1) {
          return {
            path: `envelope.time_windows[${index}]`,
            reason: `includes ${formatMinuteOfWeek(minute)} (${window.time_zone}), outside every granted window in that time zone`,
          };
        }
      }
    }
  }
  return undefined;
}

function markMinutes(windows: readonly TimeWindow[]): Uint8Array {
  const minutes = new Uint8Array(MINUTES_PER_WEEK);
  for (const window of windows) {
    for (const { opensAt, length } of listWeeklyIntervals(window)) {
      for (let offset = 0; offset < length; offset++)
        minutes[(opensAt + offset) % MINUTES_PER_WEEK] = 1;
    }
  }
  return minutes;
}

function findMoneyLimitWidening(
  field: "max_transaction_amount" | "step_up_above",
  candidate: Money | undefined,
  granted: Money | undefined,
): Widening | undefined {
  if (granted === undefined) return undefined;
  const path = `envelope.${field}`;
  if (candidate === undefined) return describeDroppedLimit(path);
  return findMoneyWidening(candidate, granted, {
    amount: `${path}.amount`,
    currency: `${path}.currency`,
  });
}

// Same reasoning as for rate limits: a cap over a whole multiple of the granted window bounds
// the spend in every granted window inside it.
function findSpendCapWidening(
  candidate: readonly SpendCap[] | undefined,
  granted: readonly SpendCap[] | undefined,
): Widening | undefined {
  if (granted === undefined) return undefined;
  if (candidate === undefined) return describeDroppedLimit("envelope.spend_caps");
  for (const [index, cap] of granted.entries()) {
    const limit = tryParseAmount(cap.amount, cap.currency);
    const kept = candidate.some((other) => {
      const amount = tryParseAmount(other.amount, other.currency);
      return (
        other.currency === cap.currency &&
        other.window_seconds % cap.window_seconds === 0 &&
        amount.ok &&
        limit.ok &&
        amount.minor <= limit.minor
      );
    });
    if (!kept) {
      return {
        path: "envelope.spend_caps",
        reason: `must keep granted spend_caps[${index}]: at most ${cap.amount} ${cap.currency} per ${cap.window_seconds} seconds (or per a whole multiple of that window)`,
      };
    }
  }
  return undefined;
}

function findLifetimeWidening(
  candidate: number | undefined,
  granted: number | undefined,
): Widening | undefined {
  if (granted === undefined) return undefined;
  const path = "envelope.max_token_lifetime_seconds";
  if (candidate === undefined) return describeDroppedLimit(path);
  return candidate > granted
    ? { path, reason: `${candidate} is more than the granted ${granted}` }
    : undefined;
}

// Money limits also say which currencies may be paid at all (see listMoneyLimits): a candidate
// that adds, say, a USD spend cap to a EUR-only grant would open USD payments.
function findCurrencyWidening(candidate: Envelope, granted: Envelope): Widening | undefined {
  const allowed = new Set(listMoneyLimits(granted).map((limit) => limit.currency));
  if (allowed.size === 0) return undefined;
  const added = listMoneyLimits(candidate).find((limit) => !allowed.has(limit.currency));
  if (added === undefined) return undefined;
  return {
    path: `envelope.${added.path}.currency`,
    reason: `${added.currency} payments are not allowed by the grant`,
  };
}
