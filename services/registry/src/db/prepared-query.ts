import type { CompiledQuery, Kysely, QueryResult } from "kysely";
import type { Database, Db } from "./database.js";

/** A query built and compiled by kysely once, then run with new parameter values. */
export interface PreparedQuery<Params, Row> {
  execute(db: Db, params: Params): Promise<QueryResult<Row>>;
}

/** A query builder (`compile()`) or a `sql` template (`compile(db)`). */
interface QuerySource<Row> {
  compile(db: Kysely<Database>): CompiledQuery<Row>;
}

/**
 * Prepares a query for a hot path: `build` gets a placeholder for each parameter and returns the
 * query as kysely builds it (type-checked against the schema like any other); it is compiled
 * once, on first use, and every call only puts its values where the placeholders were. Building
 * and compiling a query costs more CPU than running it on a warm connection (measured by
 * `bench:registry`). The SQL is the same on Postgres and PGlite, and in a transaction.
 *
 * @example
 * const agentById = prepareQuery((db, p: { id: string }) =>
 *   db.selectFrom("agents").selectAll().where("id", "=", p.id));
 * const { rows } = await agentById.execute(db, { id });
 */
export function prepareQuery<Params extends object, Row>(
  build: (db: Kysely<Database>, placeholders: Params) => QuerySource<Row>,
): PreparedQuery<Params, Row> {
  // Each placeholder is an object of its own, which kysely passes on as a parameter value.
  const names = new Map<unknown, string>();
  const placeholders = new Proxy(
    {},
    {
      get(cache: Record<string, unknown>, name) {
        if (typeof name !== "string") return undefined;
        let placeholder = cache[name];
        if (placeholder === undefined) {
          placeholder = Object.freeze({ placeholder: name });
          cache[name] = placeholder;
          names.set(placeholder, name);
        }
        return placeholder;
      },
    },
  ) as Params;
  let compiled: CompiledQuery<Row> | undefined;
  return {
    execute(db, params) {
      compiled ??= build(db as Kysely<Database>, placeholders).compile(db as Kysely<Database>);
      const values = params as Record<string, unknown>;
      const parameters = compiled.parameters.map((value) => {
        const name = names.get(value);
        return name === undefined ? value : values[name];
      });
      return db.executeQuery<Row>({ ...compiled, parameters });
    },
  };
}
