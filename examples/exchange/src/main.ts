import { createServer } from "node:http";
import {
  ApiKeyFileError,
  ConfigError,
  closeServer,
  listen,
  resolveApiKey,
  stopOnSignals,
} from "@agentauth/examples-kit";
import { createAgentAuth, createRemoteVerification } from "@agentauth/express";
import { createRedisClient } from "@agentauth/state";
import { pino } from "pino";
import { parseExchangeConfig } from "./config.js";
import { createExchangeApp } from "./create-exchange-app.js";
import { createMemoryPayloadStore } from "./store/memory-payload-store.js";
import { createRedisPayloadStore } from "./store/redis-payload-store.js";

// The only place that reads the environment and wires the exchange to real things.
async function main(): Promise<void> {
  let config: ReturnType<typeof parseExchangeConfig>;
  try {
    config = parseExchangeConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel, base: { service: "exchange" } });
  const stopped = new AbortController();
  const server = createServer();
  const redis = config.redisUrl === undefined ? undefined : createRedisClient(config.redisUrl);
  redis?.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  const store = redis === undefined ? createMemoryPayloadStore() : createRedisPayloadStore(redis);
  let closeAgentAuth = async () => {};
  stopOnSignals(async () => {
    stopped.abort();
    await closeServer(server);
    await closeAgentAuth();
    await store.close();
    redis?.disconnect();
  }, logger);

  const apiKey = await resolveApiKey(config.apiKey, {
    signal: stopped.signal,
    onWaiting: () =>
      logger.info(
        { file: config.apiKey.kind === "file" ? config.apiKey.path : undefined },
        "waiting for the verifier API key file (the platform writes it once the first human has enrolled)",
      ),
  });
  const agentAuth = createAgentAuth({
    verification: createRemoteVerification({ verifierUrl: config.verifierUrl, apiKey }),
    serviceProvider: config.serviceProviderId,
    authorizationServer: config.registryUrl,
    publicUrl: config.publicUrl,
    onError: (error, req) =>
      logger.warn({ code: error.code, err: error.message, path: req.path }, "no decision"),
  });
  closeAgentAuth = () => agentAuth.close();
  server.on(
    "request",
    createExchangeApp({
      agentAuth,
      store,
      clock: { now: () => new Date() },
      logger,
      limits: config.limits,
    }),
  );
  await listen(server, config.port, config.host);
  logger.info(
    {
      url: config.publicUrl,
      serviceProvider: config.serviceProviderId,
      verifier: config.verifierUrl,
      store: redis === undefined ? "memory" : "redis",
    },
    "exchange listening",
  );
}

main().catch((error: unknown) => {
  if (error instanceof ApiKeyFileError) console.error(error.message);
  else if ((error as Error).name !== "AbortError") console.error("The exchange failed:", error);
  process.exit(1);
});
