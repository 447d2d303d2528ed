import { generateStoredAgentKeyPair, keyPairProblem } from "./agent-key-pair.js";
import {
  assertAgentId,
  type KeyStore,
  nothingStagedError,
  type StoredAgentKey,
} from "./key-store.js";

export interface MemoryKeyStoreOptions {
  /**
   * A P-256 ECDSA key pair to use instead of a new one (to keep one across page loads, use
   * {@link createIndexedDbKeyStore}). Its private key must not be extractable.
   */
  readonly keyPair?: CryptoKeyPair;
  /** The agent id `keyPair` is enrolled under. */
  readonly agentId?: string;
}

/**
 * A key store that lives as long as this object: a non-extractable P-256 key generated with
 * WebCrypto on first use (or the pair given). Nothing is written anywhere, so a new process
 * means a new key, and a new enrolment.
 */
export function createMemoryKeyStore(options: MemoryKeyStoreOptions = {}): KeyStore {
  if (options.agentId !== undefined) assertAgentId(options.agentId);
  if (options.keyPair !== undefined) {
    const problem = keyPairProblem(options.keyPair);
    if (problem !== undefined) throw new TypeError(problem);
  }
  let agentId = options.agentId;
  let keyPair: Promise<CryptoKeyPair> | undefined =
    options.keyPair === undefined ? undefined : Promise.resolve(options.keyPair);
  let nextKeyPair: Promise<CryptoKeyPair> | undefined;
  /** `pending`'s key; a failed generation is forgotten, so the next call tries again. */
  const settle = async (pending: Promise<CryptoKeyPair>, forget: () => void) => {
    try {
      return await pending;
    } catch (error) {
      forget();
      throw error;
    }
  };
  const load = async (): Promise<StoredAgentKey> => {
    keyPair ??= generateStoredAgentKeyPair();
    const current = await settle(keyPair, () => {
      keyPair = undefined;
    });
    return { keyPair: current, agentId, nextKeyPair: await nextKeyPair?.catch(() => undefined) };
  };
  return {
    loadOrCreate: load,
    async stageNextKey() {
      await load();
      nextKeyPair ??= generateStoredAgentKeyPair();
      return settle(nextKeyPair, () => {
        nextKeyPair = undefined;
      });
    },
    async promoteNextKey() {
      const staged = await nextKeyPair;
      if (staged === undefined) throw nothingStagedError("The memory key store");
      keyPair = Promise.resolve(staged);
      nextKeyPair = undefined;
      return load();
    },
    async saveAgentId(id) {
      assertAgentId(id);
      agentId = id;
    },
  };
}
