// @agentauth/state — state that AgentAuth services share across replicas: single-use markers,
// revocations, rate-limit counters, grant quotas (rate, burst and spend counters checked and
// added atomically), the service-provider API key directory verifiers authenticate against, and
// the durable decision log verifiers feed to the registry's audit chain. Redis adapters for
// production, in-process adapters for the embedded single-process default.

export type { AdmissionRequest, AdmissionResult, AdmissionStore } from "./admission-store.js";
export { createComposedAdmissionStore } from "./composed-admission-store.js";
export type {
  DecisionLog,
  DecisionRecord,
  DeliveredDecision,
} from "./decision-log.js";
export type {
  FixedWindowHitResult,
  FixedWindowLimiter,
} from "./fixed-window-limiter.js";
export type { MemoryAdmissionStoreOptions } from "./memory-admission-store.js";
export { createMemoryAdmissionStore } from "./memory-admission-store.js";
export type { MemoryDecisionLogOptions } from "./memory-decision-log.js";
export { createMemoryDecisionLog } from "./memory-decision-log.js";
export type { MemoryFixedWindowLimiterOptions } from "./memory-fixed-window-limiter.js";
export { createMemoryFixedWindowLimiter } from "./memory-fixed-window-limiter.js";
export type { MemoryQuotaStoreOptions } from "./memory-quota-store.js";
export { createMemoryQuotaStore } from "./memory-quota-store.js";
export type { MemoryReplayStoreOptions } from "./memory-replay-store.js";
export { createMemoryReplayStore } from "./memory-replay-store.js";
export type { MemoryRevocationBusOptions } from "./memory-revocation-bus.js";
export { createMemoryRevocationBus } from "./memory-revocation-bus.js";
export { createMemoryServiceProviderKeyDirectory } from "./memory-service-provider-key-directory.js";
export type { QuotaEntry, QuotaResult, QuotaStore } from "./quota-store.js";
export type { RedisAdmissionStoreOptions } from "./redis-admission-store.js";
export { createRedisAdmissionStore } from "./redis-admission-store.js";
export { createRedisClient, pingRedis } from "./redis-client.js";
export type { RedisDecisionLog, RedisDecisionLogOptions } from "./redis-decision-log.js";
export { createRedisDecisionLog } from "./redis-decision-log.js";
export type { RedisFixedWindowLimiterOptions } from "./redis-fixed-window-limiter.js";
export { createRedisFixedWindowLimiter } from "./redis-fixed-window-limiter.js";
export type { RedisQuotaStoreOptions } from "./redis-quota-store.js";
export { createRedisQuotaStore } from "./redis-quota-store.js";
export type { RedisReplayStoreOptions } from "./redis-replay-store.js";
export { createRedisReplayStore } from "./redis-replay-store.js";
export type { RedisRevocationBusOptions } from "./redis-revocation-bus.js";
export { createRedisRevocationBus } from "./redis-revocation-bus.js";
export type { RedisServiceProviderKeyDirectoryOptions } from "./redis-service-provider-key-directory.js";
export { createRedisServiceProviderKeyDirectory } from "./redis-service-provider-key-directory.js";
export type { ReplayStore } from "./replay-store.js";
export type {
  RevocationBus,
  RevocationKind,
  RevocationListener,
  RevocationRecord,
  RevocationSubscription,
} from "./revocation-bus.js";
export { REVOCATION_KINDS } from "./revocation-bus.js";
export { RevocationSet } from "./revocation-set.js";
export type {
  ServiceProviderKeyDirectory,
  ServiceProviderKeyRecord,
} from "./service-provider-key-directory.js";
export type { StateErrorCode } from "./state-error.js";
export { isStateError, STATE_ERROR_CODES, StateError } from "./state-error.js";
export { DEFAULT_KEY_PREFIX } from "./validate.js";
