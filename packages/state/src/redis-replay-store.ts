import type { Redis } from "ioredis";
import { runRedis } from "./redis-command.js";
import type { ReplayStore } from "./replay-store.js";
import { assertNonEmptyString, resolveKeyPrefix, toEpochMs } from "./validate.js";

export interface RedisReplayStoreOptions {
  /** Prefix of every key. Default "agentauth:"; marks live under `<prefix>replay:<key>`. */
  keyPrefix?: string;
}

/**
 * A {@link ReplayStore} on Redis: one `SET key 1 NX PXAT expiresAt`, atomic across replicas, with
 * Redis expiring the mark. `expiresAt` is compared with the Redis server's clock, so services and
 * Redis must keep their clocks in sync (NTP); callers leave a margin over their own skew allowance.
 */
export function createRedisReplayStore(
  client: Redis,
  options: RedisReplayStoreOptions = {},
): ReplayStore {
  const prefix = `${resolveKeyPrefix(options.keyPrefix)}replay:`;
  return {
    async markUsed(key, expiresAt) {
      assertNonEmptyString(key, "key");
      const expiresAtMs = toEpochMs(expiresAt, "expiresAt");
      const reply = await runRedis("replay mark", () =>
        client.set(`${prefix}${key}`, 1, "PXAT", expiresAtMs, "NX"),
      );
      return reply === "OK";
    },
  };
}
