// @agentauth/verifier — the verifier service, embeddable: `createVerifier` gives a node:http
// request listener for a process that already has its state adapters (tests, a co-hosting
// process on embedded defaults). The checks alone, without HTTP, metrics or logging, are
// `@agentauth/verifier/engine`.
export type { AllowAuditMode, VerifierConfig } from "./config.js";
export { ConfigError, parseConfig } from "./config.js";
export type {
  SeparateStoresVerifierState,
  Verifier,
  VerifierDeps,
  VerifierState,
} from "./create-verifier.js";
export { createVerifier } from "./create-verifier.js";
export type { DenyReason } from "./decisions/reasons.js";
export type { VerifyAnswer } from "./verification/verify-request.js";
export type { VerifyAction, VerifyRequest } from "./verification/verify-request-shape.js";
