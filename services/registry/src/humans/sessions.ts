import type { Request, Response } from "express";
import type { Db } from "../db/database.js";
import { createSecret, hashSecret } from "../ids.js";

/** The session cookie's name. */
export const SESSION_COOKIE = "agentauth_session";

/** Sessions end 12 hours after sign-in, whatever happens in between. */
export const SESSION_LIFETIME_MS = 12 * 3600 * 1000;

const SESSION_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface StartedSession {
  /** 256 random bits, base64url: goes only into the cookie; the database keeps its hash. */
  readonly token: string;
  readonly expiresAt: Date;
}

/** A live session and the enabled human it belongs to. */
export interface ActiveSession {
  readonly idHash: string;
  readonly human: {
    readonly id: string;
    readonly is_admin: boolean;
    readonly display_name: string;
  };
}

/** Starts a session for `humanId`, storing only the token's hash. */
export async function startSession(
  db: Db,
  options: { readonly humanId: string; readonly now: Date },
): Promise<StartedSession> {
  const token = createSecret(32);
  const expiresAt = new Date(options.now.getTime() + SESSION_LIFETIME_MS);
  await db
    .insertInto("sessions")
    .values({
      id_hash: hashSecret(token),
      human_id: options.humanId,
      created_at: options.now,
      expires_at: expiresAt,
    })
    .execute();
  return { token, expiresAt };
}

/** The session a token opens: unexpired, not revoked, its human not disabled; else `undefined`. */
export async function findActiveSession(
  db: Db,
  token: string,
  now: Date,
): Promise<ActiveSession | undefined> {
  if (!SESSION_TOKEN.test(token)) return undefined;
  const idHash = hashSecret(token);
  const row = await db
    .selectFrom("sessions as s")
    .innerJoin("humans as h", "h.id", "s.human_id")
    .select(["h.id", "h.is_admin", "h.display_name"])
    .where("s.id_hash", "=", idHash)
    .where("s.revoked_at", "is", null)
    .where("s.expires_at", ">", now)
    .where("h.disabled_at", "is", null)
    .executeTakeFirst();
  return row === undefined ? undefined : { idHash, human: row };
}

/** Revokes one session; `true` if it was live. */
export async function revokeSession(db: Db, idHash: string, now: Date): Promise<boolean> {
  const result = await db
    .updateTable("sessions")
    .set({ revoked_at: now })
    .where("id_hash", "=", idHash)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** The session token from the request's `Cookie` header, if there is exactly one. */
export function readSessionToken(req: Request): string | undefined {
  const header = req.get("cookie");
  if (header === undefined) return undefined;
  const values: string[] = [];
  for (const pair of header.split(";")) {
    const separator = pair.indexOf("=");
    if (separator === -1) continue;
    if (pair.slice(0, separator).trim() === SESSION_COOKIE)
      values.push(pair.slice(separator + 1).trim());
  }
  // Two cookies of the same name (one planted by a sibling domain) are ambiguous: use neither.
  return values.length === 1 ? values[0] : undefined;
}

/**
 * Whether cookies must be `Secure`: always, except on a plain-http loopback origin used for
 * local development, where a `Secure` cookie would never be sent back.
 */
export function requiresSecureCookie(origin: string): boolean {
  const url = new URL(origin);
  const loopback =
    url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]";
  return !(url.protocol === "http:" && loopback);
}

/** `Set-Cookie` for a new session: `HttpOnly; SameSite=Strict; Path=/` and `Secure` outside localhost. */
export function setSessionCookie(
  res: Response,
  session: StartedSession,
  options: { readonly secure: boolean; readonly now: Date },
): void {
  res.cookie(SESSION_COOKIE, session.token, {
    httpOnly: true,
    sameSite: "strict",
    path: "/",
    secure: options.secure,
    maxAge: session.expiresAt.getTime() - options.now.getTime(),
  });
}

/** Tells the browser to forget the session cookie. */
export function clearSessionCookie(res: Response, options: { readonly secure: boolean }): void {
  res.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: "strict",
    path: "/",
    secure: options.secure,
  });
}
