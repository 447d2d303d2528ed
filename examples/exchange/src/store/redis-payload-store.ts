import { DEFAULT_KEY_PREFIX, pingRedis } from "@agentauth/state";
import type { Redis } from "ioredis";
import { ExchangeError } from "../errors.js";
import {
  DEFAULT_RETENTION_SECONDS,
  type PayloadStore,
  type RetrievalMode,
  type TakeResult,
} from "./payload-store.js";

// Stores the payload unless its token hash exists; the key lives until the tombstone's end.
const PUT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1`;

// One atomic step: look, count, and for a one-time payload drop the ciphertext and mark it used.
const TAKE = `
local f = redis.call('HMGET', KEYS[1], 'namespace', 'expires_at', 'mode', 'state')
if not f[1] or f[1] ~= ARGV[1] then return {'unknown'} end
local now = tonumber(ARGV[2])
local expires = tonumber(f[2])
if expires + tonumber(ARGV[3]) <= now then
  redis.call('DEL', KEYS[1])
  return {'unknown'}
end
if f[4] == 'expired' or expires <= now then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  redis.call('HDEL', KEYS[1], 'ciphertext')
  return {'expired'}
end
if f[4] == 'used' then return {'used'} end
local n = redis.call('HINCRBY', KEYS[1], 'retrievals', 1)
local p = redis.call('HMGET', KEYS[1], 'ciphertext', 'content_type', 'published_by', 'created_at')
if f[3] == 'once' then
  redis.call('HSET', KEYS[1], 'state', 'used')
  redis.call('HDEL', KEYS[1], 'ciphertext')
end
return {'payload', p[1], p[2] or '', p[3], p[4], f[3], f[2], tostring(n)}`;

export interface RedisPayloadStoreOptions {
  /** Prefix of every key; default "agentauth:". */
  readonly keyPrefix?: string;
  readonly retentionSeconds?: number;
}

/**
 * Payloads in Redis, shared by every replica of the exchange: one hash per token hash, expiring
 * with its tombstone; `take` is one Lua script, so a one-time payload is handed out exactly once
 * across replicas. The client is injected: its owner closes it (`close` leaves it open).
 */
export function createRedisPayloadStore(
  redis: Redis,
  options: RedisPayloadStoreOptions = {},
): PayloadStore {
  const prefix = `${options.keyPrefix ?? DEFAULT_KEY_PREFIX}exchange:payload:`;
  const retentionMs = (options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS) * 1000;
  const unavailable = (error: unknown) =>
    new ExchangeError("ERR_STORE_UNAVAILABLE", "The payload store is unavailable", {
      cause: error,
    });

  return {
    async put(payload) {
      const fields = [
        "namespace",
        payload.namespace,
        "ciphertext",
        payload.ciphertext,
        "mode",
        payload.mode,
        "state",
        "live",
        "published_by",
        payload.publishedBy,
        "created_at",
        String(payload.createdAt.getTime()),
        "expires_at",
        String(payload.expiresAt.getTime()),
        "retrievals",
        "0",
        ...(payload.contentType === undefined ? [] : ["content_type", payload.contentType]),
      ];
      let stored: unknown;
      try {
        stored = await redis.eval(
          PUT,
          1,
          prefix + payload.tokenHash,
          String(payload.expiresAt.getTime() + retentionMs),
          ...fields,
        );
      } catch (error) {
        throw unavailable(error);
      }
      if (stored !== 1)
        throw new ExchangeError("ERR_VALIDATION", "A payload with this token exists already");
    },
    async take(tokenHash, { namespace, now }): Promise<TakeResult> {
      let reply: unknown;
      try {
        reply = await redis.eval(
          TAKE,
          1,
          prefix + tokenHash,
          namespace,
          String(now.getTime()),
          String(retentionMs),
        );
      } catch (error) {
        throw unavailable(error);
      }
      const [kind, ciphertext, contentType, publishedBy, createdAt, mode, expiresAt, count] =
        reply as string[];
      if (kind === "unknown" || kind === "expired" || kind === "used") return { kind };
      return {
        kind: "payload",
        payload: {
          tokenHash,
          namespace,
          ciphertext: ciphertext as string,
          contentType: contentType === "" ? undefined : contentType,
          mode: mode as RetrievalMode,
          publishedBy: publishedBy as string,
          createdAt: new Date(Number(createdAt)),
          expiresAt: new Date(Number(expiresAt)),
        },
        retrievals: Number(count),
      };
    },
    async ping() {
      try {
        await pingRedis(redis);
      } catch (error) {
        throw unavailable(error);
      }
    },
    async close() {},
  };
}
