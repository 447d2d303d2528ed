import { AgentAuthSdkError, type SdkErrorCode } from "../errors.js";

/** Version 1 of the database has the two object stores below, out-of-line keys. */
const DATABASE_VERSION = 1;
/** One object store per kind of record, each record keyed by its name. */
export const OBJECT_STORES = ["agent-keys", "grants"] as const;
export type ObjectStoreName = (typeof OBJECT_STORES)[number];

/** Where an IndexedDB adapter keeps its record. */
export interface IndexedDbOptions {
  /** The IndexedDB database; default `"agentauth"`. */
  readonly databaseName?: string;
  /**
   * The record's name: one per agent, default `"default"`. Give an agent's key store and its
   * grant storage the same name.
   */
  readonly name?: string;
  /** The IndexedDB to use; default `globalThis.indexedDB` (tests pass `fake-indexeddb`'s). */
  readonly indexedDB?: IDBFactory;
}

/** One named record in one object store of an IndexedDB database. */
export interface IndexedDbRecord {
  /** The record, for messages: `The IndexedDB record "default" (database "agentauth", …)`. */
  readonly where: string;
  /** A coded error about the record. */
  error(message: string, cause?: unknown): AgentAuthSdkError;
  /** The record's value, or `undefined` if there is none. */
  get(action: string): Promise<unknown>;
  /** Replaces (or creates) the record; resolves once the transaction has committed. */
  put(action: string, value: unknown): Promise<void>;
  /**
   * Runs `body` in one transaction on the record's object store and answers what the function
   * it returns answers once the transaction has committed. `body` and the callbacks of its
   * requests must be synchronous: a transaction commits as soon as no request is pending. A
   * failure is a coded error "Could not `action` the IndexedDB record … (DOMException name)".
   */
  transact<T>(
    mode: IDBTransactionMode,
    action: string,
    body: (store: IDBObjectStore, key: string) => () => T,
  ): Promise<T>;
}

/**
 * The record `options.name` of `store` in the database `options.databaseName`, whose errors
 * have `code`. Each operation opens the database (creating it and both object stores the
 * first time), runs one transaction (`durability: "strict"`: committed means on disk) and
 * closes it again, so that a page never holds a connection that blocks another tab. `TypeError`
 * for bad options.
 */
export function indexedDbRecord(
  options: IndexedDbOptions,
  store: ObjectStoreName,
  code: SdkErrorCode,
): IndexedDbRecord {
  const { databaseName = "agentauth", name = "default", indexedDB: factory } = options;
  for (const [option, value] of Object.entries({ databaseName, name })) {
    if (typeof value !== "string" || value === "" || value.length > 200) {
      throw new TypeError(`${option} must be a string of 1 to 200 characters`);
    }
  }
  if (factory !== undefined && typeof factory?.open !== "function") {
    throw new TypeError("indexedDB must be an IDBFactory");
  }
  const place = `IndexedDB record "${name}" (database "${databaseName}", object store "${store}")`;

  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      // Read at each use: some browsers throw on reading `indexedDB` where storage is blocked.
      const indexedDB = factory ?? globalThis.indexedDB;
      if (indexedDB === undefined) {
        throw record.error(
          "IndexedDB is not available here: run in a browser page (a secure context), or pass " +
            "the indexedDB option",
        );
      }
      const request = indexedDB.open(databaseName, DATABASE_VERSION);
      request.onupgradeneeded = () => {
        for (const storeName of OBJECT_STORES) {
          if (!request.result.objectStoreNames.contains(storeName)) {
            request.result.createObjectStore(storeName);
          }
        }
      };
      request.onsuccess = () => {
        const database = request.result;
        // A newer version opening in another tab must not wait for this page.
        database.onversionchange = () => database.close();
        resolve(database);
      };
      request.onerror = () => reject(request.error);
    });

  const record: IndexedDbRecord = {
    where: `The ${place}`,

    error(message, cause) {
      return new AgentAuthSdkError(code, message, { cause });
    },

    get(action) {
      return record.transact("readonly", action, (objectStore, key) => {
        const request = objectStore.get(key);
        return () => request.result as unknown;
      });
    },

    put(action, value) {
      return record.transact("readwrite", action, (objectStore, key) => {
        objectStore.put(value, key);
        return () => undefined;
      });
    },

    async transact(mode, action, body) {
      let database: IDBDatabase | undefined;
      try {
        database = await open();
        const transaction = database.transaction(store, mode, { durability: "strict" });
        const result = body(transaction.objectStore(store), name);
        return await new Promise((resolve, reject) => {
          transaction.oncomplete = () => resolve(result());
          // An explicit abort has no error: none of ours aborts on purpose.
          transaction.onabort = () => reject(transaction.error);
        });
      } catch (error) {
        if (error instanceof AgentAuthSdkError) throw error;
        throw record.error(`Could not ${action} the ${place} (${errorName(error)})`, error);
      } finally {
        database?.close();
      }
    },
  };
  return record;
}

/** A DOMException's name (`QuotaExceededError`, `VersionError`…): never its message. */
function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === "string" && name !== "" ? name : "unknown error";
}
