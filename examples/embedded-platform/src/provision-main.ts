import { resolve } from "node:path";
import { DEMO_SERVICE_PROVIDERS, stopOnSignals } from "@agentauth/examples-kit";
import { createDatabase, createServiceProviderKeyPublisher } from "@agentauth/registry";
import { createRedisClient, createRedisServiceProviderKeyDirectory } from "@agentauth/state";
import { pino } from "pino";
import { startDemoProvisioning } from "./demo-provisioning.js";
import { parsePlatformConfigOrExit } from "./platform-config.js";
import { PLATFORM_READY_MESSAGE } from "./ready.js";

// With real Postgres and Redis the registry and the verifier run as their own processes; this one
// registers the demo service providers in the registry's database (once the first human has
// enrolled), writes their API key files and publishes the keys to the verifiers' Redis key
// directory, then exits. The launcher starts it once the registry is ready (it has migrated).
async function main(): Promise<void> {
  const config = parsePlatformConfigOrExit(process.env);
  const logger = pino({ level: config.registry.logLevel, base: { service: "platform" } });
  const { databaseUrl, redisUrl } = config.registry;
  if (databaseUrl === undefined || redisUrl === undefined) {
    // On embedded defaults the platform process provisions: PGlite and in-process state are its.
    console.error("The provisioner needs DATABASE_URL and REDIS_URL.");
    process.exit(2);
  }
  const database = await createDatabase({ databaseUrl });
  const redis = createRedisClient(redisUrl);
  redis.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  // Publishes each key it issues to the verifiers' Redis key directory (the registry's own
  // reconciliation would also bring it within 30 s).
  const keyPublisher = createServiceProviderKeyPublisher({
    db: database.db,
    directory: createRedisServiceProviderKeyDirectory(redis),
    logger,
  });
  const provisioning = startDemoProvisioning({
    db: database.db,
    keyPublisher,
    providers: DEMO_SERVICE_PROVIDERS,
    keyDir: resolve(config.keyDir),
    now: () => new Date(),
    logger,
  });
  const stop = async () => {
    await provisioning.stop();
    await keyPublisher.stop();
    await database.close();
    redis.disconnect();
  };
  stopOnSignals(stop, logger);
  const firstPass = await provisioning.firstPass;
  logger.info({ demoServiceProviders: firstPass.kind }, PLATFORM_READY_MESSAGE);
  await provisioning.provisioned;
  await stop();
  logger.flush(() => process.exit(0));
}

main().catch((error: unknown) => {
  console.error("Provisioning the demo service providers failed:", error);
  process.exit(1);
});
