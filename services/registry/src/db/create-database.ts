import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  PGlite,
  type Transaction as PGliteTransaction,
  types as pgliteTypes,
} from "@electric-sql/pglite";
import { Kysely, PGliteDialect, type PGliteDialectConfig, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "./database.js";

export type DatabaseKind = "postgres" | "pglite";

export interface CreateDatabaseOptions {
  /** Postgres connection string; unset means embedded PGlite. */
  databaseUrl?: string | undefined;
  /**
   * The registry's data directory (`AGENTAUTH_DATA_DIR`): embedded PGlite keeps its files in
   * `<dataDir>/registry/pglite`, created if needed. Unset (and no `databaseUrl`): in memory.
   */
  dataDir?: string | undefined;
  /** Connections in the Postgres pool; default 10. PGlite has exactly one. */
  poolSize?: number | undefined;
}

export interface RegistryDatabase {
  readonly db: Kysely<Database>;
  readonly kind: DatabaseKind;
  /** Ends the pool or closes PGlite (flushing it to `dataDir`). */
  close(): Promise<void>;
}

/**
 * Opens the registry database: Postgres through a `pg` pool when `databaseUrl` is set, otherwise
 * embedded PGlite. Both return the same JavaScript values, so every query behaves alike:
 * `timestamptz` → `Date`, `bigint`/`bigserial` → decimal `string`, `bytea` → `Uint8Array` (not
 * pg's `Buffer`), `jsonb` → parsed value, `numeric` → `string`, `text[]` → `string[]`.
 *
 * @example const { db, close } = await createDatabase({ databaseUrl, dataDir });
 */
export async function createDatabase(options: CreateDatabaseOptions): Promise<RegistryDatabase> {
  const { databaseUrl, dataDir, poolSize = 10 } = options;
  if (!Number.isInteger(poolSize) || poolSize < 1)
    throw new TypeError("poolSize must be a positive integer");
  if (databaseUrl !== undefined) {
    const pool = new pg.Pool({
      connectionString: databaseUrl,
      max: poolSize,
      types: pgTypes,
      Client: PreparingClient,
    });
    // An idle connection that dies (a Postgres restart, a failover) is dropped by the pool and
    // the next query reconnects; unlistened, this event would crash the process instead.
    pool.on("error", () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: "postgres", close: () => db.destroy() };
  }
  let directory: string | undefined;
  if (dataDir !== undefined) {
    directory = join(dataDir, "registry", "pglite");
    await mkdir(directory, { recursive: true });
  }
  // pg returns int8 as a string (it may exceed 2^53); PGlite's default is a number, or a
  // bigint past 2^53.
  const pglite = new PGlite({
    dataDir: directory,
    parsers: { [pgliteTypes.INT8]: (value: string) => value },
  });
  await pglite.waitReady;
  const db = new Kysely<Database>({
    dialect: new PGliteDialect({ pglite: withMultiStatementQueries(pglite) }),
  });
  return { db, kind: "pglite", close: () => db.destroy() };
}

const byteaParser: (value: string) => Buffer = pg.types.getTypeParser(pg.types.builtins.BYTEA);

// Per pool, not pg's global registry: other pools in the process keep pg's defaults.
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser: (id, format) =>
    id === pg.types.builtins.BYTEA && format !== "binary"
      ? (value: string) => new Uint8Array(byteaParser(value))
      : pg.types.getTypeParser(id, format),
};

/** Distinct statement texts given a name; past this, new texts run unnamed (still correct). */
const MAX_NAMED_STATEMENTS = 2000;
const statementNames = new Map<string, string>();

/**
 * A pg client that runs every parameterised statement as a named prepared statement, so
 * Postgres parses and plans each query shape once per connection instead of on every call (the
 * registry's hot paths are a few shapes run thousands of times a second; measured by
 * `bench:registry`). Only parameterised statements: they are single statements by protocol,
 * whereas a parameterless text may hold several (a migration file) and goes through the
 * simple protocol as before. The name is a hash of the text, so one name never means two texts.
 */
class PreparingClient extends pg.Client {
  // pg's overloads cannot be re-declared one by one; the arguments are passed on unchanged.
  override query(...args: unknown[]): never {
    const [text, values] = args;
    if (typeof text === "string" && Array.isArray(values) && values.length > 0) {
      const name = statementName(text);
      if (name !== undefined) args = [{ name, text, values }, ...args.slice(2)];
    }
    return (super.query as (...forwarded: unknown[]) => never)(...args);
  }
}

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `aa_${createHash("sha256").update(text).digest("base64url").slice(0, 32)}`;
    statementNames.set(text, name);
  }
  return name;
}

type Queryable = Pick<PGliteTransaction, "query" | "exec">;

/**
 * pg sends a query without parameters through the simple protocol, which accepts several
 * statements (a migration file); PGlite's `query` always uses the extended protocol, which
 * accepts one. Sending parameterless queries through PGlite's `exec` makes both accept the same
 * SQL.
 */
function withMultiStatementQueries(
  pglite: PGlite,
): Exclude<PGliteDialectConfig["pglite"], (...args: never[]) => unknown> {
  return {
    get closed() {
      return pglite.closed;
    },
    get ready() {
      return pglite.ready;
    },
    waitReady: pglite.waitReady,
    close: () => pglite.close(),
    query: (sql, parameters, options) => query(pglite, sql, parameters, options),
    transaction: (callback) =>
      pglite.transaction((tx) =>
        callback({
          query: (sql, parameters, options) => query(tx, sql, parameters, options),
          rollback: () => tx.rollback(),
        }),
      ),
  };
}

async function query<T>(
  target: Queryable,
  sql: string,
  parameters: unknown[] | undefined,
  options: Parameters<Queryable["query"]>[2],
) {
  if (parameters !== undefined && parameters.length > 0)
    return target.query<T>(sql, parameters, options);
  const results = await target.exec(sql, options);
  const [result] = results;
  // pg answers several statements with an array of results, of which Kysely reads no rows.
  if (result === undefined || results.length > 1) return { rows: [], fields: [] };
  return { ...result, rows: result.rows as T[] };
}
