// `@agentauth/state/testing`: the state package's test kit for other packages' tests — a Redis
// client for the suites' Redis, isolated key prefixes, connection killing, a freezable TCP
// proxy to simulate Redis outages, and a listener that records what a revocation bus delivers.
// Test-only.
export * from "./redis.test-support.js";
export * from "./revocation-recorder.test-support.js";
export * from "./tcp-proxy.test-support.js";
