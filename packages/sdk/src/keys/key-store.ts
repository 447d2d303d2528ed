import { AgentAuthSdkError } from "../errors.js";

/** What a {@link KeyStore} holds for the agent: its key pair and, once enrolled, its id. */
export interface StoredAgentKey {
  /** An ECDSA P-256 key pair; the private key is not extractable. */
  readonly keyPair: CryptoKeyPair;
  /** The agent id the registry assigned at enrolment; `undefined` before. */
  readonly agentId: string | undefined;
  /**
   * The next key, staged by {@link KeyStore.stageNextKey} and not promoted yet: a key rotation
   * under way, or one a crash interrupted (`agent.rotateKey()` completes it). `undefined` when
   * none is staged.
   */
  readonly nextKeyPair: CryptoKeyPair | undefined;
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
  /**
   * The next key for a key rotation, stored durably beside the current one: generated the first
   * time, then the same key on every call — concurrent ones, reopened stores and calls after a
   * crash too — until it is promoted, so a rotation tried again proves the same next key.
   * {@link loadOrCreate} keeps answering the current key meanwhile.
   */
  stageNextKey(): Promise<CryptoKeyPair>;
  /**
   * Makes the staged key the current one, atomically, keeping the agent id, and forgets the
   * staged one: answers the new current key. `ERR_KEY_STORE` when no key is staged.
   */
  promoteNextKey(): Promise<StoredAgentKey>;
}

/** The `ERR_KEY_STORE` error of {@link KeyStore.promoteNextKey} with no key staged. */
export function nothingStagedError(where: string): AgentAuthSdkError {
  return new AgentAuthSdkError(
    "ERR_KEY_STORE",
    `${where} has no next key staged to promote: stage one first (agent.rotateKey() does)`,
  );
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

/** What a {@link KeyStore} implements. */
export const KEY_STORE_METHODS = [
  "loadOrCreate",
  "saveAgentId",
  "stageNextKey",
  "promoteNextKey",
] as const;

/** Whether `value` has the shape of a {@link KeyStore} (for option validation). */
export function isKeyStore(value: unknown): value is KeyStore {
  if (typeof value !== "object" || value === null) return false;
  const store = value as Record<string, unknown>;
  return KEY_STORE_METHODS.every((method) => typeof store[method] === "function");
}
