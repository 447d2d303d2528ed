import { Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { jsonBody, parseInput } from "../http/body.js";
import { signedInHuman } from "../http/signed-in-human.js";
import type { HumanSessions } from "./human-authentication.js";
import { createInvitation } from "./invitations.js";
import { noStore } from "./no-store.js";
import { presentHuman } from "./present-human.js";
import { clearSessionCookie, revokeSession } from "./sessions.js";

export interface HumanRoutesDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly humans: HumanSessions;
  /** The registry's public base URL, the base of invitation links. */
  readonly publicUrl: string;
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
 * The signed-in human: who am I, my passkeys (list, remove — never the last one), sign out;
 * and, for admins, inviting another human with a one-time link.
 */
export function createHumanRouter(deps: HumanRoutesDeps): Router {
  const router = Router();
  const { requireHuman, requireAdmin, checkOrigin } = deps.humans;
  router.use(["/api/session", "/api/me", "/api/invitations"], noStore);

  router.post("/api/session/logout", checkOrigin, async (req, res) => {
    const session = await deps.humans.currentSession(req);
    if (session !== undefined) {
      const now = deps.clock.now();
      await deps.db.transaction().execute(async (trx) => {
        if (!(await revokeSession(trx, session.idHash, now))) return;
        await enqueueAuditEvent(trx, {
          type: "session.revoked",
          actor: session.human.id,
          subject: session.human.id,
          humanId: session.human.id,
          occurredAt: now,
          data: { reason: "logout" },
        });
      });
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

  return router;
}
