import { type RawBuilder, sql } from "kysely";

/**
 * The key (a bigint expression) of the advisory lock `name` in the current schema. Registry
 * replicas sharing a schema contend for it; registries in other schemas of the same database
 * (parallel test suites, for one) do not.
 */
export function advisoryLockKey(name: string): RawBuilder<string> {
  return sql<string>`hashtextextended(${name}::text || '/' || coalesce(current_schema(), ''), 0)`;
}
