import type { Request, Response } from "express";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Db } from "../db/database.js";
import { createId, createSecret, hashSecret } from "../ids.js";

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

/** How a session began, as its `session.started` audit event says. */
export type SessionStart = "enrolment" | "sign_in";

/** Why sessions ended, as their `session.revoked` audit events say. */
export type SessionEnd =
  /** The human signed out. */
  | "logout"
  /** The human ended one of their sessions from another. */
  | "revoked"
  /** An admin ended all of another human's sessions. */
  | "revoked_by_admin"
  /** An admin disabled the human. */
  | "human_disabled";

/** A live session and the enabled human it belongs to. */
export interface ActiveSession {
  /** The public id (`ses_…`). */
  readonly id: string;
  readonly idHash: string;
  readonly human: {
    readonly id: string;
    readonly is_admin: boolean;
    readonly display_name: string;
  };
}

/**
 * Starts a session for `humanId`, storing only the token's hash, and audits it
 * (`session.started`) on `db`, the caller's transaction.
 */
export async function startSession(
  db: Db,
  options: { readonly humanId: string; readonly via: SessionStart; readonly now: Date },
): Promise<StartedSession> {
  const token = createSecret(32);
  const id = createId("ses");
  const expiresAt = new Date(options.now.getTime() + SESSION_LIFETIME_MS);
  await db
    .insertInto("sessions")
    .values({
      id_hash: hashSecret(token),
      id,
      human_id: options.humanId,
      created_at: options.now,
      expires_at: expiresAt,
    })
    .execute();
  await enqueueAuditEvent(db, {
    type: "session.started",
    actor: options.humanId,
    subject: id,
    humanId: options.humanId,
    occurredAt: options.now,
    data: { via: options.via, expires_at: expiresAt.toISOString() },
  });
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
    .select(["s.id as session_id", "h.id", "h.is_admin", "h.display_name"])
    .where("s.id_hash", "=", idHash)
    .where("s.revoked_at", "is", null)
    .where("s.expires_at", ">", now)
    .where("h.disabled_at", "is", null)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const { session_id: id, ...human } = row;
  return { id, idHash, human };
}

/** `humanId`'s live sessions, newest first. */
export function listSessions(db: Db, humanId: string, now: Date) {
  return db
    .selectFrom("sessions")
    .select(["id", "created_at", "expires_at"])
    .where("human_id", "=", humanId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now)
    .orderBy("created_at", "desc")
    .orderBy("id")
    .execute();
}

/**
 * Ends `humanId`'s live sessions — only `sessionId`, when given — on `db`, the caller's
 * transaction, with one `session.revoked` audit event each. Returns the ids of those it ended.
 */
export async function revokeSessions(
  db: Db,
  options: {
    readonly humanId: string;
    readonly sessionId?: string;
    /** Who ended them: the human, or an admin. */
    readonly actor: string;
    readonly reason: SessionEnd;
    readonly now: Date;
  },
): Promise<string[]> {
  const { humanId, sessionId, now } = options;
  let update = db
    .updateTable("sessions")
    .set({ revoked_at: now })
    .where("human_id", "=", humanId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now);
  if (sessionId !== undefined) update = update.where("id", "=", sessionId);
  const ended = await update.returning("id").execute();
  for (const { id } of ended) {
    await enqueueAuditEvent(db, {
      type: "session.revoked",
      actor: options.actor,
      subject: id,
      humanId,
      occurredAt: now,
      data: { reason: options.reason },
    });
  }
  return ended.map(({ id }) => id);
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
