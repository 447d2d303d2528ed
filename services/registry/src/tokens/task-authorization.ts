import {
  type AuthorizationDetails,
  assertNarrowerOrEqual,
  type Envelope,
  parseAmount,
} from "@agentauth/core";
import { RegistryError } from "../errors.js";

/**
 * What a per-task token may do under a grant: `requested` (by default the grant's own
 * capabilities; an envelope left out is the grant's), refused unless it narrows `granted`.
 *
 * Core's narrowing rule is not quite enough here. A task token is used beside the grant's other
 * tokens, and verifiers count a grant's usage per counter (`rate:<window>`, `burst`,
 * `spend:<currency>:<window>`, keyed by the grant). A narrowed envelope may count in longer
 * windows (a whole multiple) than the grant's; its requests would then never reach the grant's
 * counters, and the grant's tokens and its task tokens together could exceed what the human
 * approved. So each counter the grant's envelope keeps, the task's keeps too — the same rate
 * window, a burst limit when the grant has one, a spend cap in each of the grant's currencies
 * and windows — with a limit no higher. Throws `ERR_GRANT_WIDENED` (core) or
 * `ERR_INVALID_AUTHORIZATION_DETAILS`.
 */
export function narrowForTask(
  requested: AuthorizationDetails | undefined,
  granted: AuthorizationDetails,
): AuthorizationDetails {
  const candidate: AuthorizationDetails = {
    capabilities: requested?.capabilities ?? granted.capabilities,
    envelope: requested?.envelope ?? granted.envelope,
  };
  assertNarrowerOrEqual(candidate, granted);
  if (granted.envelope !== undefined && candidate.envelope !== undefined) {
    assertSameCounters(candidate.envelope, granted.envelope);
  }
  return candidate;
}

function assertSameCounters(candidate: Envelope, granted: Envelope): void {
  const grantedRate = granted.rate_limit;
  if (grantedRate !== undefined) {
    const rate = candidate.rate_limit;
    if (rate === undefined || rate.window_seconds !== grantedRate.window_seconds) {
      refuse(
        "envelope.rate_limit.window_seconds",
        `must be the grant's (${grantedRate.window_seconds}), so the grant's rate limit counts the task's requests too`,
      );
    }
    if (grantedRate.burst !== undefined && rate.burst === undefined) {
      refuse(
        "envelope.rate_limit.burst",
        `is required (at most ${grantedRate.burst}), so the grant's burst limit counts the task's requests too`,
      );
    }
  }
  for (const [index, cap] of (granted.spend_caps ?? []).entries()) {
    const limit = minorUnits(cap.amount, cap.currency);
    const kept = (candidate.spend_caps ?? []).some(
      (own) =>
        own.currency === cap.currency &&
        own.window_seconds === cap.window_seconds &&
        minorUnits(own.amount, own.currency) <= limit,
    );
    if (!kept) {
      refuse(
        "envelope.spend_caps",
        `must keep the grant's spend_caps[${index}] (${cap.amount} ${cap.currency} per ${cap.window_seconds} s) with the same window and no higher amount, so that cap counts the task's spending too`,
      );
    }
  }
}

// Both envelopes were validated by core already: their amounts parse.
function minorUnits(amount: string, currency: string): number {
  return parseAmount(amount, currency, { errorCode: "ERR_ENVELOPE_INVALID" });
}

function refuse(path: string, reason: string): never {
  throw new RegistryError(
    "ERR_INVALID_AUTHORIZATION_DETAILS",
    `A task token's authorization_details: ${path} ${reason}`,
    { details: { path, reason } },
  );
}
