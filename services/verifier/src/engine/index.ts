// `@agentauth/verifier/engine` — the verifier's checks for a process that verifies its agents'
// requests itself (in-process verification): the same program as the verifier service, without
// its HTTP surface, metrics or logging. See docs/verifier.md#the-engine-in-process-verification.

export type { Clock } from "../clock.js";
export type { AllowAuditMode } from "../decisions/decision-recorder.js";
export type { DenyReason } from "../decisions/reasons.js";
export type { VerifyAnswer } from "../verification/verify-request.js";
export type { VerifyAction, VerifyRequest } from "../verification/verify-request-shape.js";
export type {
  JsonWebKeySet,
  JwksSource,
  RedisVerificationState,
  VerificationEngine,
  VerificationEngineEvents,
  VerificationEngineOptions,
  VerificationState,
} from "./verification-engine.js";
export { createVerificationEngine } from "./verification-engine.js";
