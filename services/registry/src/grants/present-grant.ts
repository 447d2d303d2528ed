import { describeCapability, describeEnvelope, parseAuthorizationDetails } from "@agentauth/core";

/** Capabilities and envelope as the approval app shows them: the data and plain English. */
export function presentAuthorization(authorizationDetails: unknown) {
  const { capabilities, envelope } = parseAuthorizationDetails(authorizationDetails);
  return {
    authorization_details: authorizationDetails,
    capabilities: capabilities.map((capability) => ({
      capability,
      ...describeCapability(capability),
    })),
    envelope: envelope === undefined ? null : { envelope, lines: describeEnvelope(envelope) },
  };
}
