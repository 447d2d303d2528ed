// @agentauth/express — AgentAuth for service providers on Express 5: `requireCapability` asks
// the verifier about each agent request and answers refusals as RFC 9449 / RFC 6750 say; RFC
// 9728 protected-resource metadata. Verification in this process: `@agentauth/express/in-process`.

export type { AgentAuthContext, RemainingSpend } from "./agent-auth-context.js";
export { getAgentAuth } from "./agent-auth-context.js";
export type { FromRequest, RequireCapabilityOptions } from "./capability-action.js";
export type { AgentAuth, AgentAuthOptions } from "./create-agent-auth.js";
export { createAgentAuth } from "./create-agent-auth.js";
export type { AgentAuthExpressErrorOptions, ErrorCode } from "./errors.js";
export { AgentAuthExpressError, ERROR_CODES, isAgentAuthExpressError } from "./errors.js";
export type {
  ProtectedResourceMetadata,
  ProtectedResourceMetadataOptions,
} from "./protected-resource-metadata.js";
export {
  buildProtectedResourceMetadata,
  metadataUrlOf,
  WELL_KNOWN_PATH,
} from "./protected-resource-metadata.js";
export type { RemoteVerificationOptions } from "./remote-verification.js";
export { createRemoteVerification } from "./remote-verification.js";
export type {
  SpendRemaining,
  Verification,
  VerificationAction,
  VerificationAnswer,
  VerificationRequest,
} from "./verification.js";
