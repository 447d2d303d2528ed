import type { Envelope } from "../envelope/envelope.js";
import type { Capability } from "./capability.js";
import { validateAuthorizationDetails } from "./validate-authorization-details.js";
import { throwValidationError } from "./validation-issues.js";

/** What a grant allows: its capabilities, and the envelope limiting how they are used. */
export interface AuthorizationDetails {
  capabilities: readonly Capability[];
  envelope?: Envelope | undefined;
}

/** What {@link parseAuthorizationDetails} returns: fresh arrays, and the envelope key always set. */
export interface ParseAuthorizationDetailsResult extends AuthorizationDetails {
  capabilities: Capability[];
  envelope: Envelope | undefined;
}

/** One RFC 9396 `authorization_details` entry as AgentAuth uses it. */
export type AuthorizationDetail = Capability | Envelope;

/**
 * Validates an RFC 9396 `authorization_details` array: at least one capability, at most one
 * envelope entry, no entry twice, nothing unknown. Throws `ERR_CAPABILITY_INVALID` or
 * `ERR_ENVELOPE_INVALID` (after the first problem) with every problem in `details.issues`.
 */
export function parseAuthorizationDetails(value: unknown): ParseAuthorizationDetailsResult {
  const result = validateAuthorizationDetails(value, {
    root: "authorization_details",
    allowEnvelope: true,
  });
  if (!result.ok) return throwValidationError(result.code, result.issues);
  return { capabilities: result.capabilities, envelope: result.envelope };
}

/** The `authorization_details` array for a grant: its capabilities, then its envelope if any. */
export function toAuthorizationDetails(details: AuthorizationDetails): AuthorizationDetail[] {
  return details.envelope === undefined
    ? [...details.capabilities]
    : [...details.capabilities, details.envelope];
}
