import { randomBytes } from "node:crypto";
import { encodeBase64Url } from "@agentauth/core";
import type { Db } from "../db/database.js";
import { createId } from "../ids.js";
import { CHALLENGE_TTL_MS } from "./relying-party.js";
import { webauthnFailed } from "./webauthn-failure.js";

export type CeremonyPurpose = "registration" | "authentication";

export interface IssueWebauthnChallengeOptions {
  readonly purpose: CeremonyPurpose;
  /** The human the ceremony is for, when known (adding a passkey). */
  readonly humanId?: string;
  /** What the ceremony is for; stored server-side, never trusted from the client. */
  readonly context: Readonly<Record<string, string>>;
  readonly now: Date;
}

export interface IssuedWebauthnChallenge {
  readonly id: string;
  /** 256 random bits, base64url. */
  readonly challenge: string;
  readonly bytes: Uint8Array;
  readonly expiresAt: Date;
}

export interface ConsumedWebauthnChallenge {
  readonly challenge: string;
  readonly humanId: string | null;
  readonly context: Readonly<Record<string, unknown>>;
}

/** Stores a new single-use challenge that expires after five minutes. */
export async function issueWebauthnChallenge(
  db: Db,
  options: IssueWebauthnChallengeOptions,
): Promise<IssuedWebauthnChallenge> {
  const bytes = Uint8Array.from(randomBytes(32));
  const issued = {
    id: createId("wch"),
    challenge: encodeBase64Url(bytes),
    bytes,
    expiresAt: new Date(options.now.getTime() + CHALLENGE_TTL_MS),
  };
  // Unanswered challenges are dead weight once expired; clearing them here bounds the table.
  await db
    .deleteFrom("webauthn_challenges")
    .where("purpose", "=", options.purpose)
    .where("expires_at", "<", options.now)
    .execute();
  await db
    .insertInto("webauthn_challenges")
    .values({
      id: issued.id,
      challenge: issued.challenge,
      purpose: options.purpose,
      human_id: options.humanId ?? null,
      context: JSON.stringify(options.context),
      expires_at: issued.expiresAt,
    })
    .execute();
  return issued;
}

/**
 * Consumes a challenge atomically (`DELETE … RETURNING`): whatever happens next, it can never
 * be answered again. Run it outside the transaction that verifies the answer, so that a failed
 * answer still burns the challenge. Unknown, used, expired or other-purpose challenges fail
 * with `challenge_invalid`.
 */
export async function consumeWebauthnChallenge(
  db: Db,
  options: { readonly id: string; readonly purpose: CeremonyPurpose; readonly now: Date },
): Promise<ConsumedWebauthnChallenge> {
  const row = await db
    .deleteFrom("webauthn_challenges")
    .where("id", "=", options.id)
    .where("purpose", "=", options.purpose)
    .returning(["challenge", "human_id", "context", "expires_at"])
    .executeTakeFirst();
  if (row === undefined || new Date(row.expires_at).getTime() <= options.now.getTime()) {
    throw webauthnFailed(
      "challenge_invalid",
      "The challenge is unknown, already used or expired: start again",
    );
  }
  return { challenge: row.challenge, humanId: row.human_id, context: row.context };
}
