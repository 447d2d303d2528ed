import type { SigningKeyStore, StoredSigningKey } from "./signing-key-store.js";
import { comparePublishable } from "./signing-key-store.js";

/** A {@link SigningKeyStore} in process memory: for tests and single-process tools. */
export function createMemorySigningKeyStore(): SigningKeyStore {
  const keys = new Map<string, StoredSigningKey>();
  return {
    async recordKey({ kid, alg, publicJwk, now }) {
      const existing = keys.get(kid);
      if (existing === undefined) {
        keys.set(kid, { kid, alg, publicJwk, createdAt: now, retiredAt: undefined });
      } else if (existing.retiredAt !== undefined) {
        keys.set(kid, { ...existing, retiredAt: undefined });
      }
    },
    async retireOthers(activeKid, now) {
      const retired: string[] = [];
      for (const key of keys.values()) {
        if (key.kid === activeKid || key.retiredAt !== undefined) continue;
        keys.set(key.kid, { ...key, retiredAt: now });
        retired.push(key.kid);
      }
      return retired;
    },
    async listPublishable(now, retentionSeconds) {
      const cutoff = now.getTime() - retentionSeconds * 1000;
      return [...keys.values()]
        .filter((key) => key.retiredAt === undefined || key.retiredAt.getTime() > cutoff)
        .sort(comparePublishable);
    },
  };
}
