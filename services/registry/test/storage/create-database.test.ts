import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../src/db/create-database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { describeEachDatabase, migrationsDir } from "../support/databases.js";

describeEachDatabase("database values", (database) => {
  it("returns Date, string for bigint, Uint8Array for bytea and parsed jsonb", async () => {
    const db = database.db();
    const createdAt = new Date("2026-01-02T03:04:05.678Z");
    await db
      .insertInto("humans")
      .values({ id: "hum_1", display_name: "Ada", webauthn_user_id: "u1", created_at: createdAt })
      .execute();
    await db
      .insertInto("passkeys")
      .values({
        credential_id: "cred_1",
        human_id: "hum_1",
        public_key: new Uint8Array([0, 1, 254, 255]),
        // Above 2^53: a lossy number would read back as …992.
        counter: "9007199254740993",
        transports: ["usb", "nfc"],
        device_type: "singleDevice",
        backed_up: false,
        name: "key",
      })
      .execute();
    await db
      .insertInto("webauthn_challenges")
      .values({
        id: "ch_1",
        challenge: "abc",
        purpose: "approval",
        context: JSON.stringify({ grant: { digest: "x" }, n: [1, 2.5] }),
        expires_at: createdAt,
      })
      .execute();

    const human = await db.selectFrom("humans").selectAll().executeTakeFirstOrThrow();
    expect(human.created_at).toBeInstanceOf(Date);
    expect(human.created_at.toISOString()).toBe("2026-01-02T03:04:05.678Z");
    expect(human.is_admin).toBe(false);
    expect(human.disabled_at).toBeNull();

    const passkey = await db.selectFrom("passkeys").selectAll().executeTakeFirstOrThrow();
    expect(passkey.counter).toBe("9007199254740993");
    expect(Object.getPrototypeOf(passkey.public_key)).toBe(Uint8Array.prototype);
    expect([...passkey.public_key]).toEqual([0, 1, 254, 255]);
    expect(passkey.transports).toEqual(["usb", "nfc"]);

    const challenge = await db
      .selectFrom("webauthn_challenges")
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(challenge.context).toEqual({ grant: { digest: "x" }, n: [1, 2.5] });

    const { id } = await db
      .insertInto("audit_queue")
      .values({ event: "{}" })
      .returning("id")
      .executeTakeFirstOrThrow();
    expect(id).toMatch(/^\d+$/);
    const { count } = await db
      .selectFrom("passkeys")
      .select((eb) => eb.fn.countAll().as("count"))
      .executeTakeFirstOrThrow();
    expect(count).toBe("1");
  });

  it("runs several statements in one query without parameters, as pg does", async () => {
    const db = database.db();
    const several = await sql`
      CREATE TABLE several (n integer);
      INSERT INTO several VALUES (1), (2);
      SELECT n FROM several
    `.execute(db);
    // Kysely gets no rows from pg for several statements; PGlite must answer the same.
    expect(several.rows).toEqual([]);
    const { rows } = await sql<{ n: number }>`SELECT sum(n)::integer AS n FROM several`.execute(db);
    expect(rows).toEqual([{ n: 3 }]);
  });
});

describe("createDatabase with PGlite", () => {
  const directories: string[] = [];
  afterAll(() => Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true }))));

  it("keeps data under <dataDir>/registry/pglite across restarts", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "agentauth-data-"));
    directories.push(dataDir);
    const first = await createDatabase({ dataDir: join(dataDir, "not", "yet", "there") });
    expect(first.kind).toBe("pglite");
    await migrateToLatest(first.db, { migrationsDir });
    await first.db
      .insertInto("humans")
      .values({ id: "hum_1", display_name: "Ada", webauthn_user_id: "u1" })
      .execute();
    await first.close();

    expect(
      (await stat(join(dataDir, "not", "yet", "there", "registry", "pglite"))).isDirectory(),
    ).toBe(true);
    const second = await createDatabase({ dataDir: join(dataDir, "not", "yet", "there") });
    try {
      expect(await migrateToLatest(second.db, { migrationsDir })).toEqual({ applied: [] });
      const humans = await second.db.selectFrom("humans").select("display_name").execute();
      expect(humans).toEqual([{ display_name: "Ada" }]);
    } finally {
      await second.close();
    }
  });

  it("refuses a pool size that is not a positive integer", async () => {
    await expect(
      createDatabase({ databaseUrl: "postgres://localhost/x", poolSize: 0 }),
    ).rejects.toThrow(TypeError);
  });
});

describe.runIf(process.env.DATABASE_URL !== undefined)("createDatabase with Postgres", () => {
  it("prepares each parameterised statement once per connection, under a name", async () => {
    const { db, close } = await createDatabase({
      databaseUrl: process.env.DATABASE_URL,
      poolSize: 1,
    });
    try {
      const marker = `prepared-${Date.now()}`;
      for (const value of [1, 2, 3]) {
        const { rows } = await sql<{
          echoed: string;
        }>`SELECT ${marker}::text || ${value}::text AS echoed`.execute(db);
        expect(rows).toEqual([{ echoed: `${marker}${value}` }]);
      }
      // One connection: the statements it prepared are visible to its next query.
      const { rows: prepared } = await sql<{ name: string; statement: string }>`
        SELECT name, statement FROM pg_prepared_statements`.execute(db);
      const ours = prepared.filter((row) => row.statement.includes("::text || $2::text"));
      expect(ours).toHaveLength(1);
      expect(ours[0]?.name).toMatch(/^aa_[A-Za-z0-9_-]{32}$/);
      // A parameterless text still goes through the simple protocol: several statements work.
      await sql`SELECT 1; SELECT 2`.execute(db);
    } finally {
      await close();
    }
  });
});
