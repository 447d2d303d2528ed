import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ColumnType, type Kysely, sql } from "kysely";
import { advisoryLockKey } from "./advisory-lock-key.js";
import type { Database } from "./database.js";

export interface MigrateOptions {
  /** Directory of `NNNN_name.sql` files, applied in number order. */
  migrationsDir: string;
}

export interface MigrateResult {
  /** Files applied by this call, in order; empty when the database was up to date. */
  readonly applied: string[];
}

interface SchemaMigrationsTable {
  name: string;
  checksum: string;
  applied_at: ColumnType<Date, undefined, never>;
}

interface MigrationFile {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

const MIGRATION_FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

/**
 * Applies pending migrations in order, each in its own transaction, recording each in
 * `schema_migrations`. Refuses to run when an applied file has changed or is missing, or when a
 * new file sorts before an applied one. Replicas starting together take turns on an advisory
 * lock, so every file runs once. Files must not use statements that cannot run in a transaction
 * (`CREATE INDEX CONCURRENTLY`).
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  options: MigrateOptions,
): Promise<MigrateResult> {
  const files = await readMigrationFiles(options.migrationsDir);
  // A session-level lock needs one connection, kept across the per-file transactions.
  return db.connection().execute(async (connection) => {
    const conn = connection.withTables<{ schema_migrations: SchemaMigrationsTable }>();
    await sql`SELECT pg_advisory_lock(${advisoryLockKey("migrations")})`.execute(conn);
    try {
      await sql`
        CREATE TABLE IF NOT EXISTS schema_migrations (
          name       text PRIMARY KEY,
          checksum   text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`.execute(conn);
      const applied = await conn
        .selectFrom("schema_migrations")
        .select(["name", "checksum"])
        .execute();
      const pending = findPendingMigrations(files, applied, options.migrationsDir);
      for (const file of pending) {
        await conn
          .transaction()
          .execute(async (trx) => {
            await sql.raw(file.sql).execute(trx);
            await trx
              .insertInto("schema_migrations")
              .values({ name: file.name, checksum: file.checksum })
              .execute();
          })
          .catch((error: unknown) => {
            const reason = error instanceof Error ? error.message : String(error);
            throw new Error(`Migration ${file.name} failed: ${reason}`, { cause: error });
          });
      }
      return { applied: pending.map((file) => file.name) };
    } finally {
      await sql`SELECT pg_advisory_unlock(${advisoryLockKey("migrations")})`.execute(conn);
    }
  });
}

/**
 * The repository's `migrations/` directory: the nearest one above this module, which is
 * `services/registry/src/db` when run from source and `services/registry/dist/src/db` when built.
 */
export function findMigrationsDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, "migrations");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error("No migrations/ directory above the registry");
  }
}

async function readMigrationFiles(migrationsDir: string): Promise<MigrationFile[]> {
  const names = (await readdir(migrationsDir)).filter((name) => name.endsWith(".sql")).sort();
  const numbers = new Set<string>();
  for (const name of names) {
    const number = MIGRATION_FILE_NAME.exec(name)?.[1];
    if (number === undefined)
      throw new Error(`${name} in ${migrationsDir} is not named NNNN_name.sql`);
    if (numbers.has(number))
      throw new Error(`Two migrations in ${migrationsDir} are numbered ${number}`);
    numbers.add(number);
  }
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(migrationsDir, name));
      const checksum = createHash("sha256").update(bytes).digest("hex");
      return { name, sql: bytes.toString("utf8"), checksum };
    }),
  );
}

function findPendingMigrations(
  files: readonly MigrationFile[],
  applied: readonly { name: string; checksum: string }[],
  migrationsDir: string,
): MigrationFile[] {
  const byName = new Map(files.map((file) => [file.name, file]));
  let latestApplied = "";
  for (const { name, checksum } of applied) {
    const file = byName.get(name);
    if (file === undefined)
      throw new Error(`Migration ${name} was applied but is missing from ${migrationsDir}`);
    if (file.checksum !== checksum) {
      throw new Error(
        `Migration ${name} changed after it was applied (checksum ${checksum}, file ${file.checksum}); ` +
          "restore it and put the change in a new migration",
      );
    }
    if (name > latestApplied) latestApplied = name;
  }
  const appliedNames = new Set(applied.map((row) => row.name));
  const pending = files.filter((file) => !appliedNames.has(file.name));
  const early = pending.find((file) => file.name < latestApplied);
  if (early !== undefined) {
    throw new Error(
      `Migration ${early.name} sorts before the applied ${latestApplied}; renumber it after the latest`,
    );
  }
  return pending;
}
