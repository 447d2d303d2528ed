// @agentauth/express/in-process — verification in this process, by the verifier's own engine,
// for service providers that cannot afford the hop to the verifier. Needs the optional peer
// dependencies @agentauth/verifier and @agentauth/state; remote-only apps never load this.

export type {
  VerificationEngine,
  VerificationEngineOptions,
} from "@agentauth/verifier/engine";
export { createVerificationEngine } from "@agentauth/verifier/engine";
export type { InProcessVerificationOptions } from "./in-process-verification.js";
export { createInProcessVerification } from "./in-process-verification.js";
