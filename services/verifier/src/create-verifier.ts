import type { RequestListener } from "node:http";
import {
  createComposedAdmissionStore,
  type DecisionLog,
  type QuotaStore,
  type ReplayStore,
  type ServiceProviderKeyDirectory,
} from "@agentauth/state";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import type { AllowAuditMode } from "./decisions/decision-recorder.js";
import {
  createInternalVerificationEngine,
  type VerificationEngine,
  type VerificationState,
} from "./engine/verification-engine.js";
import { createVerifierHandler } from "./http/verifier-handler.js";
import { createVerifierMetrics, type VerifierMetrics } from "./operations/metrics.js";
import { createApiKeyAuthenticator } from "./service-providers/api-key-authenticator.js";

/** Shared state: Redis adapters in production, in-process ones for a single process. */
export interface VerifierState extends VerificationState {
  /** The service providers' verifier API keys, as the registry publishes them. */
  readonly keyDirectory: ServiceProviderKeyDirectory;
  readonly decisionLog: DecisionLog;
}

/**
 * State as it was wired before admission stores: a replay store and a quota store, used one
 * after the other (each step atomic, so the outcomes are the same; it costs two round trips).
 */
export interface SeparateStoresVerifierState extends Omit<VerifierState, "admissionStore"> {
  readonly replayStore: ReplayStore;
  readonly quotaStore: QuotaStore;
}

export interface VerifierDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  /** The registry's issuer identifier (tokens' `iss`). */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly state: VerifierState | SeparateStoresVerifierState;
  readonly dpopNonceSecret: Uint8Array;
  readonly requireDpopNonce: boolean;
  readonly clockSkewSeconds: number;
  readonly apiKeyCacheSeconds: number;
  readonly tokenCacheSize: number;
  readonly auditAllows: AllowAuditMode;
  /** Extra readiness checks (e.g. a Redis PING); each rejects when its dependency is down. */
  readonly readinessChecks?: Readonly<Record<string, () => Promise<unknown>>>;
  /** Injected in tests; default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
}

export interface Verifier {
  readonly handler: RequestListener;
  readonly metrics: VerifierMetrics;
  /** The checks behind the HTTP surface: the same engine `@agentauth/verifier/engine` gives. */
  readonly engine: VerificationEngine;
  /** Waits for the first JWKS fetch and revocation subscription (retried in the background). */
  start(): Promise<void>;
  /** Stops background work and sends the buffered decision records. */
  stop(): Promise<void>;
}

/**
 * Wires the verifier service from its dependencies: the verification engine, with metrics and
 * logs on its events, behind the HTTP surface and service-provider authentication. Reads no
 * configuration itself.
 */
export function createVerifier(deps: VerifierDeps): Verifier {
  const { logger, state } = deps;
  // Read at scrape time; the engine is created below, with callbacks into these metrics.
  const metrics = createVerifierMetrics({ bufferedDecisions: () => engine.bufferedDecisions });
  const tokenHits = metrics.tokenCache.labels({ result: "hit" });
  const tokenMisses = metrics.tokenCache.labels({ result: "miss" });
  const engine = createInternalVerificationEngine({
    issuer: deps.issuer,
    jwks: deps.jwksUrl,
    state: {
      admissionStore:
        "admissionStore" in state ? state.admissionStore : createComposedAdmissionStore(state),
      revocationBus: state.revocationBus,
      decisionLog: state.decisionLog,
    },
    dpopNonceSecret: deps.dpopNonceSecret,
    requireDpopNonce: deps.requireDpopNonce,
    clockSkewSeconds: deps.clockSkewSeconds,
    tokenCacheSize: deps.tokenCacheSize,
    auditAllows: deps.auditAllows,
    clock: deps.clock,
    ...(deps.readinessChecks === undefined ? {} : { readinessChecks: deps.readinessChecks }),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    events: {
      onTokenChecked: (cached) => (cached ? tokenHits : tokenMisses).inc(),
      onJwksFetch: (outcome, error) => {
        metrics.jwksFetches.inc({ outcome });
        if (outcome === "failed")
          logger.warn(
            { err: error instanceof Error ? error.message : String(error) },
            "JWKS fetch failed",
          );
        if (outcome === "changed") logger.info("registry signing keys loaded");
      },
      onRevocation: (kind) => metrics.revocationsReceived.inc({ kind }),
      onRevocationReload: () => metrics.revocationReloads.inc(),
      onRevocationError: (error) =>
        logger.warn({ code: error.code, err: error.message }, "revocation subscription problem"),
      onRevocationSubscribeFailed: (error) =>
        logger.warn({ err: (error as Error).message }, "revocation subscription failed; retrying"),
      onDecisionLogFailure: (error) => {
        metrics.decisionLogFailures.inc();
        logger.warn({ err: (error as Error).message }, "decision log append failed; will retry");
      },
      onDecisionsDropped: (count) => metrics.decisionLogDropped.inc(count),
    },
  });

  const handler = createVerifierHandler({
    logger,
    metrics,
    apiKeys: createApiKeyAuthenticator({
      directory: state.keyDirectory,
      cacheMs: deps.apiKeyCacheSeconds * 1000,
    }),
    verify: (audience, request) => engine.verifyChecked(audience, request),
    introspect: (audience, token) => engine.introspect(audience, token),
    protectedResourceMetadata: (audience) => ({
      resource: audience,
      authorization_servers: [deps.issuer],
      bearer_methods_supported: ["header"],
      dpop_signing_alg_values_supported: ["ES256", "EdDSA", "Ed25519"],
      dpop_bound_access_tokens_required: true,
      authorization_details_types_supported: ["read", "write", "delete", "transact", "custom"],
    }),
    readiness: () => engine.readiness(),
  });

  return {
    handler,
    metrics,
    engine,
    async start() {
      await engine.readiness();
    },
    stop: () => engine.close(),
  };
}
