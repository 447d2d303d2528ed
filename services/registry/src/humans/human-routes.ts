import { Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Clock } from "../clock.js";
import type { Database, Human } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { jsonBody, parseInput } from "../http/body.js";
import { signedInHuman } from "../http/signed-in-human.js";
import type { RevocationPublisher } from "../revocation/revocation-outbox.js";
import { disableHuman } from "./disable-human.js";
import { type HumanSessions, signedInSession } from "./human-authentication.js";
import { createInvitation } from "./invitations.js";
import { noStore } from "./no-store.js";
import { presentHuman } from "./present-human.js";
import { clearSessionCookie, listSessions, revokeSessions } from "./sessions.js";

export interface HumanRoutesDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly humans: HumanSessions;
  /** The registry's public base URL, the base of invitation links. */
  readonly publicUrl: string;
  /** Disabling a human disables their agents: their revocations are published at once. */
  readonly revocations: RevocationPublisher;
}

const invitationBody = z.strictObject({
  display_name: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(100, "must be at most 100 characters")
    .regex(/^[^\p{Cc}]*$/u, "must not contain control characters")
    .optional(),
  is_admin: z.boolean().optional(),
});

/**
 * The signed-in human: who am I, my passkeys (list, remove — never the last one), my sessions
 * (list, end one), sign out; and, for admins, inviting another human with a one-time link,
 * listing humans, ending a human's sessions and disabling a human.
 */
export function createHumanRouter(deps: HumanRoutesDeps): Router {
  const router = Router();
  const { requireHuman, requireAdmin, checkOrigin } = deps.humans;
  router.use(["/api/session", "/api/me", "/api/invitations", "/api/humans"], noStore);

  router.post("/api/session/logout", checkOrigin, async (req, res) => {
    const session = await deps.humans.currentSession(req);
    if (session !== undefined) {
      const now = deps.clock.now();
      await deps.db.transaction().execute((trx) =>
        revokeSessions(trx, {
          humanId: session.human.id,
          sessionId: session.id,
          actor: session.human.id,
          reason: "logout",
          now,
        }),
      );
    }
    clearSessionCookie(res, { secure: deps.humans.secureCookies });
    res.status(204).end();
  });

  router.get("/api/me", requireHuman, async (_req, res) => {
    const human = await deps.db
      .selectFrom("humans")
      .select(["id", "display_name", "is_admin", "created_at"])
      .where("id", "=", signedInHuman(res).id)
      .executeTakeFirstOrThrow();
    res.json({ ...presentHuman(human), created_at: new Date(human.created_at).toISOString() });
  });

  router.get("/api/me/passkeys", requireHuman, async (_req, res) => {
    const rows = await deps.db
      .selectFrom("passkeys")
      .select([
        "credential_id",
        "name",
        "transports",
        "device_type",
        "backed_up",
        "created_at",
        "last_used_at",
      ])
      .where("human_id", "=", signedInHuman(res).id)
      .orderBy("created_at")
      .orderBy("credential_id")
      .execute();
    res.json({
      passkeys: rows.map((row) => ({
        credential_id: row.credential_id,
        name: row.name,
        transports: row.transports,
        device_type: row.device_type,
        backed_up: row.backed_up,
        created_at: new Date(row.created_at).toISOString(),
        last_used_at: row.last_used_at === null ? null : new Date(row.last_used_at).toISOString(),
      })),
    });
  });

  router.get("/api/me/sessions", requireHuman, async (_req, res) => {
    const current = signedInSession(res);
    const sessions = await listSessions(deps.db, current.human.id, deps.clock.now());
    res.json({
      sessions: sessions.map((session) => ({
        id: session.id,
        created_at: session.created_at.toISOString(),
        expires_at: session.expires_at.toISOString(),
        current: session.id === current.id,
      })),
    });
  });

  router.delete("/api/me/sessions/:sessionId", checkOrigin, requireHuman, async (req, res) => {
    const current = signedInSession(res);
    const sessionId = String(req.params.sessionId);
    const now = deps.clock.now();
    const ended = await deps.db.transaction().execute((trx) =>
      revokeSessions(trx, {
        humanId: current.human.id,
        sessionId,
        actor: current.human.id,
        reason: "revoked",
        now,
      }),
    );
    if (ended.length === 0)
      throw new RegistryError("ERR_NOT_FOUND", "You have no live session with this id");
    if (sessionId === current.id) clearSessionCookie(res, { secure: deps.humans.secureCookies });
    res.status(204).end();
  });

  router.delete("/api/me/passkeys/:credentialId", checkOrigin, requireHuman, async (req, res) => {
    const human = signedInHuman(res);
    const credentialId = String(req.params.credentialId);
    const now = deps.clock.now();
    await deps.db.transaction().execute(async (trx) => {
      // Locking the human serialises removals, so two at once can never remove the last two.
      await trx
        .selectFrom("humans")
        .select("id")
        .where("id", "=", human.id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const passkeys = await trx
        .selectFrom("passkeys")
        .select("credential_id")
        .where("human_id", "=", human.id)
        .execute();
      if (!passkeys.some((passkey) => passkey.credential_id === credentialId)) {
        throw new RegistryError("ERR_NOT_FOUND", "You have no passkey with this id");
      }
      if (passkeys.length === 1) {
        throw new RegistryError(
          "ERR_CONFLICT",
          "This is your last passkey: add another before removing it",
        );
      }
      await trx
        .deleteFrom("passkeys")
        .where("credential_id", "=", credentialId)
        .where("human_id", "=", human.id)
        .execute();
      await enqueueAuditEvent(trx, {
        type: "passkey.removed",
        actor: human.id,
        subject: credentialId,
        humanId: human.id,
        occurredAt: now,
      });
    });
    res.status(204).end();
  });

  router.post(
    "/api/invitations",
    checkOrigin,
    requireHuman,
    requireAdmin,
    jsonBody,
    async (req, res) => {
      const body = parseInput(invitationBody, req.body);
      const admin = signedInHuman(res);
      const now = deps.clock.now();
      const invitation = await deps.db.transaction().execute((trx) =>
        createInvitation(trx, {
          invitedBy: admin.id,
          isAdmin: body.is_admin ?? false,
          displayName: body.display_name ?? null,
          publicUrl: deps.publicUrl,
          now,
        }),
      );
      res
        .status(201)
        .json({ invitation_url: invitation.url, expires_at: invitation.expiresAt.toISOString() });
    },
  );

  router.use("/api/humans", requireHuman, requireAdmin);

  router.get("/api/humans", async (_req, res) => {
    const humans = await deps.db
      .selectFrom("humans")
      .selectAll()
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    res.json({ humans: humans.map(presentAccount) });
  });

  router.post("/api/humans/:humanId/disable", checkOrigin, async (req, res) => {
    const admin = signedInSession(res);
    const now = deps.clock.now();
    const human = await deps.db
      .transaction()
      .execute((trx) =>
        disableHuman(trx, { humanId: String(req.params.humanId), actor: admin.human.id, now }),
      );
    await deps.revocations.flush();
    if (human.id === admin.human.id) clearSessionCookie(res, { secure: deps.humans.secureCookies });
    res.json(presentAccount(human));
  });

  router.post("/api/humans/:humanId/sessions/revoke", checkOrigin, async (req, res) => {
    const admin = signedInSession(res);
    const humanId = String(req.params.humanId);
    const now = deps.clock.now();
    const ended = await deps.db.transaction().execute(async (trx) => {
      const human = await trx
        .selectFrom("humans")
        .select("id")
        .where("id", "=", humanId)
        .executeTakeFirst();
      if (human === undefined) throw new RegistryError("ERR_NOT_FOUND", "No such human");
      return revokeSessions(trx, {
        humanId,
        actor: admin.human.id,
        reason: "revoked_by_admin",
        now,
      });
    });
    if (humanId === admin.human.id) clearSessionCookie(res, { secure: deps.humans.secureCookies });
    res.json({ sessions_revoked: ended.length });
  });

  return router;
}

/** A human as admins see them. */
function presentAccount(human: Human) {
  return {
    ...presentHuman(human),
    created_at: human.created_at.toISOString(),
    disabled_at: human.disabled_at?.toISOString() ?? null,
    status: human.disabled_at === null ? "active" : "disabled",
  };
}
