/**
 * What a verifier needs to authenticate a service provider's API key (`aask_<prefix>_<secret>`)
 * without the registry's database: the registry publishes one record per key, the verifier reads
 * it by prefix and compares hashes in constant time.
 */
export interface ServiceProviderKeyRecord {
  /** The key's lookup prefix (the part between `aask_` and the secret). */
  readonly prefix: string;
  readonly serviceProviderId: string;
  /** SHA-256 hex of the key's secret part, as the registry stores it. */
  readonly secretHash: string;
  /** The key was revoked or its service provider disabled: it must not authenticate. */
  readonly revoked: boolean;
}

/** Where the registry publishes service-provider API keys for verifiers. */
export interface ServiceProviderKeyDirectory {
  /** Inserts or replaces records (by prefix). */
  put(records: readonly ServiceProviderKeyRecord[]): Promise<void>;
  get(prefix: string): Promise<ServiceProviderKeyRecord | undefined>;
}
