import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
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
import { KMSClient } from "@aws-sdk/client-kms";
import { sql } from "kysely";
import { pino } from "pino";
import { systemClock } from "./clock.js";
import { ConfigError, parseConfig, type RegistryConfig } from "./config.js";
import { createRegistry } from "./create-registry.js";
import { createDatabase } from "./db/create-database.js";
import { findMigrationsDir, migrateToLatest } from "./db/migrate.js";
import { ensureFirstHumanInvitation } from "./humans/invitations.js";
import { createFileSigner } from "./signing/file-signer.js";
import { createKmsSigner } from "./signing/kms-signer.js";
import { createPgSigningKeyStore } from "./signing/pg-signing-key-store.js";
import { createSigningKeyRing } from "./signing/signing-key-ring.js";

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

  const signerConfig = config.signer;
  const signer =
    signerConfig.kind === "file"
      ? await createFileSigner(resolve(signerConfig.path))
      : await createKmsSigner(
          new KMSClient({
            region: signerConfig.region,
            maxAttempts: 2,
            ...(signerConfig.endpoint === undefined ? {} : { endpoint: signerConfig.endpoint }),
          }),
          signerConfig.keyId,
        );
  const keyRing = createSigningKeyRing({
    signer,
    // The key activation loop picks up a key file replaced by `rotate-signing-key`.
    ...(signerConfig.kind === "file"
      ? { reloadSigner: () => createFileSigner(resolve(signerConfig.path)) }
      : {}),
    store: createPgSigningKeyStore(database.db),
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
      (await loadOrCreateSecret(resolve(dataDir, "registry", "dpop-nonce-secret"))),
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
        kid: signer.kid,
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

  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    server.close();
    await registry.stop();
    await redisDecisionLog?.close();
    await database.close();
    redis?.disconnect();
    logger.flush(() => process.exit(0));
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));
}

/** The embedded default's nonce secret: made once, kept with 0600 so restarts keep it. */
async function loadOrCreateSecret(path: string): Promise<Uint8Array> {
  try {
    return Uint8Array.from(Buffer.from((await readFile(path, "utf8")).trim(), "hex"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    const secret = randomBytes(32);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, secret.toString("hex"), { mode: 0o600, flag: "wx" });
    return Uint8Array.from(secret);
  }
}

main().catch((error: unknown) => {
  console.error("The registry failed to start:", error);
  process.exit(1);
});
