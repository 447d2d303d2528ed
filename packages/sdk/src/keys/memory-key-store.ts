import { AgentAuthSdkError } from "../errors.js";
import { generateAgentKeyPair } from "./agent-key-pair.js";
import { assertAgentId, type KeyStore, type StoredAgentKey } from "./key-store.js";

export interface MemoryKeyStoreOptions {
  /**
   * A P-256 ECDSA key pair to use instead of a new one — e.g. a non-extractable pair a browser
   * app keeps in IndexedDB. Its private key must not be extractable.
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
  if (options.keyPair !== undefined) assertUsableKeyPair(options.keyPair);
  let agentId = options.agentId;
  let keyPair: Promise<CryptoKeyPair> | undefined =
    options.keyPair === undefined ? undefined : Promise.resolve(options.keyPair);
  return {
    async loadOrCreate(): Promise<StoredAgentKey> {
      keyPair ??= generateAgentKeyPair(false);
      try {
        return { keyPair: await keyPair, agentId };
      } catch (cause) {
        keyPair = undefined;
        throw new AgentAuthSdkError("ERR_KEY_STORE", "Could not generate a P-256 key", { cause });
      }
    },
    async saveAgentId(id) {
      assertAgentId(id);
      agentId = id;
    },
  };
}

function assertUsableKeyPair(keyPair: CryptoKeyPair): void {
  const { privateKey, publicKey } = keyPair ?? {};
  const algorithm = privateKey?.algorithm as EcKeyAlgorithm | undefined;
  if (
    !(privateKey instanceof CryptoKey) ||
    !(publicKey instanceof CryptoKey) ||
    algorithm?.name !== "ECDSA" ||
    algorithm.namedCurve !== "P-256" ||
    !privateKey.usages.includes("sign")
  ) {
    throw new TypeError("keyPair must be an ECDSA P-256 CryptoKeyPair that can sign");
  }
  if (privateKey.extractable) {
    throw new TypeError("keyPair's private key must not be extractable");
  }
}
