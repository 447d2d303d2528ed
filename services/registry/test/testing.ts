// `@agentauth/registry/testing`: the registry's test kit for other packages' tests — a real
// registry in-process (in-memory state, a real signing key, a first admin enrolled with a
// software passkey), on a real socket when asked, and clients for its humans and agents.
// Test-only: it imports Vitest.

export * from "./grants/grant-helpers.js";
export {
  type CreateTestAgentOptions,
  createTestAgent,
  type DpopProofRequest,
  type TestAgent,
} from "./kit/agent-client.js";
export { createHumanClient, type HumanClient } from "./kit/human-client.js";
export { createSoftwareAuthenticator } from "./kit/software-authenticator.js";
export * from "./support/test-registry.js";
export * from "./support/test-registry-server.js";
