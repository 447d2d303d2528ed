import { ExpiringMap } from "./expiring-map.js";
import type { RevocationBus, RevocationListener, RevocationRecord } from "./revocation-bus.js";
import { assertRevocationRecord } from "./revocation-record.js";

export interface MemoryRevocationBusOptions {
  /** Clock for expiry. Default the system clock. */
  now?: () => Date;
}

/**
 * An in-process {@link RevocationBus} for the single-process embedded default: `publish` stores
 * the record and hands it to every listener before it resolves.
 */
export function createMemoryRevocationBus(options: MemoryRevocationBusOptions = {}): RevocationBus {
  const now = options.now ?? (() => new Date());
  const records = new ExpiringMap<RevocationRecord>({ label: "revocation bus" });
  const listeners = new Set<RevocationListener>();
  const live = (): RevocationRecord[] =>
    Array.from(records.entries(now().getTime()), ([, entry]) => entry.value);

  return {
    async publish(record) {
      const expiresAtMs = assertRevocationRecord(record);
      // A copy, as a subscriber through Redis would get: later changes by the caller do not leak.
      const published = {
        kind: record.kind,
        subject: record.subject,
        expiresAt: new Date(expiresAtMs),
      };
      const nowMs = now().getTime();
      const id = `${published.kind}:${published.subject}`;
      const known = records.get(id, nowMs);
      if (expiresAtMs > nowMs && (known === undefined || known.expiresAtMs < expiresAtMs)) {
        records.set(id, published, expiresAtMs, nowMs);
      }
      for (const listener of listeners) listener.onRevocation(published);
    },
    async subscribe(listener) {
      listeners.add(listener);
      listener.onReload(live());
      return {
        async close() {
          listeners.delete(listener);
        },
      };
    },
    async loadAll() {
      return live();
    },
  };
}
