import { ExpiringMap } from "./expiring-map.js";
import type { RevocationKind, RevocationRecord } from "./revocation-bus.js";

/**
 * The in-process view of every live revocation that a verifier checks on each request, fed by a
 * {@link RevocationBus} subscription: `onRevocation` → {@link RevocationSet.apply}, `onReload`
 * → {@link RevocationSet.replaceAll}. Lookups are O(1); expired entries are dropped when looked
 * up, and swept as the set grows using the latest time passed to `isRevoked`.
 *
 * @example
 * const revoked = new RevocationSet();
 * await bus.subscribe({
 *   onRevocation: (record) => revoked.apply(record),
 *   onReload: (records) => revoked.replaceAll(records),
 * });
 * revoked.isRevoked("token", claims.jti, now);
 */
export class RevocationSet {
  #byKind = emptySubjectMaps();
  // The set never reads a clock; sweeps use the latest `now` it was asked about.
  #latestNowMs = Number.NEGATIVE_INFINITY;

  /** Adds one revocation; a later expiry for the same subject wins, an earlier one is ignored. */
  apply(record: RevocationRecord): void {
    const subjects = this.#byKind[record.kind];
    const expiresAtMs = record.expiresAt.getTime();
    const known = subjects.get(record.subject, this.#latestNowMs);
    if (known === undefined || known.expiresAtMs < expiresAtMs) {
      subjects.set(record.subject, true, expiresAtMs, this.#latestNowMs);
    }
  }

  /** Replaces the whole set, e.g. with a reload after a reconnection. */
  replaceAll(records: Iterable<RevocationRecord>): void {
    this.#byKind = emptySubjectMaps();
    for (const record of records) this.apply(record);
  }

  /** Whether `subject` of `kind` is revoked at `now`. */
  isRevoked(kind: RevocationKind, subject: string, now: Date): boolean {
    const nowMs = now.getTime();
    if (nowMs > this.#latestNowMs) this.#latestNowMs = nowMs;
    return this.#byKind[kind].get(subject, nowMs) !== undefined;
  }
}

function emptySubjectMaps(): Record<RevocationKind, ExpiringMap<true>> {
  return {
    token: new ExpiringMap({ label: "token revocation set" }),
    grant: new ExpiringMap({ label: "grant revocation set" }),
    agent: new ExpiringMap({ label: "agent revocation set" }),
  };
}
