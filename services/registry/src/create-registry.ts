import { createDpopNonceSource, createKeyCache, type JsonWebKeySet } from "@agentauth/core";
import {
  createMemoryDecisionLog,
  createMemoryServiceProviderKeyDirectory,
  type DecisionLog,
  type FixedWindowLimiter,
  type ReplayStore,
  type RevocationBus,
  type ServiceProviderKeyDirectory,
} from "@agentauth/state";
import type { Express } from "express";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import { createAgentRouter } from "./agents/agent-routes.js";
import { createApp } from "./app.js";
import { createApprovalAppRouter } from "./approval-app/approval-app-routes.js";
import { type AuditCheckpointer, createAuditCheckpointer } from "./audit/audit-checkpoints.js";
import { createAuditLog } from "./audit/audit-log.js";
import { createAuditRouter } from "./audit/audit-routes.js";
import { type AuditSequencer, createAuditSequencer } from "./audit/audit-sequencer.js";
import {
  createVerifierDecisionConsumer,
  type VerifierDecisionConsumer,
} from "./audit/verifier-decision-consumer.js";
import type { Clock } from "./clock.js";
import type { Database } from "./db/database.js";
import { createDiscoveryRouter } from "./discovery/discovery-routes.js";
import { createApprovalRouter } from "./grants/approval-routes.js";
import { createBackchannelRouter } from "./grants/backchannel-routes.js";
import { createHumanAuthentication } from "./humans/human-authentication.js";
import { createHumanRouter } from "./humans/human-routes.js";
import { createRegistryMetrics, type RegistryMetrics } from "./operations/metrics.js";
import { createOperationsRouter } from "./operations/operations-routes.js";
import {
  createRevocationPublisher,
  type RevocationPublisher,
} from "./revocation/revocation-outbox.js";
import {
  createServiceProviderKeyPublisher,
  type ServiceProviderKeyPublisher,
} from "./service-providers/service-provider-key-publisher.js";
import { createServiceProviderRouter } from "./service-providers/service-provider-routes.js";
import type { SigningKeyRing } from "./signing/signing-key-ring.js";
import { createTokenLifecycleRouter } from "./tokens/revocation-routes.js";
import { createTokenRouter } from "./tokens/token-routes.js";
import { createPasskeyAssertionVerifier } from "./webauthn/verify-passkey-assertion.js";
import { createWebauthnRouter } from "./webauthn/webauthn-routes.js";

/** Everything the registry needs from outside, already built by `main.ts` or a test. */
export interface RegistryDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Public base URL: OAuth issuer, WebAuthn origin, base of links. */
  readonly publicUrl: string;
  readonly rpId: string;
  readonly rpName: string;
  readonly keyRing: SigningKeyRing;
  readonly replayStore: ReplayStore;
  readonly revocationBus: RevocationBus;
  readonly limiter: FixedWindowLimiter;
  /**
   * Where service-provider API keys are published for verifiers: Redis, or an in-process
   * directory an embedded verifier in the same process shares. Default: one no one else sees.
   */
  readonly keyDirectory?: ServiceProviderKeyDirectory;
  /**
   * Where verifiers append their decisions, consumed into the audit chain: Redis, or an
   * in-process log an embedded verifier shares. Default: one no one else appends to.
   */
  readonly decisionLog?: DecisionLog;
  /** HMAC secret for stateless DPoP nonces, shared by every replica. */
  readonly dpopNonceSecret: Uint8Array;
  readonly accessTokenLifetimeSeconds: number;
  readonly trustProxy?: boolean;
  /** Dependency checks for readiness (database, Redis…). */
  readonly readinessChecks: Readonly<Record<string, () => Promise<unknown>>>;
  /** The built approval app to serve on this origin (`AGENTAUTH_APPROVAL_APP_DIR`), if any. */
  readonly approvalAppDir?: string | undefined;
}

/** The assembled registry: its HTTP app and the background work `main.ts` starts and stops. */
export interface Registry {
  readonly app: Express;
  readonly auditSequencer: AuditSequencer;
  readonly auditCheckpointer: AuditCheckpointer;
  readonly revocationPublisher: RevocationPublisher;
  readonly keyPublisher: ServiceProviderKeyPublisher;
  readonly decisionConsumer: VerifierDecisionConsumer;
  readonly metrics: RegistryMetrics;
  /**
   * Starts the background loops: audit sequencing, revocation publishing, key activation,
   * service-provider key reconciliation and verifier decision auditing.
   */
  start(): void;
  stop(): Promise<void>;
}

const JWKS_CACHE_MS = 5_000;
const KEY_ACTIVATION_INTERVAL_MS = 30_000;

/** Wires every area of the registry from its dependencies. Reads no configuration itself. */
export function createRegistry(deps: RegistryDeps): Registry {
  const { db, clock, publicUrl } = deps;
  const origin = new URL(publicUrl).origin;
  const issuer = publicUrl;
  const keyCache = createKeyCache();
  const nonceSource = createDpopNonceSource({ secret: deps.dpopNonceSecret });
  const metrics = createRegistryMetrics();
  const humans = createHumanAuthentication({ db, clock, origin });
  const revocationPublisher = createRevocationPublisher({
    db,
    bus: deps.revocationBus,
    logger: deps.logger,
  });
  const auditSequencer = createAuditSequencer({ db, logger: deps.logger });
  const auditCheckpointer = createAuditCheckpointer({
    db,
    signer: deps.keyRing.signer,
    issuer,
    clock,
    logger: deps.logger,
  });
  const keyPublisher = createServiceProviderKeyPublisher({
    db,
    directory: deps.keyDirectory ?? createMemoryServiceProviderKeyDirectory(),
    logger: deps.logger,
  });
  const decisionConsumer = createVerifierDecisionConsumer({
    db,
    log: deps.decisionLog ?? createMemoryDecisionLog(),
    clock,
    logger: deps.logger,
    metrics: metrics.verifierDecisions,
  });
  const jwks = cachedJwks(deps.keyRing, clock);
  const dpop = { publicUrl, clock, replayStore: deps.replayStore, keyCache, nonceSource };
  const clientAuthentication = {
    db,
    clock,
    issuer,
    publicUrl,
    replayStore: deps.replayStore,
    keyCache,
  };
  const verifyPasskey = createPasskeyAssertionVerifier({ rpId: deps.rpId, origin });

  const app = createApp({
    logger: deps.logger,
    trustProxy: deps.trustProxy ?? false,
    routers: [
      // First: the hot path (every token an agent gets) is matched before any other route.
      createTokenRouter({
        ...clientAuthentication,
        dpop,
        tokens: {
          issuer,
          signer: deps.keyRing.signer,
          accessTokenLifetimeSeconds: deps.accessTokenLifetimeSeconds,
        },
        metrics,
        jwks,
      }),
      createOperationsRouter({ metrics: metrics.registry, readinessChecks: deps.readinessChecks }),
      createDiscoveryRouter({ issuer, jwks }),
      createWebauthnRouter({
        db,
        clock,
        rp: { id: deps.rpId, name: deps.rpName, origin },
        humans,
        limiter: deps.limiter,
      }),
      createHumanRouter({ db, clock, humans, publicUrl, revocations: revocationPublisher }),
      createServiceProviderRouter({ db, clock, humans, keys: keyPublisher }),
      createAgentRouter({
        db,
        clock,
        dpop,
        humans,
        limiter: deps.limiter,
        revocations: revocationPublisher,
      }),
      createBackchannelRouter({ ...clientAuthentication, limiter: deps.limiter }),
      createApprovalRouter({
        db,
        clock,
        rpId: deps.rpId,
        humans,
        verifyPasskeyAssertion: verifyPasskey,
        revocations: revocationPublisher,
      }),
      createTokenLifecycleRouter({
        ...clientAuthentication,
        jwks,
        revocations: revocationPublisher,
      }),
      createAuditRouter({ auditLog: createAuditLog(db), db, humans }),
      // Last: the app's pages never shadow an API route.
      ...(deps.approvalAppDir === undefined
        ? []
        : [createApprovalAppRouter({ dir: deps.approvalAppDir })]),
    ],
    beforeRoutes: [metrics.observeRequests],
  });

  let activation: NodeJS.Timeout | undefined;
  return {
    app,
    auditSequencer,
    auditCheckpointer,
    revocationPublisher,
    keyPublisher,
    decisionConsumer,
    metrics,
    start() {
      auditSequencer.start();
      auditCheckpointer.start();
      revocationPublisher.start();
      keyPublisher.start();
      decisionConsumer.start();
      activation = setInterval(() => {
        deps.keyRing
          .activate()
          .catch((error: unknown) =>
            deps.logger.error({ err: error }, "signing key activation failed"),
          );
      }, KEY_ACTIVATION_INTERVAL_MS);
      activation.unref();
    },
    async stop() {
      clearInterval(activation);
      await Promise.all([
        auditSequencer.stop(),
        auditCheckpointer.stop(),
        revocationPublisher.stop(),
        keyPublisher.stop(),
        decisionConsumer.stop(),
      ]);
    },
  };
}

/** The JWKS changes only on rotation; a few seconds of caching spares a query per token check. */
function cachedJwks(keyRing: SigningKeyRing, clock: Clock): () => Promise<JsonWebKeySet> {
  let cached: { at: number; value: Promise<JsonWebKeySet> } | undefined;
  return () => {
    const now = clock.now().getTime();
    if (cached === undefined || now - cached.at > JWKS_CACHE_MS) {
      const value = keyRing.jwks();
      cached = { at: now, value };
      value.catch(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
}
