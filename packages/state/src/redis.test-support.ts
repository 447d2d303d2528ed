import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { Redis, RedisOptions } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { createRedisClient } from "./redis-client.js";

/** The Redis the suites run against; Redis suites are skipped without it. */
export const redisUrl = process.env.REDIS_URL;

/** A client on `url` (default {@link redisUrl}), ready for commands. */
export async function connectTestRedis(
  overrides: RedisOptions = {},
  url = redisUrl,
): Promise<Redis> {
  if (url === undefined) throw new Error("REDIS_URL is not set");
  const client = createRedisClient(url, overrides);
  // Connection errors surface through the commands under test.
  client.on("error", () => {});
  if (client.status !== "ready") await once(client, "ready", { signal: AbortSignal.timeout(5000) });
  return client;
}

/** A key prefix no other test run or test file uses. */
export function uniqueKeyPrefix(): string {
  return `agentauth-test:${randomUUID()}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== "0");
}

/** Kills, server side, every connection named `name` (as a network failure would). */
export async function killConnections(client: Redis, name: string): Promise<number> {
  const list = String(await client.client("LIST"));
  const ids = list
    .split("\n")
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id) => id !== undefined);
  for (const id of ids) await client.client("KILL", "ID", id);
  return ids.length;
}

/** Two replicas' connections for a Redis suite: open before its tests, closed after them. */
export interface TestRedisPair {
  readonly client: Redis;
  readonly otherClient: Redis;
}

/**
 * Opens two clients before the suite's tests and, after them, deletes every key under
 * `keyPrefix` and disconnects both. Call inside a `describe`; read the clients inside tests.
 */
export function useTestRedisPair(keyPrefix: string): TestRedisPair {
  let clients: [Redis, Redis] | undefined;
  const opened = () => {
    if (clients === undefined) throw new Error("the Redis clients open before the suite's tests");
    return clients;
  };
  beforeAll(async () => {
    clients = await Promise.all([connectTestRedis(), connectTestRedis()]);
  });
  afterAll(async () => {
    if (clients === undefined) return;
    await deleteKeys(clients[0], keyPrefix);
    for (const client of clients) client.disconnect();
  });
  return {
    get client() {
      return opened()[0];
    },
    get otherClient() {
      return opened()[1];
    },
  };
}
