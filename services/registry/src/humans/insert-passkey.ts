import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Db } from "../db/database.js";
import { RegistryError } from "../errors.js";
import type { VerifyPasskeyRegistrationResult } from "../webauthn/verify-passkey-registration.js";

export interface InsertPasskeyOptions {
  readonly humanId: string;
  readonly passkey: VerifyPasskeyRegistrationResult;
  readonly name: string;
  readonly now: Date;
}

/**
 * Stores a verified passkey for `humanId` and audits it (`passkey.added`) on `db`, the caller's
 * transaction. A credential registered before (by anyone) is `ERR_CONFLICT`.
 */
export async function insertPasskey(db: Db, options: InsertPasskeyOptions): Promise<void> {
  const { passkey } = options;
  const inserted = await db
    .insertInto("passkeys")
    .values({
      credential_id: passkey.credentialId,
      human_id: options.humanId,
      public_key: Buffer.from(passkey.publicKey),
      counter: passkey.counter,
      transports: [...passkey.transports],
      device_type: passkey.deviceType,
      backed_up: passkey.backedUp,
      name: options.name,
      created_at: options.now,
    })
    .onConflict((conflict) => conflict.column("credential_id").doNothing())
    .returning("credential_id")
    .executeTakeFirst();
  if (inserted === undefined)
    throw new RegistryError("ERR_CONFLICT", "This passkey is already registered");
  await enqueueAuditEvent(db, {
    type: "passkey.added",
    actor: options.humanId,
    subject: passkey.credentialId,
    humanId: options.humanId,
    occurredAt: options.now,
    data: {
      name: options.name,
      algorithm: passkey.algorithm,
      device_type: passkey.deviceType,
      backed_up: passkey.backedUp,
    },
  });
}
