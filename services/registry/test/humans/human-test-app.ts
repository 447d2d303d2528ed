import {
  createMemoryFixedWindowLimiter,
  createMemoryRevocationBus,
  type FixedWindowLimiter,
} from "@agentauth/state";
import type { Express } from "express";
import { type Kysely, sql } from "kysely";
import { pino } from "pino";
import { createApp } from "../../src/app.js";
import type { Clock } from "../../src/clock.js";
import type { Database } from "../../src/db/database.js";
import { createHumanAuthentication } from "../../src/humans/human-authentication.js";
import { createHumanRouter } from "../../src/humans/human-routes.js";
import { ensureFirstHumanInvitation } from "../../src/humans/invitations.js";
import { createRevocationPublisher } from "../../src/revocation/revocation-outbox.js";
import { createWebauthnRouter } from "../../src/webauthn/webauthn-routes.js";
import { createHumanClient, type HumanClient } from "../kit/human-client.js";
import {
  type CreateSoftwareAuthenticatorOptions,
  createSoftwareAuthenticator,
  type SoftwareAuthenticator,
} from "../kit/software-authenticator.js";

/** A clock tests move by hand. */
export interface TestClock extends Clock {
  advance(milliseconds: number): void;
}

export function createTestClock(start = new Date("2025-06-02T09:00:00.000Z")): TestClock {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance(milliseconds) {
      now += milliseconds;
    },
  };
}

export interface HumanTestApp {
  readonly app: Express;
  readonly clock: TestClock;
  readonly rpId: string;
  readonly origin: string;
  /** A new browser with its own software authenticator. */
  newClient(options?: Partial<CreateSoftwareAuthenticatorOptions>): HumanClient;
  /** A new browser (no cookie) holding an existing authenticator. */
  browserFor(authenticator: SoftwareAuthenticator): HumanClient;
  /** Enrols the first human (an admin) with the first-start link. */
  enrolFirstAdmin(displayName?: string): Promise<HumanClient>;
}

export interface CreateHumanTestAppOptions {
  readonly origin?: string;
  readonly rpId?: string;
  readonly limiter?: FixedWindowLimiter;
  readonly optionsRateLimit?: { readonly limit: number; readonly windowSeconds: number };
}

/** The humans area on its own, as `main.ts` wires it, on `db` with a frozen clock. */
export function createHumanTestApp(
  db: Kysely<Database>,
  options: CreateHumanTestAppOptions = {},
): HumanTestApp {
  const origin = options.origin ?? "http://localhost:4000";
  const rpId = options.rpId ?? new URL(origin).hostname;
  const clock = createTestClock();
  const humans = createHumanAuthentication({ db, clock, origin });
  const logger = pino({ level: "silent" });
  const app = createApp({
    logger,
    routers: [
      createWebauthnRouter({
        db,
        clock,
        rp: { id: rpId, name: "AgentAuth test", origin },
        humans,
        limiter: options.limiter ?? createMemoryFixedWindowLimiter(),
        optionsRateLimit: options.optionsRateLimit ?? { limit: 10_000, windowSeconds: 60 },
      }),
      createHumanRouter({
        db,
        clock,
        humans,
        publicUrl: origin,
        revocations: createRevocationPublisher({ db, bus: createMemoryRevocationBus(), logger }),
      }),
    ],
  });
  const newClient = (authenticator: Partial<CreateSoftwareAuthenticatorOptions> = {}) =>
    createHumanClient(app, {
      authenticator: createSoftwareAuthenticator({ rpId, origin, ...authenticator }),
    });
  return {
    app,
    clock,
    rpId,
    origin,
    newClient,
    browserFor: (authenticator) => createHumanClient(app, { authenticator }),
    async enrolFirstAdmin(displayName = "Ada Admin") {
      const link = await ensureFirstHumanInvitation(db, { publicUrl: origin, now: clock.now() });
      if (link === undefined) throw new Error("A human exists already");
      const client = newClient();
      await client.enrol(link, { displayName });
      return client;
    },
  };
}

/** Empties what the humans area writes, so each test starts with no human. */
export async function resetHumans(db: Kysely<Database>): Promise<void> {
  await sql`DELETE FROM sessions`.execute(db);
  await sql`DELETE FROM passkeys`.execute(db);
  await sql`DELETE FROM webauthn_challenges`.execute(db);
  await sql`DELETE FROM human_invitations`.execute(db);
  await sql`DELETE FROM humans`.execute(db);
  await sql`DELETE FROM audit_queue`.execute(db);
}

/** Types of the audit events queued so far, oldest first. */
export async function queuedAuditEvents(
  db: Kysely<Database>,
): Promise<
  { type: string; actor: string; subject: string | null; data: Record<string, unknown> }[]
> {
  const rows = await db.selectFrom("audit_queue").select(["id", "event"]).orderBy("id").execute();
  return rows.map((row) => {
    const event = (typeof row.event === "string" ? JSON.parse(row.event) : row.event) as {
      type: string;
      actor: string;
      subject: string | null;
      data: Record<string, unknown>;
    };
    return { type: event.type, actor: event.actor, subject: event.subject, data: event.data };
  });
}

/** Asserts a problem+json answer with `code` (and `reason`, for WebAuthn failures). */
export function problemOf(response: {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}): {
  status: number;
  contentType: string;
  code: unknown;
  reason: unknown;
} {
  return {
    status: response.status,
    contentType: String(response.headers["content-type"] ?? "").split(";")[0] ?? "",
    code: response.body.code,
    reason: response.body.reason,
  };
}
