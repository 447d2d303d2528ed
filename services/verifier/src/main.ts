import cluster from "node:cluster";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import {
  createMemoryAdmissionStore,
  createMemoryDecisionLog,
  createMemoryRevocationBus,
  createMemoryServiceProviderKeyDirectory,
  createRedisAdmissionStore,
  createRedisClient,
  createRedisDecisionLog,
  createRedisRevocationBus,
  createRedisServiceProviderKeyDirectory,
  pingRedis,
} from "@agentauth/state";
import { pino } from "pino";
import { systemClock } from "./clock.js";
import { ConfigError, parseConfig, type VerifierConfig } from "./config.js";
import { createVerifier, type VerifierState } from "./create-verifier.js";

/** How long a shutdown waits for requests in flight before closing their connections. */
const SHUTDOWN_GRACE_MS = 10_000;

// The only place that reads configuration and wires the verifier to real things.
function main(): void {
  let config: VerifierConfig;
  try {
    config = parseConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
  if (config.workers > 1 && cluster.isPrimary) {
    superviseWorkers(config);
    return;
  }
  serve(config).catch((error: unknown) => {
    console.error("The verifier failed to start:", error);
    process.exit(1);
  });
}

/** Node cluster: the workers share the listening port and, through Redis, all state. */
function superviseWorkers(config: VerifierConfig): void {
  const logger = pino({ level: config.logLevel, base: { service: "verifier" } });
  let stopping = false;
  for (let i = 0; i < config.workers; i++) cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    logger.error(
      { pid: worker.process.pid, code, signal },
      "verifier worker died; starting another",
    );
    cluster.fork();
  });
  // Once: a worker meets a second SIGTERM with Node's default, dying without its grace period.
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

async function serve(config: VerifierConfig): Promise<void> {
  // Asynchronous writes: lines that pile up during one write go out together.
  const logger = pino(
    { level: config.logLevel, base: { service: "verifier" } },
    pino.destination({ dest: 1, sync: false }),
  );
  const redis = config.redisUrl === undefined ? undefined : createRedisClient(config.redisUrl);
  redis?.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  const state: VerifierState =
    redis === undefined
      ? {
          admissionStore: createMemoryAdmissionStore(),
          revocationBus: createMemoryRevocationBus(),
          keyDirectory: createMemoryServiceProviderKeyDirectory(),
          decisionLog: createMemoryDecisionLog(),
        }
      : {
          admissionStore: createRedisAdmissionStore(redis),
          revocationBus: createRedisRevocationBus(redis),
          keyDirectory: createRedisServiceProviderKeyDirectory(redis),
          decisionLog: createRedisDecisionLog(redis),
        };
  if (redis === undefined) {
    logger.warn(
      "REDIS_URL is unset: in-process state, shared with no registry or other verifier; " +
        "service-provider keys and revocations reach this verifier only when it is hosted in " +
        "the registry's process",
    );
  }
  const verifier = createVerifier({
    logger,
    clock: systemClock,
    issuer: config.registryUrl,
    jwksUrl: config.jwksUrl,
    state,
    // Without a configured secret, nonces are this process's own: fine for one process only
    // (the configuration refuses several workers without one).
    dpopNonceSecret: config.dpopNonceSecret ?? Uint8Array.from(randomBytes(32)),
    requireDpopNonce: config.requireDpopNonce,
    clockSkewSeconds: config.clockSkewSeconds,
    apiKeyCacheSeconds: config.apiKeyCacheSeconds,
    tokenCacheSize: config.tokenCacheSize,
    auditAllows: config.auditAllows,
    ...(redis === undefined ? {} : { readinessChecks: { redis: () => pingRedis(redis) } }),
  });
  await verifier.start();
  const server = createServer({ keepAliveTimeout: 65_000 }, verifier.handler);
  server.listen(config.port, config.host, () => {
    logger.info(
      {
        url: `http://${config.host}:${config.port}`,
        registry: config.registryUrl,
        redis: redis !== undefined,
      },
      "verifier listening",
    );
  });

  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down: finishing requests in flight");
    // `close` stops accepting and calls back once every connection has closed. Idle ones are
    // closed now and as requests in flight are answered (a keep-alive connection would otherwise
    // wait for its timeout); one still busy after the grace period is cut off.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    await closed;
    clearInterval(idle);
    clearTimeout(grace);
    await verifier.stop();
    redis?.disconnect();
    logger.flush(() => process.exit(0));
  };
  // SIGINT after SIGTERM (or the reverse) joins the shutdown under way; the same signal twice
  // meets Node's default and ends the process at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void shutdown(signal);
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main();
