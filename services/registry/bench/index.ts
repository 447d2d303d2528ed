// `@agentauth/registry/bench`: what other packages' benchmarks need from the registry — a real
// registry on a fresh Postgres schema, its first human signed in to register service providers,
// enrol agents and approve grants over HTTP, and refresh-token requests to issue more tokens.
export type {
  ApproveGrantOptions,
  BenchAdmin,
  BenchAgent,
  BenchGrant,
} from "./approved-grants.js";
export {
  BENCH_PAYMENT_DETAILS,
  BENCH_SERVICE_PROVIDER,
  enrolBenchAdmin,
} from "./approved-grants.js";
export type { BenchRegistry, StartBenchRegistryOptions } from "./bench-registry.js";
export { startBenchRegistry } from "./bench-registry.js";
export type { RefreshingAgent } from "./refresh-request.js";
export { learnTokenEndpointNonce, prepareRefreshRequest, TOKEN_PATH } from "./refresh-request.js";
