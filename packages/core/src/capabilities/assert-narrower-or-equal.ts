import { findEnvelopeWidening } from "../envelope/find-envelope-widening.js";
import { AgentAuthError } from "../errors.js";
import type { AuthorizationDetails } from "./authorization-details.js";
import { findCapabilityWidening } from "./find-capability-widening.js";
import type { Widening } from "./widening.js";

/**
 * Throws `ERR_GRANT_WIDENED` (with `details: { path, reason }`) unless `candidate` allows
 * nothing that `granted` does not: how a human's narrowing, or a delegation, is checked.
 *
 * @example assertNarrowerOrEqual(approvedByHuman, requestedByAgent)
 */
export function assertNarrowerOrEqual(
  candidate: AuthorizationDetails,
  granted: AuthorizationDetails,
): void {
  const widening = findWidening(candidate, granted);
  if (widening !== undefined) {
    throw new AgentAuthError(
      "ERR_GRANT_WIDENED",
      `Grant widened at ${widening.path}: ${widening.reason}`,
      {
        details: { path: widening.path, reason: widening.reason },
      },
    );
  }
}

/** Whether `candidate` allows nothing that `granted` does not; see {@link assertNarrowerOrEqual}. */
export function isNarrowerOrEqual(
  candidate: AuthorizationDetails,
  granted: AuthorizationDetails,
): boolean {
  return findWidening(candidate, granted) === undefined;
}

function findWidening(
  candidate: AuthorizationDetails,
  granted: AuthorizationDetails,
): Widening | undefined {
  return (
    findCapabilityWidening(candidate.capabilities, granted.capabilities) ??
    findEnvelopeWidening(candidate.envelope, granted.envelope)
  );
}
