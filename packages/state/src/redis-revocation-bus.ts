import type { Redis } from "ioredis";
import { defineRedisScript, escapeGlob, runRedis, toUnavailable } from "./redis-command.js";
import type {
  RevocationBus,
  RevocationListener,
  RevocationRecord,
  RevocationSubscription,
} from "./revocation-bus.js";
import {
  assertRevocationRecord,
  decodeRevocationMessage,
  encodeRevocationMessage,
  mergeRevocations,
  toRevocationRecord,
} from "./revocation-record.js";
import { StateError } from "./state-error.js";
import { resolveKeyPrefix } from "./validate.js";

export interface RedisRevocationBusOptions {
  /**
   * Prefix of every key and of the channel. Default "agentauth:"; records live under
   * `<prefix>revoked:<kind>:<subject>` and are announced on `<prefix>revocations`.
   */
  keyPrefix?: string;
  /** Name of each subscriber connection in `CLIENT LIST`. Default "agentauth-revocations". */
  subscriberName?: string;
  /**
   * Interval of the PING that proves a subscriber connection alive. A connection silent for this
   * long after a PING is dropped and reconnected, which bounds how long a half-open TCP
   * connection can hide missed revocations. Default 1000 ms.
   */
  heartbeatMs?: number;
}

// Keeps the later expiry when a subject is revoked twice, so a revocation never shortens, and
// announces the record in the same atomic step.
const publishScript = defineRedisScript(`
local expiresAt = ARGV[1]
local known = redis.call('GET', KEYS[1])
if known and tonumber(known) > tonumber(expiresAt) then expiresAt = known end
redis.call('SET', KEYS[1], expiresAt, 'PXAT', expiresAt)
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`);

const SCAN_COUNT = 1000;
// A reload that failed on a connection that is still up is retried after this pause.
const RELOAD_RETRY_MS = 500;

/**
 * A {@link RevocationBus} on Redis. `publish` runs one Lua script that stores the record under
 * its own key with `PXAT` expiry and `PUBLISH`es it. Each subscription holds a dedicated
 * connection (a duplicate of `client`) that, on every (re)connection, subscribes first and then
 * reloads every record with `SCAN` on that same connection; Redis runs one connection's commands
 * in order, so anything published while the subscriber was away is in the reload, and anything
 * published after it arrives as a message. The subscriber connection speaks RESP3 (ioredis 6's
 * default, Redis ≥ 6), which allows `SCAN` on a subscribed connection.
 */
export function createRedisRevocationBus(
  client: Redis,
  options: RedisRevocationBusOptions = {},
): RevocationBus {
  const prefix = resolveKeyPrefix(options.keyPrefix);
  const keyspace = `${prefix}revoked:`;
  const channel = `${prefix}revocations`;
  const subscriberName = options.subscriberName ?? "agentauth-revocations";
  const heartbeatMs = options.heartbeatMs ?? 1000;
  if (!Number.isSafeInteger(heartbeatMs) || heartbeatMs < 1) {
    throw new TypeError("heartbeatMs must be a positive integer");
  }

  /** Every record under the keyspace, plus the keys it could not read. */
  async function scanRecords(
    connection: Redis,
  ): Promise<{ records: RevocationRecord[]; unreadable: string[] }> {
    const records: RevocationRecord[] = [];
    const unreadable: string[] = [];
    const pattern = `${escapeGlob(keyspace)}*`;
    let cursor = "0";
    do {
      const [next, keys] = await connection.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
      cursor = next;
      if (keys.length === 0) continue;
      const values = await connection.mget(...keys);
      keys.forEach((key, index) => {
        const value = values[index];
        // Expired between SCAN and MGET.
        if (value === null || value === undefined) return;
        const rest = key.slice(keyspace.length);
        const colon = rest.indexOf(":");
        const record =
          colon < 0
            ? undefined
            : toRevocationRecord(rest.slice(0, colon), rest.slice(colon + 1), value);
        if (record === undefined) unreadable.push(key);
        else records.push(record);
      });
    } while (cursor !== "0");
    // SCAN may return a key more than once.
    return { records: mergeRevocations(records), unreadable };
  }

  async function subscribe(listener: RevocationListener): Promise<RevocationSubscription> {
    const subscriber = client.duplicate({
      lazyConnect: true,
      // Each (re)connection subscribes itself, right before its reload.
      autoResubscribe: false,
      protocol: 3,
      connectionName: subscriberName,
      socketTimeout: heartbeatMs,
    });
    let closed = false;
    let synced = false;
    // Bumped on every connection loss: a reload begun on a lost connection is discarded.
    let epoch = 0;
    let lastError: unknown;
    let retryTimer: NodeJS.Timeout | undefined;
    // Messages seen while a reload runs, merged into it so replacing the local set drops none.
    const collectors = new Set<RevocationRecord[]>();
    const report = (error: StateError) => listener.onError?.(error);

    subscriber.on("error", (error: unknown) => {
      lastError = error;
    });
    subscriber.on("message", (from: string, message: string) => {
      if (from !== channel) return;
      const record = decodeRevocationMessage(message);
      if (record === undefined) {
        report(new StateError("ERR_STATE_RECORD_INVALID", "Skipped an unreadable revocation"));
        return;
      }
      for (const collected of collectors) collected.push(record);
      listener.onRevocation(record);
    });
    subscriber.on("close", () => {
      epoch += 1;
      clearTimeout(retryTimer);
      if (synced && !closed) {
        synced = false;
        report(
          toUnavailable(lastError ?? new Error("connection closed"), "revocation subscription"),
        );
      }
    });

    /** Subscribes and reloads; `false` when the connection was lost meanwhile. */
    async function sync(): Promise<boolean> {
      const startedIn = epoch;
      const collected: RevocationRecord[] = [];
      collectors.add(collected);
      try {
        await subscriber.subscribe(channel);
        const { records, unreadable } = await scanRecords(subscriber);
        if (startedIn !== epoch || closed) return false;
        for (const key of unreadable) {
          report(new StateError("ERR_STATE_RECORD_INVALID", `Skipped unreadable ${key}`));
        }
        listener.onReload(mergeRevocations([...records, ...collected]));
        synced = true;
        lastError = undefined;
        return true;
      } finally {
        collectors.delete(collected);
      }
    }

    const resync = (): void => {
      const startedIn = epoch;
      sync().catch((error: unknown) => {
        if (startedIn !== epoch || closed) return;
        report(toUnavailable(error, "revocation reload"));
        retryTimer = setTimeout(resync, RELOAD_RETRY_MS);
      });
    };

    try {
      await subscriber.connect();
      if (!(await sync())) throw new Error("connection lost during the first reload");
    } catch (error) {
      closed = true;
      subscriber.disconnect();
      throw toUnavailable(error, "revocation subscribe");
    }
    subscriber.on("ready", resync);
    const heartbeat = setInterval(() => {
      // A lost reply trips `socketTimeout`, which drops the connection; the error is not needed.
      if (subscriber.status === "ready") subscriber.ping().catch(() => {});
    }, heartbeatMs);
    heartbeat.unref();

    return {
      async close() {
        closed = true;
        clearInterval(heartbeat);
        clearTimeout(retryTimer);
        subscriber.disconnect();
      },
    };
  }

  return {
    async publish(record) {
      const expiresAtMs = assertRevocationRecord(record);
      const key = `${keyspace}${record.kind}:${record.subject}`;
      await runRedis("revocation publish", () =>
        publishScript(client, [key], [expiresAtMs, channel, encodeRevocationMessage(record)]),
      );
    },
    subscribe,
    async loadAll() {
      const { records } = await runRedis("revocation load", () => scanRecords(client));
      return records;
    },
  };
}
