import { type AuditActor, auditActorData, auditActorId } from "../audit/audit-actor.js";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Db } from "../db/database.js";
import { inTransaction } from "../db/in-transaction.js";
import { RegistryError } from "../errors.js";
import { assertEnabledAdmin } from "../humans/assert-enabled-admin.js";
import { createId } from "../ids.js";
import { createServiceProviderKey } from "./service-provider-keys.js";

export interface IssueServiceProviderKeyInput {
  readonly serviceProviderId: string;
  readonly now: Date;
}

export interface IssuedServiceProviderKey {
  /** The key's id (`spk_…`), for listing and revoking it. */
  readonly id: string;
  readonly serviceProviderId: string;
  /** The key's lookup prefix, shown beside it in the approval app. */
  readonly prefix: string;
  /** The verifier API key `aask_<prefix>_<secret>`: this is the only time it exists in clear. */
  readonly key: string;
  readonly createdAt: Date;
}

/**
 * Issues a verifier API key for an enabled service provider and audits it
 * (`service_provider.key_created`, by `actor`) in one transaction — `db`'s, when it is one. Only
 * the secret's hash is stored. Unknown provider: `ERR_NOT_FOUND`; disabled: `ERR_CONFLICT`; a
 * human actor who is not an enabled admin: `ERR_FORBIDDEN`.
 * `POST /api/service-providers/{id}/keys` is this, with the signed-in admin as actor.
 *
 * Verifiers learn the key from their key directory: once the change has committed, publish it
 * with the registry's key publisher (`registry.keyPublisher.publish({ keyIds: [issued.id] })`);
 * until then, or if that fails, the publisher's reconciliation brings it within 30 seconds.
 */
export async function issueServiceProviderKey(
  db: Db,
  input: IssueServiceProviderKeyInput,
  actor: AuditActor,
): Promise<IssuedServiceProviderKey> {
  const actorId = auditActorId(actor);
  const { serviceProviderId, now } = input;
  if (typeof serviceProviderId !== "string" || serviceProviderId === "") {
    throw new TypeError("issueServiceProviderKey: serviceProviderId must be a service provider id");
  }
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new TypeError("issueServiceProviderKey: now must be a valid Date");
  }
  const { key, prefix, secretHash } = createServiceProviderKey();
  const id = createId("spk");
  await inTransaction(db, async (trx) => {
    if (actor.kind === "human") {
      await assertEnabledAdmin(trx, actor.humanId, "Issuing a service provider's API key");
    }
    const provider = await trx
      .selectFrom("service_providers")
      .select(["id", "disabled_at"])
      .where("id", "=", serviceProviderId)
      .executeTakeFirst();
    if (provider === undefined) {
      throw new RegistryError("ERR_NOT_FOUND", "No such service provider");
    }
    if (provider.disabled_at !== null) {
      throw new RegistryError("ERR_CONFLICT", "The service provider is disabled");
    }
    await trx
      .insertInto("service_provider_keys")
      .values({
        id,
        service_provider_id: provider.id,
        prefix,
        secret_hash: secretHash,
        created_at: now,
      })
      .execute();
    await enqueueAuditEvent(trx, {
      type: "service_provider.key_created",
      actor: actorId,
      subject: provider.id,
      occurredAt: now,
      data: { key_id: id, prefix, ...auditActorData(actor) },
    });
  });
  return { id, serviceProviderId, prefix, key, createdAt: now };
}
