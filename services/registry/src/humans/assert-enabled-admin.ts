import type { Db } from "../db/database.js";
import { RegistryError } from "../errors.js";

/**
 * Refuses (`ERR_FORBIDDEN`, saying `what` needs an admin) unless `humanId` is an enabled admin,
 * read on `db`, the caller's transaction.
 */
export async function assertEnabledAdmin(db: Db, humanId: string, what: string): Promise<void> {
  const admin = await db
    .selectFrom("humans")
    .select("id")
    .where("id", "=", humanId)
    .where("is_admin", "=", true)
    .where("disabled_at", "is", null)
    .executeTakeFirst();
  if (admin === undefined)
    throw new RegistryError("ERR_FORBIDDEN", `${what} needs an enabled admin`);
}
