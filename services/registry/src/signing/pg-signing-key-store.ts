import { parsePublicJwk, type SignatureAlgorithm } from "@agentauth/core";
import type { Selectable } from "kysely";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Db, SigningKeysTable } from "../db/database.js";
import { inTransaction } from "../db/in-transaction.js";
import {
  comparePublishable,
  type SigningKeyStore,
  type StoredSigningKey,
} from "./signing-key-store.js";

const ALGORITHMS: ReadonlySet<string> = new Set<SignatureAlgorithm>([
  "ES256",
  "EdDSA",
  "Ed25519",
  "RS256",
]);

/**
 * The {@link SigningKeyStore} on the `signing_keys` table (Postgres or PGlite). Retiring keys
 * and its `signing_key.rotated` audit event commit together. `db` may be a transaction.
 */
export function createPgSigningKeyStore(db: Db): SigningKeyStore {
  return {
    async recordKey({ kid, alg, publicJwk, now }) {
      await db
        .insertInto("signing_keys")
        .values({ kid, alg, public_jwk: JSON.stringify(publicJwk), created_at: now })
        .onConflict((conflict) =>
          conflict
            .column("kid")
            .doUpdateSet({ retired_at: null })
            // A key in service is left alone: no write on every start or heartbeat.
            .where("signing_keys.retired_at", "is not", null),
        )
        .execute();
    },

    retireOthers(activeKid, now) {
      return inTransaction(db, async (trx) => {
        const rows = await trx
          .updateTable("signing_keys")
          .set({ retired_at: now })
          .where("kid", "<>", activeKid)
          .where("retired_at", "is", null)
          .returning("kid")
          .execute();
        const retired = rows.map((row) => row.kid).sort();
        if (retired.length > 0) {
          await enqueueAuditEvent(trx, {
            type: "signing_key.rotated",
            actor: "system",
            subject: activeKid,
            occurredAt: now,
            data: { kid: activeKid, retired_kids: retired },
          });
        }
        return retired;
      });
    },

    async listPublishable(now, retentionSeconds) {
      const cutoff = new Date(now.getTime() - retentionSeconds * 1000);
      const rows = await db
        .selectFrom("signing_keys")
        .selectAll()
        .where((eb) => eb.or([eb("retired_at", "is", null), eb("retired_at", ">", cutoff)]))
        .execute();
      return rows.map(toStoredSigningKey).sort(comparePublishable);
    },
  };
}

function toStoredSigningKey(row: Selectable<SigningKeysTable>): StoredSigningKey {
  if (!ALGORITHMS.has(row.alg)) {
    throw new Error(`signing_keys row ${row.kid} has an unknown alg`);
  }
  return {
    kid: row.kid,
    alg: row.alg as SignatureAlgorithm,
    publicJwk: parsePublicJwk(row.public_jwk),
    createdAt: row.created_at,
    retiredAt: row.retired_at ?? undefined,
  };
}
