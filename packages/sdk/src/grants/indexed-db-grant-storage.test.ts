import { describe, expect, it } from "vitest";
import {
  createForeignDatabase,
  defaultRecord,
  freshIndexedDb,
  onFreshIndexedDb,
} from "../../test/support/fake-indexed-db.js";
import { createIndexedDbKeyStore } from "../keys/indexed-db-key-store.js";
import {
  describeGrantStorageContract,
  expectGrantStorageError,
  savedGrant,
  TEST_JKT,
} from "./grant-storage.contract.js";
import { createIndexedDbGrantStorage } from "./indexed-db-grant-storage.js";

describeGrantStorageContract("IndexedDB (fake-indexeddb)", async () => {
  const { opened, reopen } = onFreshIndexedDb(createIndexedDbGrantStorage);
  return { storage: opened, reopen };
});

describe("createIndexedDbGrantStorage", () => {
  it("stores a version 1 snapshot in the grants object store, beside the agent's key", async () => {
    const indexedDB = freshIndexedDb();
    const grant = savedGrant();
    await createIndexedDbGrantStorage({ indexedDB }).save({ jkt: TEST_JKT, grants: [grant] });
    // The key store shares the database the grant storage created.
    await createIndexedDbKeyStore({ indexedDB }).loadOrCreate();
    expect(await defaultRecord(indexedDB, "grants").get("read")).toEqual({
      version: 1,
      jkt: TEST_JKT,
      grants: [grant],
    });
    expect(await defaultRecord(indexedDB, "agent-keys").get("read")).toHaveProperty("keyPair");
  });

  it("keeps one snapshot per name", async () => {
    const indexedDB = freshIndexedDb();
    const saved = { jkt: TEST_JKT, grants: [savedGrant()] };
    await createIndexedDbGrantStorage({ indexedDB, name: "calendar" }).save(saved);
    expect(await createIndexedDbGrantStorage({ indexedDB }).load()).toBeUndefined();
    expect(await createIndexedDbGrantStorage({ indexedDB, name: "calendar" }).load()).toEqual(
      saved,
    );
  });

  it("refuses a record that is not saved grants, naming the problem but never a refresh token", async () => {
    const grant = savedGrant();
    const snapshot = (extra: Record<string, unknown>) => ({
      version: 1,
      jkt: TEST_JKT,
      grants: [grant],
      ...extra,
    });
    const cases: [unknown, RegExp][] = [
      [`{"refreshToken":"${grant.refreshToken}"}`, /is not version 1 of the saved grants format/],
      [snapshot({ version: 2 }), /is not version 1/],
      [snapshot({ jkt: "short" }), /does not hold saved grants: "jkt" must be a key thumbprint/],
      [
        snapshot({ grants: [{ ...grant, refreshToken: 7 }] }),
        /grants\[0\]\.refreshToken must be a string/,
      ],
      [
        snapshot({ grants: [{ ...grant, authorization: { capabilities: [{ type: "fly" }] } }] }),
        /grants\[0\]\.authorization are not authorization details/,
      ],
    ];
    for (const [value, message] of cases) {
      const indexedDB = freshIndexedDb();
      await defaultRecord(indexedDB, "grants").put("plant", value);
      const error = await expectGrantStorageError(
        createIndexedDbGrantStorage({ indexedDB }).load(),
        message,
        grant.refreshToken,
      );
      expect(error.message).toMatch(/^The IndexedDB record "default" \(database "agentauth"/);
    }
  });

  it("reports a snapshot it cannot store, and keeps the one before", async () => {
    const indexedDB = freshIndexedDb();
    const storage = createIndexedDbGrantStorage({ indexedDB });
    const before = { jkt: TEST_JKT, grants: [savedGrant()] };
    await storage.save(before);
    const uncloneable = savedGrant({ refreshToken: (() => "art_secret") as unknown as string });
    await expectGrantStorageError(
      storage.save({ jkt: TEST_JKT, grants: [uncloneable] }),
      /Could not save the grants in the IndexedDB record "default" .* \(DataCloneError\)/,
      // The platform's message quotes what it could not clone: not repeated.
      "art_secret",
    );
    expect(await storage.load()).toEqual(before);
  });

  it("says so when there is no IndexedDB, or a database it cannot use", async () => {
    await expectGrantStorageError(
      createIndexedDbGrantStorage().save({ jkt: TEST_JKT, grants: [] }),
      /IndexedDB is not available here/,
    );
    const newer = freshIndexedDb();
    await createForeignDatabase(newer, "agentauth", 2);
    await expectGrantStorageError(
      createIndexedDbGrantStorage({ indexedDB: newer }).load(),
      /Could not load the grants from .* \(VersionError\)/,
    );
  });
});
