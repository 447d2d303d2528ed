import type { PublicJwk, SignatureAlgorithm } from "@agentauth/core";

export interface RecordSigningKeyInput {
  readonly kid: string;
  readonly alg: SignatureAlgorithm;
  readonly publicJwk: PublicJwk;
  /** When the key started signing. */
  readonly now: Date;
}

/** A token signing key's public half as the store keeps it. */
export interface StoredSigningKey {
  readonly kid: string;
  readonly alg: SignatureAlgorithm;
  readonly publicJwk: PublicJwk;
  readonly createdAt: Date;
  /** When it stopped signing; `undefined` while it signs. */
  readonly retiredAt: Date | undefined;
}

/**
 * Where the registry keeps the public halves of its token signing keys: the source of its JWKS,
 * shared by every replica. Private keys are never here (they stay in the signer).
 */
export interface SigningKeyStore {
  /**
   * Records `key` as signing: inserted if new, or back in service if it had been retired (an
   * operator went back to it). Recording a key already in service changes nothing.
   */
  recordKey(key: RecordSigningKeyInput): Promise<void>;
  /**
   * Retires every key still in service other than `activeKid`, as of `now`, and returns their
   * `kid`s. A key already retired keeps its retirement time.
   */
  retireOthers(activeKid: string, now: Date): Promise<readonly string[]>;
  /**
   * The keys whose tokens may still be valid at `now`: those in service, then those retired
   * less than `retentionSeconds` before `now`, most recently retired first.
   */
  listPublishable(now: Date, retentionSeconds: number): Promise<readonly StoredSigningKey[]>;
}

/** The order `listPublishable` promises: in service first, then most recently retired. */
export function comparePublishable(a: StoredSigningKey, b: StoredSigningKey): number {
  const retiredA = a.retiredAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const retiredB = b.retiredAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (retiredA !== retiredB) return retiredA > retiredB ? -1 : 1;
  const createdA = a.createdAt.getTime();
  const createdB = b.createdAt.getTime();
  if (createdA !== createdB) return createdA > createdB ? -1 : 1;
  return a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0;
}
