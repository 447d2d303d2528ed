import { resolve } from "node:path";
import {
  createMemoryDecisionLog,
  createMemoryFixedWindowLimiter,
  createMemoryReplayStore,
  createMemoryRevocationBus,
  createMemoryServiceProviderKeyDirectory,
  createRedisClient,
  createRedisDecisionLog,
  createRedisFixedWindowLimiter,
  createRedisReplayStore,
  createRedisRevocationBus,
  createRedisServiceProviderKeyDirectory,
  pingRedis,
} from "@agentauth/state";
import { sql } from "kysely";
import { pino } from "pino";
import { systemClock } from "./clock.js";
import { ConfigError, parseConfig, type RegistryConfig } from "./config.js";
import { createRegistry } from "./create-registry.js";
import { createDatabase } from "./db/create-database.js";
import { findMigrationsDir, migrateToLatest } from "./db/migrate.js";
import { ensureFirstHumanInvitation } from "./humans/invitations.js";
import { shutdownOnSignals } from "./shutdown-on-signals.js";
import { createSigningKeyRingFromConfig } from "./signing/create-signing-key-ring-from-config.js";
import { loadOrCreateSecret } from "./signing/load-or-create-secret.js";

// The only place that reads configuration and wires the registry to real things.
async function main(): Promise<void> {
  let config: RegistryConfig;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
  // Asynchronous writes: under load, lines that pile up during one write go out together instead
  // of one blocking write(2) per request (measured by bench:registry).
  const logger = pino(
    { level: config.logLevel, base: { service: "registry" } },
    pino.destination({ dest: 1, sync: false }),
  );
  const dataDir = resolve(config.dataDir);

  const database = await createDatabase({
    ...(config.databaseUrl === undefined ? { dataDir } : { databaseUrl: config.databaseUrl }),
  });
  const { applied } = await migrateToLatest(database.db, { migrationsDir: findMigrationsDir() });
  if (applied.length > 0) logger.info({ applied }, "database migrated");

  const redis = config.redisUrl === undefined ? undefined : createRedisClient(config.redisUrl);
  redis?.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  const state =
    redis === undefined
      ? {
          replayStore: createMemoryReplayStore(),
          revocationBus: createMemoryRevocationBus(),
          limiter: createMemoryFixedWindowLimiter(),
          keyDirectory: createMemoryServiceProviderKeyDirectory(),
        }
      : {
          replayStore: createRedisReplayStore(redis),
          revocationBus: createRedisRevocationBus(redis),
          limiter: createRedisFixedWindowLimiter(redis),
          keyDirectory: createRedisServiceProviderKeyDirectory(redis),
        };
  // Closed at shutdown: it holds a connection of its own for waiting reads.
  const redisDecisionLog = redis === undefined ? undefined : createRedisDecisionLog(redis);

  const keyRing = await createSigningKeyRingFromConfig({
    signer: config.signer,
    db: database.db,
    now: () => systemClock.now(),
  });
  await keyRing.activate();

  const registry = createRegistry({
    db: database.db,
    clock: systemClock,
    logger,
    publicUrl: config.publicUrl,
    rpId: config.rpId,
    rpName: config.rpName,
    keyRing,
    ...state,
    decisionLog: redisDecisionLog ?? createMemoryDecisionLog(),
    dpopNonceSecret:
      config.dpopNonceSecret ??
      (await loadOrCreateSecret(resolve(dataDir, "registry", "dpop-nonce-secret"), {
        what: "DPoP nonce secret",
      })),
    accessTokenLifetimeSeconds: config.accessTokenLifetimeSeconds,
    trustProxy: config.trustProxy,
    approvalAppDir: config.approvalAppDir,
    readinessChecks: {
      database: () => sql`select 1`.execute(database.db),
      ...(redis === undefined ? {} : { redis: () => pingRedis(redis) }),
    },
  });
  registry.start();

  const server = registry.app.listen(config.port, config.host, () => {
    logger.info(
      {
        url: config.publicUrl,
        database: database.kind,
        redis: redis !== undefined,
        signer: config.signer.kind,
        kid: keyRing.signer.kid,
        approvalApp: config.approvalAppDir ?? null,
      },
      "registry listening",
    );
  });
  const invitation = await ensureFirstHumanInvitation(database.db, {
    publicUrl: config.publicUrl,
    now: systemClock.now(),
  });
  if (invitation !== undefined) {
    // Printed, never logged as data: it is a one-time secret for the operator's eyes.
    process.stdout.write(
      `\nNo human is enrolled yet. Enrol the first (admin) human with a passkey here:\n  ${invitation}\n\n`,
    );
  }

  // One shutdown, however many of SIGINT and SIGTERM arrive.
  shutdownOnSignals(async (signal) => {
    logger.info({ signal }, "shutting down");
    try {
      server.close();
      await registry.stop();
      await redisDecisionLog?.close();
      await database.close();
      redis?.disconnect();
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      logger.flush(() => process.exit(1));
      return;
    }
    logger.flush(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  console.error("The registry failed to start:", error);
  process.exit(1);
});
