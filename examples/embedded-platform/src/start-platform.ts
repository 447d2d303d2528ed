import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { closeServer, DEMO_SERVICE_PROVIDERS, listen } from "@agentauth/examples-kit";
import {
  type Clock,
  createDatabase,
  createRegistry,
  createSigningKeyRingFromConfig,
  ensureFirstHumanInvitation,
  findMigrationsDir,
  loadOrCreateSecret,
  migrateToLatest,
  type Registry,
  type RegistryDatabase,
  systemClock,
} from "@agentauth/registry";
import {
  createMemoryAdmissionStore,
  createMemoryDecisionLog,
  createMemoryFixedWindowLimiter,
  createMemoryReplayStore,
  createMemoryRevocationBus,
  createMemoryServiceProviderKeyDirectory,
  createRedisAdmissionStore,
  createRedisClient,
  createRedisDecisionLog,
  createRedisFixedWindowLimiter,
  createRedisReplayStore,
  createRedisRevocationBus,
  createRedisServiceProviderKeyDirectory,
  type DecisionLog,
  pingRedis,
} from "@agentauth/state";
import { createVerifier, type Verifier } from "@agentauth/verifier";
import { sql } from "kysely";
import type { Logger } from "pino";
import { type DemoProvisioning, startDemoProvisioning } from "./demo-provisioning.js";
import type { PlatformConfig } from "./platform-config.js";

export interface StartPlatformOptions {
  readonly config: PlatformConfig;
  /** A logger per part: "registry", "verifier" and "platform" (the demo provisioning). */
  readonly createLogger: (service: "registry" | "verifier" | "platform") => Logger;
  /** Prefix of every Redis key (tests isolate runs with it). Default the services' own. */
  readonly redisKeyPrefix?: string;
  /** Between looks for the first admin, to provision the demo service providers. Default 1 s. */
  readonly provisioningIntervalMs?: number;
  /** Time for both (tests simulate it). Default the system clock. */
  readonly clock?: Clock;
}

/** The registry and the verifier, running in this process over shared state. */
export interface Platform {
  /** The registry's public URL: issuer, approval app, WebAuthn origin. */
  readonly registryUrl: string;
  /** Where the verifier listens. */
  readonly verifierUrl: string;
  readonly registry: Registry;
  readonly verifier: Verifier;
  readonly database: RegistryDatabase;
  /** The `kid` of the registry's signing key (stable across restarts with the key file). */
  readonly signingKeyId: string;
  /** The first human's one-time enrolment link, while no human is enrolled. */
  readonly firstHumanInvitation: string | undefined;
  /** The demo service providers' provisioning, unless turned off. */
  readonly demoServiceProviders: DemoProvisioning | undefined;
  /** Stops both, letting requests in flight finish, and closes the database and Redis. */
  close(): Promise<void>;
}

/**
 * Starts the registry and the verifier in this process, wired as their own `main.ts` wire them,
 * sharing one key directory, revocation bus and decision log: in-process adapters without
 * `REDIS_URL` (the point of co-hosting: in-process state cannot cross processes), Redis with it.
 * A development and demo host; production runs both as their own services.
 */
export async function startPlatform(options: StartPlatformOptions): Promise<Platform> {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const registryConfig = config.registry;
  const verifierConfig = config.verifier;
  const registryLogger = options.createLogger("registry");
  const verifierLogger = options.createLogger("verifier");
  const platformLogger = options.createLogger("platform");
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) =>
        platformLogger.warn({ err: error }, "a part did not stop cleanly"),
      );
    }
  };

  try {
    const dataDir = resolve(registryConfig.dataDir);
    const database = await createDatabase(
      registryConfig.databaseUrl === undefined
        ? { dataDir }
        : { databaseUrl: registryConfig.databaseUrl },
    );
    cleanups.push(() => database.close());
    const { applied } = await migrateToLatest(database.db, {
      migrationsDir: findMigrationsDir(),
    });
    if (applied.length > 0) registryLogger.info({ applied }, "database migrated");

    const redisUrl = registryConfig.redisUrl ?? verifierConfig.redisUrl;
    const redis = redisUrl === undefined ? undefined : createRedisClient(redisUrl);
    if (redis !== undefined) {
      redis.on("error", (error) =>
        platformLogger.warn({ err: error.message }, "redis connection error"),
      );
      cleanups.push(async () => redis.disconnect());
    }
    const prefix =
      options.redisKeyPrefix === undefined ? {} : { keyPrefix: options.redisKeyPrefix };
    let decisionLog: DecisionLog;
    if (redis === undefined) {
      decisionLog = createMemoryDecisionLog();
    } else {
      const redisDecisionLog = createRedisDecisionLog(redis, prefix);
      cleanups.push(() => redisDecisionLog.close());
      decisionLog = redisDecisionLog;
    }
    // What the two share: API keys out of the registry, revocations, decisions back into it.
    const shared =
      redis === undefined
        ? {
            keyDirectory: createMemoryServiceProviderKeyDirectory(),
            revocationBus: createMemoryRevocationBus(),
            decisionLog,
          }
        : {
            keyDirectory: createRedisServiceProviderKeyDirectory(redis, prefix),
            revocationBus: createRedisRevocationBus(redis, prefix),
            decisionLog,
          };

    // The signer and the nonce secret as the registry's own `main.ts` has them: the same key
    // file and secret file under the data directory, so either host serves the same keys.
    const keyRing = await createSigningKeyRingFromConfig({
      signer: registryConfig.signer,
      db: database.db,
      now: () => clock.now(),
    });
    await keyRing.activate();

    const registry = createRegistry({
      db: database.db,
      clock,
      logger: registryLogger,
      publicUrl: registryConfig.publicUrl,
      rpId: registryConfig.rpId,
      rpName: registryConfig.rpName,
      keyRing,
      replayStore:
        redis === undefined ? createMemoryReplayStore() : createRedisReplayStore(redis, prefix),
      limiter:
        redis === undefined
          ? createMemoryFixedWindowLimiter()
          : createRedisFixedWindowLimiter(redis, prefix),
      ...shared,
      dpopNonceSecret:
        registryConfig.dpopNonceSecret ??
        (await loadOrCreateSecret(resolve(dataDir, "registry", "dpop-nonce-secret"), {
          what: "DPoP nonce secret",
        })),
      accessTokenLifetimeSeconds: registryConfig.accessTokenLifetimeSeconds,
      trustProxy: registryConfig.trustProxy,
      approvalAppDir: registryConfig.approvalAppDir,
      readinessChecks: {
        database: () => sql`select 1`.execute(database.db),
        ...(redis === undefined ? {} : { redis: () => pingRedis(redis) }),
      },
    });
    registry.start();
    cleanups.push(() => registry.stop());
    const registryServer = createServer(registry.app);
    await listen(registryServer, registryConfig.port, registryConfig.host);
    cleanups.push(() => closeServer(registryServer));
    registryLogger.info(
      {
        url: registryConfig.publicUrl,
        database: database.kind,
        redis: redis !== undefined,
        signer: registryConfig.signer.kind,
        kid: keyRing.signer.kid,
        approvalApp: registryConfig.approvalAppDir ?? null,
      },
      "registry listening",
    );

    const verifier = createVerifier({
      logger: verifierLogger,
      clock,
      issuer: verifierConfig.registryUrl,
      jwksUrl: verifierConfig.jwksUrl,
      state: {
        admissionStore:
          redis === undefined
            ? createMemoryAdmissionStore()
            : createRedisAdmissionStore(redis, prefix),
        ...shared,
      },
      dpopNonceSecret: verifierConfig.dpopNonceSecret ?? Uint8Array.from(randomBytes(32)),
      requireDpopNonce: verifierConfig.requireDpopNonce,
      clockSkewSeconds: verifierConfig.clockSkewSeconds,
      apiKeyCacheSeconds: verifierConfig.apiKeyCacheSeconds,
      tokenCacheSize: verifierConfig.tokenCacheSize,
      auditAllows: verifierConfig.auditAllows,
      ...(redis === undefined ? {} : { readinessChecks: { redis: () => pingRedis(redis) } }),
    });
    cleanups.push(() => verifier.stop());
    const verifierServer = createServer({ keepAliveTimeout: 65_000 }, verifier.handler);
    await listen(verifierServer, verifierConfig.port, verifierConfig.host);
    cleanups.push(() => closeServer(verifierServer));
    // The first JWKS fetch and revocation subscription: the registry is listening by now.
    await verifier.start();
    const verifierUrl = urlOf(verifierServer, verifierConfig.host);
    verifierLogger.info(
      { url: verifierUrl, registry: verifierConfig.registryUrl, redis: redis !== undefined },
      "verifier listening",
    );

    const firstHumanInvitation = await ensureFirstHumanInvitation(database.db, {
      publicUrl: registryConfig.publicUrl,
      now: clock.now(),
    });

    let demoServiceProviders: DemoProvisioning | undefined;
    if (config.provisionDemoServiceProviders) {
      demoServiceProviders = startDemoProvisioning({
        db: database.db,
        keyPublisher: registry.keyPublisher,
        providers: DEMO_SERVICE_PROVIDERS,
        keyDir: resolve(config.keyDir),
        now: () => clock.now(),
        logger: platformLogger,
        ...(options.provisioningIntervalMs === undefined
          ? {}
          : { intervalMs: options.provisioningIntervalMs }),
      });
      const provisioning = demoServiceProviders;
      cleanups.push(() => provisioning.stop());
    }

    let closing: Promise<void> | undefined;
    return {
      registryUrl: registryConfig.publicUrl,
      verifierUrl,
      registry,
      verifier,
      database,
      signingKeyId: keyRing.signer.kid,
      firstHumanInvitation,
      demoServiceProviders,
      close() {
        closing ??= cleanUp();
        return closing;
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** The URL of a listening server, `localhost` for the loopback and wildcard addresses. */
function urlOf(server: Server, host: string): string {
  const { port } = server.address() as AddressInfo;
  const local = ["127.0.0.1", "0.0.0.0", "::", "::1", "localhost"].includes(host);
  return `http://${local ? "localhost" : host.includes(":") ? `[${host}]` : host}:${port}`;
}
