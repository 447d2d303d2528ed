import type { StateError } from "./state-error.js";

/** What a revocation names: one access token (`jti`), one grant, or every token of an agent. */
export const REVOCATION_KINDS = ["token", "grant", "agent"] as const;

export type RevocationKind = (typeof REVOCATION_KINDS)[number];

/** One revocation, kept until `expiresAt`, after which what it names is dead anyway. */
export interface RevocationRecord {
  readonly kind: RevocationKind;
  readonly subject: string;
  readonly expiresAt: Date;
}

/** Receives revocations. Its methods are called synchronously and must not throw. */
export interface RevocationListener {
  /** One revocation, as soon as it is published. */
  onRevocation(record: RevocationRecord): void;
  /**
   * The full set of live revocations, on subscribe and after every reconnection; it includes
   * everything passed to `onRevocation` while it was being read, so replacing the local set
   * with it loses nothing.
   */
  onReload(records: readonly RevocationRecord[]): void;
  /**
   * A problem the subscription cannot raise otherwise. `ERR_STATE_UNAVAILABLE` means the local
   * set may miss revocations until the next `onReload`: a verifier fails closed in between.
   * `ERR_STATE_RECORD_INVALID` means a record this version cannot read was skipped.
   */
  onError?(error: StateError): void;
}

/** An open subscription. */
export interface RevocationSubscription {
  /** Stops delivery and releases the connection. */
  close(): Promise<void>;
}

/**
 * Carries revocations from the registry to every verifier replica. The registry publishes; each
 * verifier subscribes and keeps a local {@link RevocationSet} for O(1) checks.
 */
export interface RevocationBus {
  /** Records a revocation and announces it to every subscriber, atomically. */
  publish(record: RevocationRecord): Promise<void>;
  /** Delivers every live revocation, then each new one; resolves once the first reload is done. */
  subscribe(listener: RevocationListener): Promise<RevocationSubscription>;
  /** Every live revocation. */
  loadAll(): Promise<RevocationRecord[]>;
}
