import type { GrantStorage, SavedGrants } from "./grant-storage.js";

/**
 * A grant storage that lives as long as this object: for tests, and for an agent object made
 * again in the same process (`createAgent` with the same key store and this storage holds the
 * grants the first one was approved). It keeps a copy of each snapshot, so nothing changes it
 * behind the agent's back; nothing is written anywhere.
 */
export function createMemoryGrantStorage(): GrantStorage {
  let saved: SavedGrants | undefined;
  return {
    async load() {
      return saved === undefined ? undefined : structuredClone(saved);
    },
    async save(snapshot) {
      saved = structuredClone(snapshot);
    },
  };
}
