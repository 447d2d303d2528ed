import { describe, expect, it } from "vitest";
import {
  createForeignDatabase,
  defaultRecord,
  freshIndexedDb,
  onFreshIndexedDb,
} from "../../test/support/fake-indexed-db.js";
import { generateAgentKeyPair } from "./agent-key-pair.js";
import { createIndexedDbKeyStore } from "./indexed-db-key-store.js";
import { describeKeyStoreContract, expectKeyStoreError } from "./key-store.contract.js";

describeKeyStoreContract("IndexedDB (fake-indexeddb)", async () => {
  const { opened, reopen } = onFreshIndexedDb(createIndexedDbKeyStore);
  return { store: opened, reopen };
});

const publicX = async (keyPair: CryptoKeyPair) =>
  (await crypto.subtle.exportKey("jwk", keyPair.publicKey)).x;

describe("createIndexedDbKeyStore", () => {
  it("stores the non-extractable CryptoKeyPair itself, and the agent id beside it", async () => {
    const indexedDB = freshIndexedDb();
    const store = createIndexedDbKeyStore({ indexedDB });
    const { keyPair } = await store.loadOrCreate();
    await store.saveAgentId("agt_42");
    const record = (await defaultRecord(indexedDB, "agent-keys").get("read")) as Record<
      string,
      unknown
    >;
    expect(Object.keys(record).sort()).toEqual(["agentId", "keyId", "keyPair"]);
    expect(record.agentId).toBe("agt_42");
    const stored = record.keyPair as CryptoKeyPair;
    expect(stored.privateKey).toBeInstanceOf(CryptoKey);
    expect(stored.privateKey.extractable).toBe(false);
    expect(await publicX(stored)).toBe(await publicX(keyPair));
  });

  it("ends with one key when several stores (tabs) create it at once", async () => {
    const indexedDB = freshIndexedDb();
    const keys = await Promise.all(
      Array.from({ length: 8 }, async () =>
        publicX((await createIndexedDbKeyStore({ indexedDB }).loadOrCreate()).keyPair),
      ),
    );
    expect(new Set(keys).size).toBe(1);
    const record = (await defaultRecord(indexedDB, "agent-keys").get("read")) as {
      keyPair: CryptoKeyPair;
    };
    expect(await publicX(record.keyPair)).toBe(keys[0]);
  });

  it("keeps one key per name and per database", async () => {
    const indexedDB = freshIndexedDb();
    const keys = await Promise.all(
      [{}, { name: "other" }, { databaseName: "other" }, {}].map(async (options) =>
        publicX((await createIndexedDbKeyStore({ ...options, indexedDB }).loadOrCreate()).keyPair),
      ),
    );
    expect(new Set(keys).size).toBe(3);
    expect(keys[3]).toBe(keys[0]);
  });

  it("refuses a record that is not a non-extractable P-256 key pair, without quoting it", async () => {
    const extractable = await generateAgentKeyPair(true);
    const { d } = await crypto.subtle.exportKey("jwk", extractable.privateKey);
    const ed25519 = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const keyPair = await generateAgentKeyPair(false);
    const cases: [unknown, RegExp][] = [
      [`not a record ${d}`, /it is not an object/],
      [[keyPair], /it is not an object/],
      [{ keyId: "k" }, /keyPair must be an ECDSA P-256 CryptoKeyPair/],
      [
        { keyPair: await crypto.subtle.exportKey("jwk", extractable.privateKey), keyId: "k" },
        /keyPair must be an ECDSA P-256/,
      ],
      [{ keyPair: ed25519, keyId: "k" }, /keyPair must be an ECDSA P-256/],
      [{ keyPair: extractable, keyId: "k" }, /keyPair.s private key must not be extractable/],
      [{ keyPair }, /keyId must be a string/],
      [{ keyPair, keyId: "k", agentId: "not an id" }, /agentId must be an agent id/],
    ];
    for (const [value, message] of cases) {
      const indexedDB = freshIndexedDb();
      await defaultRecord(indexedDB, "agent-keys").put("plant", value);
      await expectKeyStoreError(
        createIndexedDbKeyStore({ indexedDB }).loadOrCreate(),
        new RegExp(
          `The IndexedDB record "default" .* does not hold an agent key: ${message.source}`,
        ),
        d,
      );
    }
  });

  it("says so when there is no IndexedDB", async () => {
    expect(globalThis.indexedDB).toBeUndefined();
    await expectKeyStoreError(
      createIndexedDbKeyStore().loadOrCreate(),
      /IndexedDB is not available here.*pass the indexedDB option/,
    );
  });

  it("reports a database it cannot use, by the DOMException's name", async () => {
    const newer = freshIndexedDb();
    await createForeignDatabase(newer, "agentauth", 2);
    await expectKeyStoreError(
      createIndexedDbKeyStore({ indexedDB: newer }).loadOrCreate(),
      /Could not load the key from the IndexedDB record "default" \(database "agentauth", object store "agent-keys"\) \(VersionError\)/,
    );
    const foreign = freshIndexedDb();
    await createForeignDatabase(foreign, "agentauth", 1);
    await expectKeyStoreError(
      createIndexedDbKeyStore({ indexedDB: foreign }).loadOrCreate(),
      /Could not load the key from .* \(NotFoundError\)/,
    );
  });

  it("refuses to label a key it did not load with the agent id", async () => {
    const indexedDB = freshIndexedDb();
    const store = createIndexedDbKeyStore({ indexedDB });
    await store.loadOrCreate();
    const record = defaultRecord(indexedDB, "agent-keys");
    const other = { keyPair: await generateAgentKeyPair(false), keyId: "another" };
    await record.put("plant", other);
    await expectKeyStoreError(store.saveAgentId("agt_1"), /holds another key than the one loaded/);
    expect(await record.get("read")).not.toHaveProperty("agentId");
    await record.transact("readwrite", "delete", (objectStore, key) => {
      objectStore.delete(key);
      return () => undefined;
    });
    await expectKeyStoreError(
      store.saveAgentId("agt_1"),
      /record "default" .* disappeared before the agent id was saved/,
    );
  });

  it("tries again after a failure instead of remembering it", async () => {
    const indexedDB = freshIndexedDb();
    const record = defaultRecord(indexedDB, "agent-keys");
    await record.put("plant", {});
    const store = createIndexedDbKeyStore({ indexedDB });
    await expectKeyStoreError(store.loadOrCreate(), /does not hold an agent key/);
    await record.put("plant", {
      keyPair: await generateAgentKeyPair(false),
      keyId: "k",
      agentId: "agt_7",
    });
    expect((await store.loadOrCreate()).agentId).toBe("agt_7");
  });

  it("refuses bad options", () => {
    expect(() => createIndexedDbKeyStore({ name: "" })).toThrow(TypeError);
    expect(() => createIndexedDbKeyStore({ databaseName: "x".repeat(201) })).toThrow(TypeError);
    expect(() => createIndexedDbKeyStore({ indexedDB: {} as IDBFactory })).toThrow(TypeError);
  });
});
