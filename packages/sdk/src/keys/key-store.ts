/** What a {@link KeyStore} holds for the agent: its key pair and, once enrolled, its id. */
export interface StoredAgentKey {
  /** An ECDSA P-256 key pair; the private key is not extractable. */
  readonly keyPair: CryptoKeyPair;
  /** The agent id the registry assigned at enrolment; `undefined` before. */
  readonly agentId: string | undefined;
}

/**
 * Where the agent keeps its identity: a P-256 key generated on first use, and the agent id it
 * was enrolled under. Adapters: {@link createMemoryKeyStore} (this process only),
 * {@link createIndexedDbKeyStore} (browsers: the `CryptoKey` itself in IndexedDB), and
 * `createFileKeyStore` from `@agentauth/sdk/node` (a JWK file, mode 0600). The private key
 * never leaves the store's `CryptoKey`: the SDK only asks it to sign.
 */
export interface KeyStore {
  /**
   * The stored key, generating and storing one the first time. Every call — concurrent ones
   * too — answers the same key.
   */
  loadOrCreate(): Promise<StoredAgentKey>;
  /** Records the agent id the registry assigned to this key. */
  saveAgentId(agentId: string): Promise<void>;
}

const AGENT_ID = /^[A-Za-z0-9._~-]{1,200}$/;

/** Whether `agentId` looks like a registry agent id. */
export function isAgentId(agentId: unknown): agentId is string {
  return typeof agentId === "string" && AGENT_ID.test(agentId);
}

/** Throws `TypeError` unless `agentId` looks like a registry agent id. */
export function assertAgentId(agentId: unknown): asserts agentId is string {
  if (!isAgentId(agentId)) {
    throw new TypeError("An agent id is 1 to 200 characters of [A-Za-z0-9._~-]");
  }
}

/** Whether `value` has the shape of a {@link KeyStore} (for option validation). */
export function isKeyStore(value: unknown): value is KeyStore {
  if (typeof value !== "object" || value === null) return false;
  const store = value as Record<string, unknown>;
  return typeof store.loadOrCreate === "function" && typeof store.saveAgentId === "function";
}
