import type { RequestListener } from "node:http";
import { createDpopNonceSource, createKeyCache } from "@agentauth/core";
import {
  type DecisionLog,
  type QuotaStore,
  type ReplayStore,
  type RevocationBus,
  RevocationSet,
  type RevocationSubscription,
  type ServiceProviderKeyDirectory,
} from "@agentauth/state";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import type { AllowAuditMode } from "./config.js";
import { createDecisionRecorder } from "./decisions/decision-recorder.js";
import { createVerifierHandler } from "./http/verifier-handler.js";
import { createVerifierMetrics, type VerifierMetrics } from "./operations/metrics.js";
import { createApiKeyAuthenticator } from "./service-providers/api-key-authenticator.js";
import { createJwksCache, type JwksCache } from "./tokens/jwks-cache.js";
import { createTokenVerifier } from "./tokens/token-verifier.js";
import { introspectToken } from "./verification/introspect-token.js";
import { type RevocationView, verifyRequest } from "./verification/verify-request.js";

/** Shared state: Redis adapters in production, in-process ones for a single process. */
export interface VerifierState {
  readonly replayStore: ReplayStore;
  readonly quotaStore: QuotaStore;
  readonly revocationBus: RevocationBus;
  readonly keyDirectory: ServiceProviderKeyDirectory;
  readonly decisionLog: DecisionLog;
}

export interface VerifierDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  /** The registry's issuer identifier (tokens' `iss`). */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly state: VerifierState;
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
  readonly jwks: JwksCache;
  /** Fetches the JWKS and subscribes to revocations (retrying in the background until they work). */
  start(): Promise<void>;
  /** Stops background work and sends the buffered decision records. */
  stop(): Promise<void>;
}

const RESUBSCRIBE_MS = 1_000;

/** Wires the verifier from its dependencies. Reads no configuration itself. */
export function createVerifier(deps: VerifierDeps): Verifier {
  const { logger, clock, state } = deps;
  // Read at scrape time; the recorder is created below, with callbacks into these metrics.
  const metrics = createVerifierMetrics({ bufferedDecisions: () => recorder.buffered });
  const keyCache = createKeyCache();
  const jwks = createJwksCache({
    url: deps.jwksUrl,
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    onFetch: (outcome, error) => {
      metrics.jwksFetches.inc({ outcome });
      if (outcome === "failed")
        logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          "JWKS fetch failed",
        );
      if (outcome === "changed") logger.info("registry signing keys loaded");
    },
  });
  const tokens = createTokenVerifier({
    jwks,
    issuer: deps.issuer,
    clockSkewSeconds: deps.clockSkewSeconds,
    keyCache,
    cacheSize: deps.tokenCacheSize,
  });

  const revocationSet = new RevocationSet();
  let revocationsCurrent = false;
  const revocations: RevocationView = { set: revocationSet, isCurrent: () => revocationsCurrent };
  let subscription: RevocationSubscription | undefined;
  let stopped = false;
  let resubscribeTimer: NodeJS.Timeout | undefined;
  const subscribe = async (): Promise<void> => {
    try {
      const opened = await state.revocationBus.subscribe({
        onRevocation: (record) => {
          revocationSet.apply(record);
          metrics.revocationsReceived.inc({ kind: record.kind });
        },
        onReload: (records) => {
          revocationSet.replaceAll(records);
          revocationsCurrent = true;
          metrics.revocationReloads.inc();
        },
        onError: (error) => {
          if (error.code === "ERR_STATE_UNAVAILABLE") revocationsCurrent = false;
          logger.warn({ code: error.code, err: error.message }, "revocation subscription problem");
        },
      });
      // Stopped while it was opening (a retry): `stop` could not close it.
      if (stopped) await opened.close();
      else subscription = opened;
    } catch (error) {
      logger.warn({ err: (error as Error).message }, "revocation subscription failed; retrying");
      if (!stopped) {
        resubscribeTimer = setTimeout(() => void subscribe(), RESUBSCRIBE_MS);
        resubscribeTimer.unref();
      }
    }
  };

  const recorder = createDecisionRecorder({
    log: state.decisionLog,
    allows: deps.auditAllows,
    onError: (error) => {
      metrics.decisionLogFailures.inc();
      logger.warn({ err: (error as Error).message }, "decision log append failed; will retry");
    },
    onDropped: (count) => metrics.decisionLogDropped.inc(count),
  });

  const nonceSource = createDpopNonceSource({ secret: deps.dpopNonceSecret });
  const verifyDeps = {
    clock,
    tokens: {
      verify: async (token: string, audience: string, now: Date) => {
        const verified = await tokens.verify(token, audience, now);
        metrics.tokenCache.inc({ result: verified.cached ? "hit" : "miss" });
        return verified;
      },
      get size() {
        return tokens.size;
      },
    },
    revocations,
    replayStore: state.replayStore,
    quotas: state.quotaStore,
    keyCache,
    nonceSource: deps.requireDpopNonce ? nonceSource : undefined,
    clockSkewSeconds: deps.clockSkewSeconds,
  };

  const handler = createVerifierHandler({
    logger,
    clock,
    metrics,
    recorder,
    apiKeys: createApiKeyAuthenticator({
      directory: state.keyDirectory,
      cacheMs: deps.apiKeyCacheSeconds * 1000,
    }),
    verify: (audience, request) => verifyRequest(verifyDeps, audience, request),
    introspect: (audience, token) =>
      introspectToken({ clock, tokens, revocations }, audience, token),
    protectedResourceMetadata: (audience) => ({
      resource: audience,
      authorization_servers: [deps.issuer],
      bearer_methods_supported: ["header"],
      dpop_signing_alg_values_supported: ["ES256", "EdDSA", "Ed25519"],
      dpop_bound_access_tokens_required: true,
      authorization_details_types_supported: ["read", "write", "delete", "transact", "custom"],
    }),
    readiness: async () => {
      const extra = Object.entries(deps.readinessChecks ?? {});
      const results = await Promise.all(
        extra.map(([name, check]) =>
          check().then(
            () => [name, true] as const,
            () => [name, false] as const,
          ),
        ),
      );
      return {
        jwks: jwks.current() !== undefined,
        revocations: revocationsCurrent,
        ...Object.fromEntries(results),
      };
    },
  });

  return {
    handler,
    metrics,
    jwks,
    async start() {
      await Promise.all([jwks.start(), subscribe()]);
      recorder.start();
    },
    async stop() {
      stopped = true;
      clearTimeout(resubscribeTimer);
      jwks.stop();
      await subscription?.close();
      await recorder.stop();
    },
  };
}
