import { runExample } from "@agentauth/examples-kit";
import { createRedisClient } from "@agentauth/state";
import { parseExchangeConfig } from "./config.js";
import { createExchangeApp } from "./create-exchange-app.js";
import { createMemoryPayloadStore } from "./store/memory-payload-store.js";
import { createRedisPayloadStore } from "./store/redis-payload-store.js";

// The exchange as `npm start` runs it: payloads in memory, or in Redis with REDIS_URL.
runExample({
  name: "exchange",
  parseConfig: parseExchangeConfig,
  createApp({ config, agentAuth, logger }) {
    const redis = config.redisUrl === undefined ? undefined : createRedisClient(config.redisUrl);
    redis?.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
    const store = redis === undefined ? createMemoryPayloadStore() : createRedisPayloadStore(redis);
    return {
      listener: createExchangeApp({
        agentAuth,
        store,
        clock: { now: () => new Date() },
        logger,
        limits: config.limits,
      }),
      details: { store: redis === undefined ? "memory" : "redis" },
      async close() {
        await store.close();
        redis?.disconnect();
      },
    };
  },
}).catch((error: unknown) => {
  console.error("The exchange failed:", error);
  process.exit(1);
});
