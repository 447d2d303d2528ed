import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type InsertType, type Kysely, type SelectType, sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import { migrateToLatest } from "../../src/db/migrate.js";
import { describeEachDatabase, migrationsDir } from "../support/databases.js";

// How each column must look in the SQL, as database.ts declares it: the compiler checks this
// table against database.ts, the test below checks the migrated schema against this table.
type ColumnShape<Row, Column extends keyof Row> =
  null extends SelectType<Row[Column]>
    ? "nullable"
    : undefined extends InsertType<Row[Column]>
      ? "default"
      : "required";
type SchemaShape = {
  [Table in keyof Database]: {
    [Column in keyof Database[Table]]-?: ColumnShape<Database[Table], Column>;
  };
};

const expectedSchema: SchemaShape = {
  humans: {
    id: "required",
    display_name: "required",
    is_admin: "default",
    webauthn_user_id: "required",
    created_at: "default",
    disabled_at: "nullable",
  },
  human_invitations: {
    token_hash: "required",
    invited_by: "nullable",
    is_admin: "required",
    display_name: "nullable",
    created_at: "default",
    expires_at: "required",
  },
  passkeys: {
    credential_id: "required",
    human_id: "required",
    public_key: "required",
    counter: "required",
    transports: "default",
    device_type: "required",
    backed_up: "required",
    name: "required",
    created_at: "default",
    last_used_at: "nullable",
  },
  webauthn_challenges: {
    id: "required",
    challenge: "required",
    purpose: "required",
    human_id: "nullable",
    context: "default",
    expires_at: "required",
  },
  sessions: {
    id_hash: "required",
    id: "required",
    human_id: "required",
    created_at: "default",
    expires_at: "required",
    revoked_at: "nullable",
  },
  service_providers: {
    id: "required",
    name: "required",
    ceiling: "required",
    created_by: "required",
    created_at: "default",
    disabled_at: "nullable",
  },
  service_provider_keys: {
    id: "required",
    service_provider_id: "required",
    prefix: "required",
    secret_hash: "required",
    created_at: "default",
    revoked_at: "nullable",
  },
  agent_enrolment_codes: {
    code_hash: "required",
    human_id: "required",
    agent_name: "required",
    created_at: "default",
    expires_at: "required",
  },
  agents: {
    id: "required",
    human_id: "required",
    name: "required",
    jkt: "required",
    public_jwk: "required",
    created_at: "default",
    key_rotated_at: "nullable",
    disabled_at: "nullable",
  },
  grant_requests: {
    id: "required",
    agent_id: "required",
    human_id: "required",
    service_provider_id: "required",
    authorization_details: "required",
    binding_message: "nullable",
    user_code: "required",
    requested_lifetime_seconds: "required",
    request_hash: "required",
    status: "required",
    poll_interval_seconds: "required",
    last_polled_at: "nullable",
    created_at: "default",
    expires_at: "required",
    decided_at: "nullable",
    deny_reason: "nullable",
    redeemed_at: "nullable",
  },
  grants: {
    id: "required",
    request_id: "required",
    agent_id: "required",
    human_id: "required",
    service_provider_id: "required",
    agent_jkt: "required",
    authorization_details: "required",
    digest: "required",
    receipt: "required",
    created_at: "default",
    expires_at: "required",
    revoked_at: "nullable",
  },
  refresh_tokens: {
    id_hash: "required",
    grant_id: "required",
    agent_id: "required",
    jkt: "required",
    created_at: "default",
    expires_at: "required",
    revoked_at: "nullable",
  },
  access_tokens: {
    jti: "required",
    grant_id: "required",
    agent_id: "required",
    service_provider_id: "required",
    issued_at: "required",
    expires_at: "required",
    revoked_at: "nullable",
    task_of: "nullable",
  },
  signing_keys: {
    kid: "required",
    alg: "required",
    public_jwk: "required",
    created_at: "default",
    retired_at: "nullable",
  },
  revocations: {
    id: "default",
    kind: "required",
    subject: "required",
    expires_at: "required",
    created_at: "default",
    published_at: "nullable",
  },
  audit_queue: { id: "default", event: "required", enqueued_at: "default" },
  audit_events: {
    sequence: "required",
    previous_hash: "required",
    hash: "required",
    event: "required",
    type: "required",
    actor: "nullable",
    subject: "nullable",
    human_id: "nullable",
    occurred_at: "required",
    chained_at: "default",
  },
  audit_checkpoints: {
    sequence: "required",
    hash: "required",
    kid: "required",
    signature: "required",
    created_at: "default",
  },
  verifier_decisions: { delivery_id: "required", record_hash: "required", audited_at: "default" },
};

async function readSchema(db: Kysely<Database>) {
  const { rows } = await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db);
  const tables = await db.introspection.getTables();
  return Object.fromEntries(
    tables
      .filter((table) => table.schema === rows[0]?.schema)
      .map((table) => [
        table.name,
        Object.fromEntries(
          table.columns.map((column) => [
            column.name,
            column.isNullable ? "nullable" : column.hasDefaultValue ? "default" : "required",
          ]),
        ),
      ]),
  );
}

const realMigrations = (await readdir(migrationsDir))
  .filter((file) => file.endsWith(".sql"))
  .sort();

// Slow enough that two replicas unguarded by the lock would both see it pending.
const WIDGETS = "CREATE TABLE widgets (id text PRIMARY KEY);\nSELECT pg_sleep(0.2);\n";

describeEachDatabase(
  "migrations",
  (database) => {
    let scratch: string;
    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), "agentauth-migrations-"));
    });
    afterAll(() => rm(scratch, { recursive: true, force: true }));

    /** A migrations directory holding the real migrations plus `extra` files. */
    async function migrationsWith(name: string, extra: Record<string, string>): Promise<string> {
      const dir = join(scratch, name);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir);
      for (const file of realMigrations) await copyFile(join(migrationsDir, file), join(dir, file));
      for (const [file, text] of Object.entries(extra)) await writeFile(join(dir, file), text);
      return dir;
    }

    it("creates every table of database.ts, column by column, in an empty schema", async () => {
      const db = database.db();
      expect(await readSchema(db)).toEqual({});
      expect(await migrateToLatest(db, { migrationsDir })).toEqual({ applied: realMigrations });
      const { schema_migrations: bookkeeping, ...tables } = await readSchema(db);
      expect(tables).toEqual(expectedSchema);
      expect(bookkeeping).toEqual({
        name: "required",
        checksum: "required",
        applied_at: "default",
      });
    });

    it("applies nothing when run again", async () => {
      expect(await migrateToLatest(database.db(), { migrationsDir })).toEqual({ applied: [] });
    });

    it("applies a new file once, even when two replicas start together", async () => {
      const dir = await migrationsWith("new", { "9002_widgets.sql": WIDGETS });
      const replica = await database.connectReplica();
      await sql`SELECT 1`.execute(replica);
      const results = await Promise.all([
        migrateToLatest(database.db(), { migrationsDir: dir }),
        migrateToLatest(replica, { migrationsDir: dir }),
      ]);
      expect(results.flatMap((result) => result.applied)).toEqual(["9002_widgets.sql"]);
      const names = await sql<{
        name: string;
      }>`SELECT name FROM schema_migrations ORDER BY name`.execute(database.db());
      expect(names.rows.map((row) => row.name)).toEqual([...realMigrations, "9002_widgets.sql"]);
    });

    it("rolls back and does not record a migration that fails", async () => {
      const dir = await migrationsWith("failing", {
        "9002_widgets.sql": WIDGETS,
        "9003_broken.sql": "CREATE TABLE gadgets (id text);\nSELECT 1 / 0;",
      });
      await expect(migrateToLatest(database.db(), { migrationsDir: dir })).rejects.toThrow(
        /^Migration 9003_broken\.sql failed: division by zero/,
      );
      const tables = await readSchema(database.db());
      expect(tables).not.toHaveProperty("gadgets");
      const names = await sql<{ name: string }>`SELECT name FROM schema_migrations`.execute(
        database.db(),
      );
      expect(names.rows.map((row) => row.name)).not.toContain("9003_broken.sql");
    });

    it("refuses an applied migration whose file changed", async () => {
      const dir = await migrationsWith("changed", {
        "9002_widgets.sql": WIDGETS.replace("PRIMARY KEY", "PRIMARY KEY, colour text"),
      });
      await expect(migrateToLatest(database.db(), { migrationsDir: dir })).rejects.toThrow(
        /^Migration 9002_widgets\.sql changed after it was applied/,
      );
    });

    it("refuses an applied migration whose file is missing", async () => {
      await expect(migrateToLatest(database.db(), { migrationsDir })).rejects.toThrow(
        /^Migration 9002_widgets\.sql was applied but is missing/,
      );
    });

    it("refuses a new migration numbered before an applied one", async () => {
      const dir = await migrationsWith("early", {
        "0000_early.sql": "CREATE TABLE early (id text);",
        "9002_widgets.sql": WIDGETS,
      });
      await expect(migrateToLatest(database.db(), { migrationsDir: dir })).rejects.toThrow(
        /^Migration 0000_early\.sql sorts before the applied 9002_widgets\.sql/,
      );
    });

    it("refuses badly named and duplicate-numbered files", async () => {
      const badName = await migrationsWith("bad-name", { "2_widgets.sql": "" });
      await expect(migrateToLatest(database.db(), { migrationsDir: badName })).rejects.toThrow(
        /2_widgets\.sql .* is not named NNNN_name\.sql/,
      );
      const duplicate = await migrationsWith("duplicate", { "0001_again.sql": "" });
      await expect(migrateToLatest(database.db(), { migrationsDir: duplicate })).rejects.toThrow(
        /numbered 0001/,
      );
    });
  },
  { migrate: false },
);

describeEachDatabase(
  "migration 0002: session ids",
  (database) => {
    it("gives every session started before it a unique public id", async () => {
      const db = database.db();
      const before = await mkdtemp(join(tmpdir(), "agentauth-migrations-"));
      try {
        await copyFile(join(migrationsDir, "0001_registry.sql"), join(before, "0001_registry.sql"));
        await migrateToLatest(db, { migrationsDir: before });
      } finally {
        await rm(before, { recursive: true, force: true });
      }
      await sql`INSERT INTO humans (id, display_name, webauthn_user_id) VALUES ('hum_a', 'Ada', 'u')`.execute(
        db,
      );
      await sql`
        INSERT INTO sessions (id_hash, human_id, expires_at)
        VALUES ('hash-1', 'hum_a', now() + interval '1 hour'), ('hash-2', 'hum_a', now())
      `.execute(db);

      await migrateToLatest(db, { migrationsDir });

      const sessions = await db.selectFrom("sessions").select(["id_hash", "id"]).execute();
      expect(sessions).toHaveLength(2);
      for (const session of sessions) expect(session.id).toMatch(/^ses_[0-9a-f]{32}$/);
      expect(sessions[0]?.id).not.toBe(sessions[1]?.id);
      await expect(
        sql`INSERT INTO sessions (id_hash, id, human_id, expires_at) VALUES ('hash-3', ${sessions[0]?.id}, 'hum_a', now())`.execute(
          db,
        ),
      ).rejects.toThrow(/sessions_id_key/);
    });
  },
  { migrate: false },
);
