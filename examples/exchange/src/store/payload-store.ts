/** How often a payload may be retrieved. */
export type RetrievalMode = "once" | "reusable";

/** A published payload as the service keeps it: ciphertext only, found by its token's hash. */
export interface StoredPayload {
  /** SHA-256 hex of the data token: the token itself is never stored. */
  readonly tokenHash: string;
  readonly namespace: string;
  /** Sealed by the publishing agent; the service cannot read it. */
  readonly ciphertext: string;
  readonly contentType: string | undefined;
  readonly mode: RetrievalMode;
  /** The agent id that published it. */
  readonly publishedBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** What a retrieval found. */
export type TakeResult =
  | { readonly kind: "payload"; readonly payload: StoredPayload; readonly retrievals: number }
  | { readonly kind: "unknown" }
  | { readonly kind: "expired" }
  | { readonly kind: "used" };

export interface TakeOptions {
  /** The namespace the request names: a token of another namespace is unknown here. */
  readonly namespace: string;
  readonly now: Date;
}

/**
 * Where the exchange keeps payloads. `take` is atomic: a one-time payload is handed out exactly
 * once, however many retrievals race for it. After its expiry (and once used up) a payload's
 * ciphertext is gone; a tombstone answers "expired" or "used" for `retentionSeconds` more, then
 * the token is unknown.
 */
export interface PayloadStore {
  /** Stores a new payload; rejects with `ERR_VALIDATION` if its token hash exists already. */
  put(payload: StoredPayload): Promise<void>;
  take(tokenHash: string, options: TakeOptions): Promise<TakeResult>;
  /** Rejects when the store is unreachable (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How long a tombstone outlives its payload's expiry, by default: a day. */
export const DEFAULT_RETENTION_SECONDS = 86_400;
