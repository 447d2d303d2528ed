import {
  type IndexedDbOptions,
  type IndexedDbRecord,
  indexedDbRecord,
} from "../indexed-db/indexed-db-record.js";
import { generateStoredAgentKeyPair, keyPairProblem } from "./agent-key-pair.js";
import { assertAgentId, isAgentId, type KeyStore, type StoredAgentKey } from "./key-store.js";

export type IndexedDbKeyStoreOptions = IndexedDbOptions;

/** The record: the `CryptoKeyPair` itself, a random id for this key, and the agent id. */
interface KeyRecord {
  readonly keyPair: CryptoKeyPair;
  /** Tells this key from one that replaced it (site data cleared, another tab's new key). */
  readonly keyId: string;
  readonly agentId?: string;
}

/**
 * A key store in IndexedDB, for agents in browsers: the record `name` of the object store
 * `agent-keys` in the database `databaseName` holds the `CryptoKeyPair` itself — a structured
 * clone of a `CryptoKey` stays non-extractable, so the private key is never bytes any script
 * can read — and the agent id once enrolled. The key is generated with WebCrypto on first use
 * and added in one `readwrite` transaction, which fails if a key is there already: tabs
 * starting together end up with one key. A record that is not such a key pair is refused with
 * `ERR_KEY_STORE`, as is a page without IndexedDB.
 *
 * @example const keyStore = createIndexedDbKeyStore({ name: "calendar-agent" });
 */
export function createIndexedDbKeyStore(options: IndexedDbKeyStoreOptions = {}): KeyStore {
  const record = indexedDbRecord(options, "agent-keys", "ERR_KEY_STORE");
  let loaded: Promise<KeyRecord> | undefined;
  const load = () => {
    loaded ??= loadOrCreateKey(record).catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  return {
    async loadOrCreate(): Promise<StoredAgentKey> {
      const { keyPair, agentId } = await load();
      return { keyPair, agentId };
    },
    async saveAgentId(agentId) {
      assertAgentId(agentId);
      const { keyId } = await load();
      const outcome = await record.transact(
        "readwrite",
        "save the agent id in",
        (store, key): (() => "saved" | "missing" | "replaced") => {
          let result: "saved" | "missing" | "replaced" = "missing";
          const read = store.get(key);
          read.onsuccess = () => {
            const current = read.result as Partial<KeyRecord> | undefined;
            if (current === undefined) return;
            // Never label another key than the one loaded with this agent's id.
            if (current?.keyId !== keyId) {
              result = "replaced";
              return;
            }
            store.put({ ...current, agentId }, key);
            result = "saved";
          };
          return () => result;
        },
      );
      if (outcome === "missing") {
        throw record.error(`${record.where} disappeared before the agent id was saved`);
      }
      if (outcome === "replaced") {
        throw record.error(`${record.where} holds another key than the one loaded`);
      }
      loaded = loaded?.then((stored) => ({ ...stored, agentId }));
    },
  };
}

async function loadOrCreateKey(record: IndexedDbRecord): Promise<KeyRecord> {
  const stored = await record.get("load the key from");
  if (stored !== undefined) return parseKeyRecord(stored, record);
  const created: KeyRecord = {
    keyPair: await generateStoredAgentKeyPair(),
    keyId: crypto.randomUUID(),
  };
  const kept = await record.transact("readwrite", "store the key in", (store, key) => {
    let result: unknown = created;
    const add = store.add(created, key);
    add.onerror = (event) => {
      if (add.error?.name !== "ConstraintError") return;
      // Another store (another tab) added its key first: that one is the key.
      event.preventDefault();
      const read = store.get(key);
      read.onsuccess = () => {
        result = read.result;
      };
    };
    return () => result;
  });
  return kept === created ? created : parseKeyRecord(kept, record);
}

/** Checks a stored record without quoting it: the message names what is wrong. */
function parseKeyRecord(value: unknown, record: IndexedDbRecord): KeyRecord {
  const invalid = (problem: string) =>
    record.error(`${record.where} does not hold an agent key: ${problem}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("it is not an object");
  }
  const { keyPair, keyId, agentId } = value as Record<string, unknown>;
  const problem = keyPairProblem(keyPair);
  if (problem !== undefined) throw invalid(problem);
  if (typeof keyId !== "string" || keyId === "") throw invalid("keyId must be a string");
  if (agentId !== undefined && !isAgentId(agentId)) {
    throw invalid("agentId must be an agent id");
  }
  return {
    keyPair: keyPair as CryptoKeyPair,
    keyId,
    ...(agentId === undefined ? {} : { agentId }),
  };
}
