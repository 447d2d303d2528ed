import type { Redis } from "ioredis";
import {
  type FixedWindowLimiter,
  placeFixedWindowHit,
  toFixedWindowHitResult,
} from "./fixed-window-limiter.js";
import { defineRedisScript, runRedis } from "./redis-command.js";
import { resolveKeyPrefix } from "./validate.js";

export interface RedisFixedWindowLimiterOptions {
  /**
   * Prefix of every key. Default "agentauth:"; counters live under
   * `<prefix>limit:<key>:<windowSeconds>:<windowStartMs>`.
   */
  keyPrefix?: string;
}

// The expiry is relative (PEXPIRE, one window long from the first hit) rather than absolute:
// the key already names its window, and an absolute expiry compared with a Redis clock that runs
// ahead of the services' would delete live counters and hand out fresh allowances.
const hitScript = defineRedisScript(`
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
`);

/** A {@link FixedWindowLimiter} on Redis: one Lua `INCR` + `PEXPIRE` per hit, atomic across replicas. */
export function createRedisFixedWindowLimiter(
  client: Redis,
  options: RedisFixedWindowLimiterOptions = {},
): FixedWindowLimiter {
  const prefix = `${resolveKeyPrefix(options.keyPrefix)}limit:`;
  return {
    async hit(key, limit, windowSeconds, now) {
      const { counterId, endMs, nowMs } = placeFixedWindowHit(key, limit, windowSeconds, now);
      const count = await runRedis("rate limit hit", () =>
        hitScript(client, [`${prefix}${counterId}`], [windowSeconds * 1000]),
      );
      return toFixedWindowHitResult(Number(count), limit, endMs, nowMs);
    },
  };
}
