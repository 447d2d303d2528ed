import type { Transaction } from "kysely";
import type { Database, Db } from "./database.js";

/**
 * Runs `work` in `db` if it is a transaction already (the caller's, which commits or rolls back
 * the work with its own), else in a new one.
 */
export function inTransaction<T>(
  db: Db,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}
