import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Db } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { createId } from "../ids.js";
import type { VerifyPasskeyRegistrationResult } from "../webauthn/verify-passkey-registration.js";
import { insertPasskey } from "./insert-passkey.js";
import { consumeInvitation } from "./invitations.js";

export interface EnrolHumanOptions {
  /** Hash of the invitation the ceremony started with; consumed here. */
  readonly invitationHash: string;
  readonly displayName: string;
  /** The WebAuthn user handle sent in the options (base64url). */
  readonly webauthnUserId: string;
  readonly passkey: VerifyPasskeyRegistrationResult;
  readonly passkeyName: string;
  readonly now: Date;
}

export interface EnrolledHuman {
  readonly id: string;
  readonly display_name: string;
  readonly is_admin: boolean;
}

/**
 * Creates a human and their first passkey from an invitation, consuming it, on `db` (the
 * caller's transaction, which should also start the session). A used or expired invitation is
 * `ERR_INVITATION_INVALID` and, the transaction rolling back, creates nothing.
 */
export async function enrolHuman(db: Db, options: EnrolHumanOptions): Promise<EnrolledHuman> {
  const invitation = await consumeInvitation(db, options.invitationHash, options.now);
  if (invitation.invitedBy === null) {
    // A first-human link is only good while there is no human at all.
    const anyHuman = await db.selectFrom("humans").select("id").limit(1).executeTakeFirst();
    if (anyHuman !== undefined) {
      throw new RegistryError(
        "ERR_INVITATION_INVALID",
        "The first administrator has already enrolled",
      );
    }
  }
  const human: EnrolledHuman = {
    id: createId("hum"),
    display_name: options.displayName,
    is_admin: invitation.isAdmin,
  };
  await db
    .insertInto("humans")
    .values({
      id: human.id,
      display_name: human.display_name,
      is_admin: human.is_admin,
      webauthn_user_id: options.webauthnUserId,
      created_at: options.now,
    })
    .execute();
  await enqueueAuditEvent(db, {
    type: "human.enrolled",
    actor: human.id,
    subject: human.id,
    humanId: human.id,
    occurredAt: options.now,
    data: { is_admin: human.is_admin, invited_by: invitation.invitedBy ?? "system" },
  });
  await insertPasskey(db, {
    humanId: human.id,
    passkey: options.passkey,
    name: options.passkeyName,
    now: options.now,
  });
  return human;
}
