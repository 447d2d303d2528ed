// @agentauth/state — state that AgentAuth services share across replicas: single-use markers,
// revocations and rate-limit counters. Redis adapters for production, in-process adapters for
// the embedded single-process default.

export type {
  FixedWindowHitResult,
  FixedWindowLimiter,
} from "./fixed-window-limiter.js";
export type { MemoryFixedWindowLimiterOptions } from "./memory-fixed-window-limiter.js";
export { createMemoryFixedWindowLimiter } from "./memory-fixed-window-limiter.js";
export type { MemoryReplayStoreOptions } from "./memory-replay-store.js";
export { createMemoryReplayStore } from "./memory-replay-store.js";
export type { MemoryRevocationBusOptions } from "./memory-revocation-bus.js";
export { createMemoryRevocationBus } from "./memory-revocation-bus.js";
export { createRedisClient, pingRedis } from "./redis-client.js";
export type { RedisFixedWindowLimiterOptions } from "./redis-fixed-window-limiter.js";
export { createRedisFixedWindowLimiter } from "./redis-fixed-window-limiter.js";
export type { RedisReplayStoreOptions } from "./redis-replay-store.js";
export { createRedisReplayStore } from "./redis-replay-store.js";
export type { RedisRevocationBusOptions } from "./redis-revocation-bus.js";
export { createRedisRevocationBus } from "./redis-revocation-bus.js";
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
export type { StateErrorCode } from "./state-error.js";
export { isStateError, STATE_ERROR_CODES, StateError } from "./state-error.js";
export { DEFAULT_KEY_PREFIX } from "./validate.js";
