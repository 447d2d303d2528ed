import { generateKeyPairSync } from "node:crypto";
import { computeJwkThumbprint, type EcPublicJwk } from "@agentauth/core";
import { sql } from "kysely";
import { beforeEach, describe, expect, it } from "vitest";
import { createMemorySigningKeyStore } from "../../src/signing/memory-signing-key-store.js";
import { createPgSigningKeyStore } from "../../src/signing/pg-signing-key-store.js";
import type { SigningKeyStore } from "../../src/signing/signing-key-store.js";
import { describeEachDatabase } from "../support/databases.js";

const T0 = new Date("2026-11-22T10:00:00.000Z");
const RETENTION = 960;

function at(seconds: number): Date {
  return new Date(T0.getTime() + seconds * 1000);
}

async function newKey(): Promise<{ kid: string; publicJwk: EcPublicJwk }> {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { x, y } = publicKey.export({ format: "jwk" });
  const publicJwk: EcPublicJwk = { kty: "EC", crv: "P-256", x: x as string, y: y as string };
  return { kid: await computeJwkThumbprint(publicJwk), publicJwk };
}

/** The one contract every SigningKeyStore adapter keeps. */
function signingKeyStoreContract(makeStore: () => Promise<SigningKeyStore>): void {
  let store: SigningKeyStore;

  beforeEach(async () => {
    store = await makeStore();
  });

  async function record(now: Date) {
    const key = await newKey();
    await store.recordKey({ ...key, alg: "ES256", now });
    return key;
  }

  it("lists a recorded key as in service", async () => {
    const key = await record(T0);
    expect(await store.listPublishable(at(5000), RETENTION)).toEqual([
      { kid: key.kid, alg: "ES256", publicJwk: key.publicJwk, createdAt: T0, retiredAt: undefined },
    ]);
  });

  it("records a key in service only once, keeping when it was first recorded", async () => {
    const key = await record(T0);
    await store.recordKey({ ...key, alg: "ES256", now: at(60) });
    const listed = await store.listPublishable(at(60), RETENTION);
    expect(listed.map((entry) => [entry.kid, entry.createdAt])).toEqual([[key.kid, T0]]);
  });

  it("retires every other key in service, returning them", async () => {
    const first = await record(T0);
    const second = await record(at(1));
    const third = await record(at(2));

    const retired = await store.retireOthers(third.kid, at(10));

    expect([...retired].sort()).toEqual([first.kid, second.kid].sort());
    const listed = await store.listPublishable(at(10), RETENTION);
    expect(listed.map((entry) => [entry.kid, entry.retiredAt])).toEqual([
      [third.kid, undefined],
      [second.kid, at(10)],
      [first.kid, at(10)],
    ]);
    expect(await store.retireOthers(third.kid, at(20))).toEqual([]);
  });

  it("never moves a retirement time", async () => {
    const old = await record(T0);
    const current = await record(at(1));
    await store.retireOthers(current.kid, at(10));
    const next = await record(at(100));
    await store.retireOthers(next.kid, at(100));

    const listed = await store.listPublishable(at(100), RETENTION);
    expect(listed.find((entry) => entry.kid === old.kid)?.retiredAt).toEqual(at(10));
  });

  it("publishes a retired key for exactly retentionSeconds after its retirement", async () => {
    const old = await record(T0);
    const current = await record(at(1));
    await store.retireOthers(current.kid, at(100));

    const kids = async (seconds: number) =>
      (await store.listPublishable(at(seconds), RETENTION)).map((entry) => entry.kid);
    expect(await kids(100 + RETENTION - 0.001)).toEqual([current.kid, old.kid]);
    expect(await kids(100 + RETENTION)).toEqual([current.kid]);
  });

  it("puts a retired key back in service when it is recorded again", async () => {
    const old = await record(T0);
    const current = await record(at(1));
    await store.retireOthers(current.kid, at(10));

    await store.recordKey({ ...old, alg: "ES256", now: at(20) });
    await store.retireOthers(old.kid, at(20));

    const listed = await store.listPublishable(at(10_000), RETENTION);
    expect(listed.map((entry) => [entry.kid, entry.createdAt, entry.retiredAt])).toEqual([
      [old.kid, T0, undefined],
    ]);
  });
}

describe("SigningKeyStore contract (memory)", () => {
  signingKeyStoreContract(async () => createMemorySigningKeyStore());
});

describeEachDatabase("SigningKeyStore contract (signing_keys table)", (database) => {
  signingKeyStoreContract(async () => {
    await database.db().deleteFrom("signing_keys").execute();
    return createPgSigningKeyStore(database.db());
  });

  describe("auditing", () => {
    beforeEach(async () => {
      await database.db().deleteFrom("signing_keys").execute();
      await sql`DELETE FROM audit_queue`.execute(database.db());
    });

    async function queuedEvents() {
      const rows = await database.db().selectFrom("audit_queue").select("event").execute();
      return rows.map((row) => (typeof row.event === "string" ? JSON.parse(row.event) : row.event));
    }

    it("queues a signing_key.rotated event with the retirement, in one transaction", async () => {
      const store = createPgSigningKeyStore(database.db());
      const old = await newKey();
      const current = await newKey();
      await store.recordKey({ ...old, alg: "ES256", now: T0 });
      await store.retireOthers(old.kid, T0);
      expect(await queuedEvents()).toEqual([]);

      await store.recordKey({ ...current, alg: "ES256", now: at(60) });
      await store.retireOthers(current.kid, at(60));

      expect(await queuedEvents()).toEqual([
        {
          type: "signing_key.rotated",
          actor: "system",
          subject: current.kid,
          human_id: null,
          occurred_at: at(60).toISOString(),
          data: { kid: current.kid, retired_kids: [old.kid] },
        },
      ]);
    });

    it("runs inside the caller's transaction, rolling back with it", async () => {
      const old = await newKey();
      const current = await newKey();
      await createPgSigningKeyStore(database.db()).recordKey({ ...old, alg: "ES256", now: T0 });

      const rollback = new Error("roll back");
      await expect(
        database
          .db()
          .transaction()
          .execute(async (trx) => {
            const store = createPgSigningKeyStore(trx);
            await store.recordKey({ ...current, alg: "ES256", now: at(60) });
            expect(await store.retireOthers(current.kid, at(60))).toEqual([old.kid]);
            throw rollback;
          }),
      ).rejects.toBe(rollback);

      const listed = await createPgSigningKeyStore(database.db()).listPublishable(
        at(60),
        RETENTION,
      );
      expect(listed.map((entry) => [entry.kid, entry.retiredAt])).toEqual([[old.kid, undefined]]);
      expect(await queuedEvents()).toEqual([]);
    });
  });
});
