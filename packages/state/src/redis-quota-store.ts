import type { Redis } from "ioredis";
import { checkQuotaConsume } from "./quota-consume.js";
import type { QuotaStore } from "./quota-store.js";
import { defineRedisScript, runRedis } from "./redis-command.js";
import { resolveKeyPrefix } from "./validate.js";

export interface RedisQuotaStoreOptions {
  /** Prefix of every key. Default "agentauth:"; counters live under `<prefix>quota:<key>`. */
  keyPrefix?: string;
}

// KEYS: the counters. ARGV[1]: "write" or "dry-run", then per counter i: increment at 3i-1,
// limit at 3i, expiresAt (epoch ms) at 3i+1. Redis runs a script alone, so nothing changes a
// counter between the reads and the writes: that is what makes the check-then-add atomic.
// `increment > limit - count` is exact in Lua's doubles for safe integers, where
// `count + increment` might round. Counts go back as strings: ioredis parses integer replies
// near 2^53 inexactly.
const consumeScript = defineRedisScript(`
local counts = redis.call('MGET', unpack(KEYS))
local fits = 1
for i = 1, #KEYS do
  counts[i] = counts[i] or '0'
  if tonumber(ARGV[3 * i - 1]) > tonumber(ARGV[3 * i]) - tonumber(counts[i]) then fits = 0 end
end
if fits == 1 and ARGV[1] == 'write' then
  for i = 1, #KEYS do
    if ARGV[3 * i - 1] ~= '0' then
      redis.call('INCRBY', KEYS[i], ARGV[3 * i - 1])
      redis.call('PEXPIREAT', KEYS[i], ARGV[3 * i + 1])
    end
  end
end
return { fits, counts }
`);

/**
 * A {@link QuotaStore} on Redis: one Lua script per call reads every counter, decides, and only
 * if all fit `INCRBY`s each and sets its expiry with `PEXPIREAT` at its entry's `expiresAt`
 * (Redis's clock decides when a window is over, so keep clocks in sync with NTP). With `dryRun`
 * it only reads. All the counters of a call are keys of one script: on Redis Cluster they must
 * share a hash slot (a `{grant id}` hash tag in the keys).
 */
export function createRedisQuotaStore(
  client: Redis,
  options: RedisQuotaStoreOptions = {},
): QuotaStore {
  const prefix = `${resolveKeyPrefix(options.keyPrefix)}quota:`;
  return {
    async consume(entries, consumeOptions) {
      const { entries: checked, dryRun } = checkQuotaConsume(entries, consumeOptions);
      const reply = await runRedis("quota consume", () =>
        consumeScript(
          client,
          checked.map((entry) => `${prefix}${entry.key}`),
          [
            dryRun ? "dry-run" : "write",
            ...checked.flatMap((entry) => [entry.increment, entry.limit, entry.expiresAtMs]),
          ],
        ),
      );
      const [fits, counts] = reply as [number, string[]];
      return { withinLimits: fits === 1, before: counts.map(Number) };
    },
  };
}
