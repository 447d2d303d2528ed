import { randomBytes } from "node:crypto";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe } from "vitest";
import {
  createDatabase,
  type DatabaseKind,
  type RegistryDatabase,
} from "../../src/db/create-database.js";
import type { Database } from "../../src/db/database.js";
import { findMigrationsDir, migrateToLatest } from "../../src/db/migrate.js";

/** One run of a suite, on one database. Its members work inside hooks and tests only. */
export interface DatabaseSuite {
  readonly kind: DatabaseKind;
  /** The suite's own schema, freshly migrated (or empty, with `{ migrate: false }`). */
  db(): Kysely<Database>;
  /**
   * Another connection pool on the same schema, as a second registry replica would have; closed
   * after the suite. On PGlite, which has a single connection, the suite's own `db`.
   */
  connectReplica(options?: { poolSize?: number }): Promise<Kysely<Database>>;
}

export interface DescribeEachDatabaseOptions {
  /** Apply `migrations/` before the suite; default true. */
  migrate?: boolean;
}

export const migrationsDir = findMigrationsDir();

/**
 * Declares the suite once on PGlite and, when `DATABASE_URL` is set (always in CI), once more on
 * that Postgres. Each run gets its own schema, dropped afterwards, so suites in parallel workers
 * never see each other's rows. Suites in one file run one after another: do not make them
 * `describe.concurrent` (the PGlite runs share one session's `search_path`).
 *
 * @example
 * describeEachDatabase("grant store", (database) => {
 *   it("saves a grant", async () => { await database.db().insertInto("grants")… });
 * });
 */
export function describeEachDatabase(
  title: string,
  suite: (database: DatabaseSuite) => void,
  options: DescribeEachDatabaseOptions = {},
): void {
  const migrate = options.migrate ?? true;
  describe(`${title} (PGlite)`, () => suite(onPglite(migrate)));
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== "") {
    describe(`${title} (Postgres)`, () => suite(onPostgres(databaseUrl, migrate)));
  }
}

// One in-memory PGlite per worker (a fresh one costs seconds and ~400 MB); it goes with the
// worker, so it is never closed here.
let sharedPglite: Promise<RegistryDatabase> | undefined;

function onPglite(migrate: boolean): DatabaseSuite {
  const schema = uniqueSchemaName();
  let db: Kysely<Database> | undefined;
  beforeAll(async () => {
    sharedPglite ??= createDatabase({});
    const shared = (await sharedPglite).db;
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(shared);
    await sql`SET search_path TO ${sql.id(schema)}`.execute(shared);
    if (migrate) await migrateToLatest(shared, { migrationsDir });
    db = shared;
  });
  afterAll(async () => {
    if (db === undefined) return;
    await sql`RESET search_path`.execute(db);
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(db);
    db = undefined;
  });
  return {
    kind: "pglite",
    db: () => ready(db),
    connectReplica: async () => ready(db),
  };
}

function onPostgres(databaseUrl: string, migrate: boolean): DatabaseSuite {
  const schema = uniqueSchemaName();
  // Every connection of every pool of this suite resolves unqualified names in its schema only.
  const url = new URL(databaseUrl);
  url.searchParams.set(
    "options",
    `${url.searchParams.get("options") ?? ""} -c search_path=${schema}`.trim(),
  );
  let main: RegistryDatabase | undefined;
  const replicas: RegistryDatabase[] = [];
  beforeAll(async () => {
    main = await createDatabase({ databaseUrl: url.href });
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(main.db);
    if (migrate) await migrateToLatest(main.db, { migrationsDir });
  });
  afterAll(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.close()));
    if (main === undefined) return;
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(main.db);
    await main.close();
    main = undefined;
  });
  return {
    kind: "postgres",
    db: () => ready(main?.db),
    async connectReplica(options = {}) {
      const replica = await createDatabase({ databaseUrl: url.href, poolSize: options.poolSize });
      replicas.push(replica);
      return replica.db;
    },
  };
}

function uniqueSchemaName(): string {
  return `test_${randomBytes(8).toString("hex")}`;
}

function ready(db: Kysely<Database> | undefined): Kysely<Database> {
  if (db === undefined) throw new Error("The suite's database exists only inside hooks and tests");
  return db;
}
