import {
  type AuthorizationDetails,
  type Capability,
  type Envelope,
  isAgentAuthError,
  parseAuthorizationDetails,
  toAuthorizationDetails,
} from "@agentauth/core";

/** An envelope as the agent writes it: `type: "envelope"` may be left out. */
export type EnvelopeInput = Omit<Envelope, "type"> & { readonly type?: "envelope" };

/**
 * Validates capabilities and an envelope with core's rules (protocol.md §2) before they are
 * sent, so a mistake is a `TypeError` naming it rather than a round trip. Answers the RFC 9396
 * `authorization_details` JSON.
 */
export function authorizationDetailsParameter(
  capabilities: readonly Capability[] | undefined,
  envelope: EnvelopeInput | undefined,
  what: string,
): { json: string; authorization: AuthorizationDetails } {
  if (!Array.isArray(capabilities) || capabilities.length === 0) {
    throw new TypeError(`${what}: capabilities must be a non-empty array`);
  }
  if (envelope !== undefined && (typeof envelope !== "object" || envelope === null)) {
    throw new TypeError(`${what}: envelope must be an object`);
  }
  const details =
    envelope === undefined
      ? [...capabilities]
      : [...capabilities, { ...envelope, type: "envelope" }];
  let authorization: AuthorizationDetails;
  try {
    authorization = parseAuthorizationDetails(details);
  } catch (error) {
    if (!isAgentAuthError(error)) throw error;
    const issues = (error.details?.issues as { path: string; message: string }[] | undefined) ?? [];
    const listed = issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
    throw new TypeError(`${what}: ${listed === "" ? error.message : listed}`, { cause: error });
  }
  return { json: JSON.stringify(toAuthorizationDetails(authorization)), authorization };
}
