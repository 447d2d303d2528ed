// @agentauth/example-exchange/client — for agents: seal payloads with a key that travels
// agent-to-agent out of band (AES-256-GCM, WebCrypto), publish them, retrieve them by data token.
// No Node-only import: it runs in browsers too.

export type { ExchangeErrorCode, ExchangeErrorOptions } from "../errors.js";
export { EXCHANGE_ERROR_CODES, ExchangeError, isExchangeError } from "../errors.js";
export type { RetrievalMode } from "../store/payload-store.js";
export type {
  AgentFetch,
  ExchangeClient,
  ExchangeClientOptions,
  Published,
  PublishOptions,
  Retrieved,
} from "./exchange-client.js";
export { createExchangeClient } from "./exchange-client.js";
export type { OpenPayloadOptions, SealPayloadOptions } from "./payload-crypto.js";
export { createExchangeKey, openPayload, openPayloadText, sealPayload } from "./payload-crypto.js";
