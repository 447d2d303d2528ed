import type { Redis } from "ioredis";
import { parseJson } from "./parse-json.js";
import { runRedis } from "./redis-command.js";
import type { ServiceProviderKeyDirectory } from "./service-provider-key-directory.js";
import {
  checkServiceProviderKeyRecords,
  toServiceProviderKeyRecord,
} from "./service-provider-key-record.js";
import { StateError } from "./state-error.js";
import { assertNonEmptyString, resolveKeyPrefix } from "./validate.js";

export interface RedisServiceProviderKeyDirectoryOptions {
  /** Prefix of every key. Default "agentauth:"; records live under `<prefix>sp-key:<key prefix>`. */
  keyPrefix?: string;
}

/**
 * A {@link ServiceProviderKeyDirectory} on Redis: one string per key prefix holding the record's
 * other fields as JSON, with no expiry (a record lives until replaced). `put` writes every record
 * with one atomic `MSET`. A stored value `get` cannot read rejects with `ERR_STATE_RECORD_INVALID`
 * rather than reading as absent: the key may well be valid, so the verifier answers 503 (and the
 * operator sees why) instead of telling a service provider its key is wrong.
 */
export function createRedisServiceProviderKeyDirectory(
  client: Redis,
  options: RedisServiceProviderKeyDirectoryOptions = {},
): ServiceProviderKeyDirectory {
  const keyspace = `${resolveKeyPrefix(options.keyPrefix)}sp-key:`;
  return {
    async put(records) {
      const checked = checkServiceProviderKeyRecords(records);
      if (checked.length === 0) return;
      const values = new Map(
        checked.map(({ prefix, ...fields }) => [`${keyspace}${prefix}`, JSON.stringify(fields)]),
      );
      await runRedis("service-provider key put", () => client.mset(values));
    },
    async get(prefix) {
      assertNonEmptyString(prefix, "prefix");
      const key = `${keyspace}${prefix}`;
      const value = await runRedis("service-provider key get", () => client.get(key));
      if (value === null) return undefined;
      const record = toServiceProviderKeyRecord(prefix, parseJson(value));
      if (record === undefined) {
        throw new StateError(
          "ERR_STATE_RECORD_INVALID",
          `Unreadable service-provider key at ${key}`,
        );
      }
      return record;
    },
  };
}
