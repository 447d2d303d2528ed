import { IDBFactory } from "fake-indexeddb";
import {
  type IndexedDbRecord,
  indexedDbRecord,
  type ObjectStoreName,
} from "../../src/indexed-db/indexed-db-record.js";

/** An IndexedDB of its own (fake-indexeddb, in memory), as a new browser profile has. */
export const freshIndexedDb = (): IDBFactory => new IDBFactory();

/** An adapter on an IndexedDB of its own, and another on the same one, as a reload opens it. */
export function onFreshIndexedDb<T>(create: (options: { indexedDB: IDBFactory }) => T): {
  opened: T;
  reopen(): Promise<T>;
} {
  const indexedDB = freshIndexedDb();
  return { opened: create({ indexedDB }), reopen: async () => create({ indexedDB }) };
}

/** The record an adapter on `indexedDB` with default options uses, to read or plant values. */
export const defaultRecord = (indexedDB: IDBFactory, store: ObjectStoreName): IndexedDbRecord =>
  indexedDbRecord({ indexedDB }, store, "ERR_KEY_STORE");

/** Creates the database `databaseName` at `version` with no object store, and closes it. */
export function createForeignDatabase(
  indexedDB: IDBFactory,
  databaseName: string,
  version: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(databaseName, version);
    request.onsuccess = () => {
      request.result.close();
      resolve();
    };
    request.onerror = () => reject(request.error);
  });
}
