import { createHash } from "node:crypto";
import type { ChainableCommander, Redis } from "ioredis";
import { StateError } from "./state-error.js";

/** Runs one Redis call, turning any failure into an `ERR_STATE_UNAVAILABLE` {@link StateError}. */
export async function runRedis<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toUnavailable(error, operation);
  }
}

/** Wraps a Redis failure as `ERR_STATE_UNAVAILABLE`, keeping it as the cause. */
export function toUnavailable(error: unknown, operation: string): StateError {
  if (error instanceof StateError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new StateError("ERR_STATE_UNAVAILABLE", `Redis ${operation} failed: ${reason}`, {
    cause: error,
  });
}

/** Whether `error` is a Redis error reply with `code` (its first word), e.g. `BUSYGROUP`. */
export function isRedisError(error: unknown, code: string): boolean {
  return error instanceof Error && error.message.startsWith(`${code} `);
}

/** Runs a `MULTI` … `EXEC` transaction, rejecting with the first error among its replies. */
export async function execTransaction(transaction: ChainableCommander): Promise<void> {
  const replies = await transaction.exec();
  // `null` means a WATCHed key changed; the adapters WATCH nothing, so it is not expected.
  if (replies === null) throw new Error("The transaction was aborted");
  for (const [error] of replies) if (error !== null) throw error;
}

/** A Lua script run by SHA, sent in full only when Redis does not have it cached yet. */
export type RedisScript = (
  client: Redis,
  keys: readonly string[],
  args: readonly (string | number)[],
) => Promise<unknown>;

/** Prepares `lua` for {@link RedisScript} calls (EVALSHA with an EVAL fallback on NOSCRIPT). */
export function defineRedisScript(lua: string): RedisScript {
  const sha = createHash("sha1").update(lua).digest("hex");
  return async (client, keys, args) => {
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      // A restarted or failed-over Redis has an empty script cache.
      if (!isRedisError(error, "NOSCRIPT")) throw error;
      return client.eval(lua, keys.length, ...keys, ...args);
    }
  };
}

/** Escapes glob characters so `text` matches itself in a SCAN MATCH pattern. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
