import {
  type IndexedDbOptions,
  type IndexedDbRecord,
  indexedDbRecord,
} from "../indexed-db/indexed-db-record.js";
import { generateStoredAgentKeyPair, keyPairProblem } from "./agent-key-pair.js";
import { cachedLoad } from "./cached-load.js";
import {
  assertAgentId,
  isAgentId,
  type KeyStore,
  nothingStagedError,
  type StoredAgentKey,
} from "./key-store.js";

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
 * `ERR_KEY_STORE`, as is a page without IndexedDB. A key rotation's next key is a second record
 * in the same object store (the array key `[name, "next"]`), added the same way; promoting it
 * is one transaction.
 *
 * @example const keyStore = createIndexedDbKeyStore({ name: "calendar-agent" });
 */
export function createIndexedDbKeyStore(options: IndexedDbKeyStoreOptions = {}): KeyStore {
  const record = indexedDbRecord(options, "agent-keys", "ERR_KEY_STORE");
  const loaded = cachedLoad(() => loadKeys(record));
  const stored = ({ current, next }: LoadedKeys): StoredAgentKey => ({
    keyPair: current.keyPair,
    agentId: current.agentId,
    nextKeyPair: next?.keyPair,
  });
  return {
    async loadOrCreate(): Promise<StoredAgentKey> {
      return stored(await loaded.get());
    },
    async saveAgentId(agentId) {
      assertAgentId(agentId);
      const { keyId } = (await loaded.get()).current;
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
      loaded.update((keys) => ({ ...keys, current: { ...keys.current, agentId } }));
    },
    async stageNextKey() {
      const { next } = await loaded.get();
      if (next !== undefined) return next.keyPair;
      await addKeyRecord(record, nextKeyOf, "stage the next key in");
      const staged = (await loaded.reload()).next;
      if (staged === undefined) {
        throw record.error(`${record.where} lost its next key while it was staged`);
      }
      return staged.keyPair;
    },
    async promoteNextKey() {
      // One transaction: the next key becomes current, with the agent id, and is unstaged.
      const promoted = await record.transact(
        "readwrite",
        "promote the next key in",
        (store, key) => {
          let result = false;
          const current = store.get(key);
          const next = store.get(nextKeyOf(key));
          next.onsuccess = () => {
            const staged = next.result as Partial<KeyRecord> | undefined;
            if (staged === undefined) return;
            const { agentId } = (current.result ?? {}) as Partial<KeyRecord>;
            store.put({ ...staged, ...(agentId === undefined ? {} : { agentId }) }, key);
            store.delete(nextKeyOf(key));
            result = true;
          };
          return () => result;
        },
      );
      if (!promoted) throw nothingStagedError(record.where);
      return stored(await loaded.reload());
    },
  };
}

/** The current key's record and, while a rotation is under way, the staged next key's. */
interface LoadedKeys {
  readonly current: KeyRecord;
  readonly next: KeyRecord | undefined;
}

/** Where a record's staged next key is: an array key, which no record name (a string) equals. */
const nextKeyOf = (key: string): IDBValidKey => [key, "next"];

async function loadKeys(record: IndexedDbRecord): Promise<LoadedKeys> {
  const current = await loadOrCreateKey(record);
  const next = await record.transact("readonly", "load the next key from", (store, key) => {
    const request = store.get(nextKeyOf(key));
    return () => request.result as unknown;
  });
  return { current, next: next === undefined ? undefined : parseKeyRecord(next, record) };
}

async function loadOrCreateKey(record: IndexedDbRecord): Promise<KeyRecord> {
  const stored = await record.get("load the key from");
  if (stored !== undefined) return parseKeyRecord(stored, record);
  return addKeyRecord(record, (key) => key, "store the key in");
}

/** Adds a new key at `at(name)` unless one is there: answers the one that is there afterwards. */
async function addKeyRecord(
  record: IndexedDbRecord,
  at: (key: string) => IDBValidKey,
  action: string,
): Promise<KeyRecord> {
  const created: KeyRecord = {
    keyPair: await generateStoredAgentKeyPair(),
    keyId: crypto.randomUUID(),
  };
  const kept = await record.transact("readwrite", action, (store, key) => {
    let result: unknown = created;
    const add = store.add(created, at(key));
    add.onerror = (event) => {
      if (add.error?.name !== "ConstraintError") return;
      // Another store (another tab) added its key first: that one is the key.
      event.preventDefault();
      const read = store.get(at(key));
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
