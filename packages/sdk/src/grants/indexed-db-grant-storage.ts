import { type IndexedDbOptions, indexedDbRecord } from "../indexed-db/indexed-db-record.js";
import {
  type GrantStorage,
  parseVersionedSavedGrants,
  versionedSavedGrants,
} from "./grant-storage.js";

export type IndexedDbGrantStorageOptions = IndexedDbOptions;

/**
 * A grant storage in IndexedDB, for agents in browsers: the record `name` of the object store
 * `grants` in the database `databaseName` holds the snapshot as
 * `{ version: 1, jkt, grants: [{ serviceProvider, grantId, refreshToken, authorization }] }`,
 * each save replacing it in one transaction (the old snapshot or the new one, never a mix).
 * A record that is not saved grants is refused with `ERR_GRANT_STORAGE`, naming the problem
 * but never a refresh token, as is a page without IndexedDB. Use the key store's `name` for
 * the agent's grant storage: its refresh tokens are bound to that key.
 *
 * @example const grantStorage = createIndexedDbGrantStorage({ name: "calendar-agent" });
 */
export function createIndexedDbGrantStorage(
  options: IndexedDbGrantStorageOptions = {},
): GrantStorage {
  const record = indexedDbRecord(options, "grants", "ERR_GRANT_STORAGE");
  return {
    async load() {
      const value = await record.get("load the grants from");
      return value === undefined ? undefined : parseVersionedSavedGrants(value, record.where);
    },
    async save(saved) {
      await record.put("save the grants in", versionedSavedGrants(saved));
    },
  };
}
