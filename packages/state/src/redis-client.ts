import { Redis, type RedisOptions } from "ioredis";
import { runRedis } from "./redis-command.js";
import { StateError } from "./state-error.js";

/**
 * Options for a service's Redis connection. Each one makes a command fail within a bounded time
 * when Redis is away, so callers fail closed (503) instead of waiting.
 */
const SERVICE_DEFAULTS: RedisOptions = {
  // Connect now, so readiness probes reflect the real connection from the start.
  lazyConnect: false,
  // A command issued while disconnected fails at once instead of queuing until Redis returns.
  enableOfflineQueue: false,
  // A command in flight when the connection drops fails at that drop instead of being retried.
  maxRetriesPerRequest: 0,
  // ... and is not re-sent after reconnecting: it may have run already, and a re-sent `SET NX`
  // would report a false replay, a re-sent `INCR` would count a hit twice.
  autoResendUnfulfilledCommands: false,
  // A Redis that accepts the command but never answers (overload, half-open TCP) fails it here.
  commandTimeout: 1000,
  connectTimeout: 2000,
  // Reconnect quickly and forever: 50 ms doubling to 1 s, with jitter so replicas spread out.
  // Commands issued in the same tick (by concurrent requests) share one write and one read.
  enableAutoPipelining: true,
  retryStrategy: (attempt) =>
    Math.min(50 * 2 ** (attempt - 1), 1000) + Math.floor(Math.random() * 100),
};

/**
 * Opens a Redis connection for a service from a `redis://` or `rediss://` URL, tuned to fail fast
 * (see the options above; `overrides` win). It connects in the background and keeps reconnecting;
 * gate traffic on {@link pingRedis}. Attach an `error` listener to log connection errors: ioredis
 * prints unhandled ones to stderr.
 *
 * @example
 * const redis = createRedisClient(config.redisUrl);
 * redis.on("error", (error) => logger.warn({ err: error }, "redis"));
 */
export function createRedisClient(url: string, overrides: RedisOptions = {}): Redis {
  if (!/^rediss?:\/\//.test(url)) {
    throw new TypeError("The Redis URL must start with redis:// or rediss://");
  }
  return new Redis(url, { ...SERVICE_DEFAULTS, ...overrides });
}

/** Readiness check: resolves when Redis answers PING, rejects with `ERR_STATE_UNAVAILABLE`. */
export async function pingRedis(client: Redis): Promise<void> {
  const reply = await runRedis("PING", () => client.ping());
  if (reply !== "PONG") {
    throw new StateError("ERR_STATE_UNAVAILABLE", `Redis answered PING with ${String(reply)}`);
  }
}
