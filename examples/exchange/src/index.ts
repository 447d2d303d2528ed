// @agentauth/example-exchange — the exchange service provider: `createExchangeApp` and its
// payload stores. Agents use `@agentauth/example-exchange/client`.

export type { ExchangeConfig } from "./config.js";
export { parseExchangeConfig } from "./config.js";
export type { ExchangeAppDeps, ExchangeLimits } from "./create-exchange-app.js";
export { createExchangeApp } from "./create-exchange-app.js";
export { createDataToken, hashDataToken, isDataToken } from "./data-token.js";
export type { ExchangeErrorCode, ExchangeErrorOptions } from "./errors.js";
export {
  EXCHANGE_ERROR_CODES,
  EXCHANGE_ERROR_STATUS,
  ExchangeError,
  isExchangeError,
} from "./errors.js";
export type { MemoryPayloadStoreOptions } from "./store/memory-payload-store.js";
export { createMemoryPayloadStore } from "./store/memory-payload-store.js";
export type {
  PayloadStore,
  RetrievalMode,
  StoredPayload,
  TakeOptions,
  TakeResult,
} from "./store/payload-store.js";
export { DEFAULT_RETENTION_SECONDS } from "./store/payload-store.js";
export type { RedisPayloadStoreOptions } from "./store/redis-payload-store.js";
export { createRedisPayloadStore } from "./store/redis-payload-store.js";
