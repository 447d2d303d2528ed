/**
 * Single-use markers shared by every replica: DPoP `jti`s, client assertion `jti`s, and any other
 * value that may be presented only once while it is valid.
 */
export interface ReplayStore {
  /**
   * Marks `key` as used until `expiresAt`. Resolves `true` the first time and `false` while an
   * earlier mark is live, atomically across replicas. A mark whose `expiresAt` has already passed
   * protects nothing and is not kept: callers reject expired values before marking them. Rejects
   * with a `StateError` when the mark cannot be recorded; the caller must then refuse the request.
   */
  markUsed(key: string, expiresAt: Date): Promise<boolean>;
}
