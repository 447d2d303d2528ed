import type { Kysely } from "kysely";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Database, Db } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { createSecret, hashSecret } from "../ids.js";

/** Invitations, the first human's included, can be used for 72 hours. */
export const INVITATION_LIFETIME_MS = 72 * 3600 * 1000;

export interface CreatedInvitation {
  /** The one-time link; the token rides in the fragment so it never reaches server logs. */
  readonly url: string;
  readonly expiresAt: Date;
}

export interface Invitation {
  readonly tokenHash: string;
  readonly invitedBy: string | null;
  readonly isAdmin: boolean;
  readonly displayName: string | null;
}

export interface EnsureFirstHumanInvitationOptions {
  /** The registry's public base URL, e.g. `https://agentauth.example`. */
  readonly publicUrl: string;
  readonly now: Date;
}

/**
 * While no human exists, makes a fresh one-time enrolment link for the first human (an admin),
 * replacing any earlier first-human link, and returns it for `main.ts` to print; once a human
 * exists, returns `undefined`.
 *
 * @example
 * const link = await ensureFirstHumanInvitation(db, { publicUrl: config.publicUrl, now: clock.now() });
 * if (link !== undefined) console.log(`Enrol the first administrator: ${link}`);
 */
export async function ensureFirstHumanInvitation(
  db: Kysely<Database>,
  options: EnsureFirstHumanInvitationOptions,
): Promise<string | undefined> {
  return db.transaction().execute(async (trx) => {
    const anyHuman = await trx.selectFrom("humans").select("id").limit(1).executeTakeFirst();
    if (anyHuman !== undefined) return undefined;
    await trx.deleteFrom("human_invitations").where("invited_by", "is", null).execute();
    const invitation = await createInvitation(trx, {
      invitedBy: null,
      isAdmin: true,
      displayName: null,
      publicUrl: options.publicUrl,
      now: options.now,
    });
    return invitation.url;
  });
}

/** Stores a new invitation and audits it (`human.invited`) on `db`, the caller's transaction. */
export async function createInvitation(
  db: Db,
  options: {
    readonly invitedBy: string | null;
    readonly isAdmin: boolean;
    readonly displayName: string | null;
    readonly publicUrl: string;
    readonly now: Date;
  },
): Promise<CreatedInvitation> {
  const token = `inv_${createSecret(32)}`;
  const expiresAt = new Date(options.now.getTime() + INVITATION_LIFETIME_MS);
  await db
    .insertInto("human_invitations")
    .values({
      token_hash: hashSecret(token),
      invited_by: options.invitedBy,
      is_admin: options.isAdmin,
      display_name: options.displayName,
      created_at: options.now,
      expires_at: expiresAt,
    })
    .execute();
  await enqueueAuditEvent(db, {
    type: "human.invited",
    actor: options.invitedBy ?? "system",
    ...(options.invitedBy === null ? {} : { humanId: options.invitedBy }),
    occurredAt: options.now,
    data: {
      is_admin: options.isAdmin,
      first_human: options.invitedBy === null,
      expires_at: expiresAt.toISOString(),
    },
  });
  return { url: `${options.publicUrl.replace(/\/+$/, "")}/enrol#${token}`, expiresAt };
}

/** The usable invitation `token` opens, without consuming it; else `ERR_INVITATION_INVALID`. */
export async function findInvitation(db: Db, token: string, now: Date): Promise<Invitation> {
  const row = await db
    .selectFrom("human_invitations")
    .select(["token_hash", "invited_by", "is_admin", "display_name"])
    .where("token_hash", "=", hashSecret(token))
    .where("expires_at", ">", now)
    .executeTakeFirst();
  if (row === undefined) throw invalidInvitation();
  return toInvitation(row);
}

/**
 * Consumes an invitation atomically (`DELETE … RETURNING`): of two enrolments racing on one
 * link, exactly one gets it. Used, unknown or expired: `ERR_INVITATION_INVALID`.
 */
export async function consumeInvitation(db: Db, tokenHash: string, now: Date): Promise<Invitation> {
  const row = await db
    .deleteFrom("human_invitations")
    .where("token_hash", "=", tokenHash)
    .returning(["token_hash", "invited_by", "is_admin", "display_name", "expires_at"])
    .executeTakeFirst();
  if (row === undefined || new Date(row.expires_at).getTime() <= now.getTime())
    throw invalidInvitation();
  return toInvitation(row);
}

function toInvitation(row: {
  token_hash: string;
  invited_by: string | null;
  is_admin: boolean;
  display_name: string | null;
}): Invitation {
  return {
    tokenHash: row.token_hash,
    invitedBy: row.invited_by,
    isAdmin: row.is_admin,
    displayName: row.display_name,
  };
}

function invalidInvitation(): RegistryError {
  return new RegistryError(
    "ERR_INVITATION_INVALID",
    "This enrolment link is unknown, already used or expired: ask an administrator for a new one",
  );
}
