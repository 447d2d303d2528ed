// @agentauth/sdk — the agent SDK, for Node >= 20 and browsers: WebCrypto, fetch, IndexedDB and
// Uint8Array only. The file key store and file grant storage, which need node:fs, are in
// `@agentauth/sdk/node`.

export type { Agent, AgentRequestInit, GrantOption, SignalOption } from "./agent.js";
export { createAgent } from "./agent.js";
export type { Clock } from "./clock.js";
export { systemClock } from "./clock.js";
export type {
  AgentAuthSdkErrorOptions,
  SdkErrorCode,
  SdkErrorDetails,
  StepUp,
} from "./errors.js";
export { AgentAuthSdkError, isAgentAuthSdkError, SDK_ERROR_CODES } from "./errors.js";
export type { EnvelopeInput } from "./grants/authorization-input.js";
export type {
  GrantRequest,
  RequestGrantOptions,
  WaitForApprovalOptions,
} from "./grants/grant-request.js";
export type { GrantStorage, SavedGrant, SavedGrants } from "./grants/grant-storage.js";
export type { IndexedDbGrantStorageOptions } from "./grants/indexed-db-grant-storage.js";
export { createIndexedDbGrantStorage } from "./grants/indexed-db-grant-storage.js";
export { createMemoryGrantStorage } from "./grants/memory-grant-storage.js";
export type { ErrorBody } from "./http/error-body.js";
export { parseErrorBody } from "./http/error-body.js";
export type { AuthChallenge } from "./http/www-authenticate.js";
export { findTokenChallenge, parseWwwAuthenticate } from "./http/www-authenticate.js";
export type { IndexedDbKeyStoreOptions } from "./keys/indexed-db-key-store.js";
export { createIndexedDbKeyStore } from "./keys/indexed-db-key-store.js";
export type { KeyStore, StoredAgentKey } from "./keys/key-store.js";
export type { MemoryKeyStoreOptions } from "./keys/memory-key-store.js";
export { createMemoryKeyStore } from "./keys/memory-key-store.js";
export type { SdkLogger } from "./logger.js";
export type { CreateAgentOptions } from "./options.js";
export type { Task, TaskOptions } from "./tasks/task.js";
export type { GrantInfo } from "./tokens/grant-store.js";
