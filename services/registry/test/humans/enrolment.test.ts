import { beforeEach, expect, it } from "vitest";
import { ensureFirstHumanInvitation } from "../../src/humans/invitations.js";
import { sessionSetCookie } from "../kit/human-client.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHumanTestApp, problemOf, queuedAuditEvents, resetHumans } from "./human-test-app.js";

const HOUR = 3600 * 1000;

describeEachDatabase("humans: enrolment and invitations", (database) => {
  beforeEach(async () => resetHumans(database.db()));

  it("enrols the first human as an admin with the first-start link, end to end", async () => {
    const db = database.db();
    const { clock, origin, newClient } = createHumanTestApp(db);
    const link = await ensureFirstHumanInvitation(db, { publicUrl: origin, now: clock.now() });
    expect(link).toMatch(/^http:\/\/localhost:4000\/enrol#inv_[A-Za-z0-9_-]{43}$/);

    const client = newClient();
    const token = new URL(link as string).hash.slice(1);
    const { challengeId, options } = await client.registrationOptions({
      invitation: token,
      display_name: "Ada Lovelace",
    });
    expect(options).toMatchObject({
      rp: { id: "localhost", name: "AgentAuth test" },
      user: { name: "Ada Lovelace", displayName: "Ada Lovelace" },
      attestation: "none",
      timeout: 300_000,
      authenticatorSelection: {
        residentKey: "required",
        requireResidentKey: true,
        userVerification: "required",
      },
      pubKeyCredParams: [
        { type: "public-key", alg: -7 },
        { type: "public-key", alg: -8 },
      ],
    });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const registration = await client.authenticator.register(options);
    const verified = await client.verifyRegistration(challengeId, registration, "Laptop");
    expect(verified.status).toBe(201);
    expect(verified.body).toEqual({
      human: { id: expect.stringMatching(/^hum_/), display_name: "Ada Lovelace", is_admin: true },
      passkey: { credential_id: registration.id, name: "Laptop" },
    });
    expect(verified.headers["cache-control"]).toBe("no-store");

    const me = await client.get("/api/me");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      id: verified.body.human.id,
      display_name: "Ada Lovelace",
      is_admin: true,
    });

    const stored = await db.selectFrom("passkeys").selectAll().executeTakeFirstOrThrow();
    expect(stored).toMatchObject({
      credential_id: registration.id,
      counter: "0",
      device_type: "singleDevice",
      backed_up: false,
    });
    expect(stored.transports).toEqual(["internal"]);
    const human = await db.selectFrom("humans").selectAll().executeTakeFirstOrThrow();
    // The user handle sent in the options is the one stored, and the one the authenticator keeps.
    expect(human.webauthn_user_id).toBe(options.user.id);
    expect(client.authenticator.credentials[0]?.userHandle).toBe(human.webauthn_user_id);

    expect(await db.selectFrom("human_invitations").select("token_hash").execute()).toEqual([]);
    expect((await queuedAuditEvents(db)).map((event) => event.type)).toEqual([
      "human.invited",
      "human.enrolled",
      "passkey.added",
      "session.started",
    ]);
  });

  it("offers no first-start link once a human exists, and replaces older first-start links", async () => {
    const db = database.db();
    const { clock, origin, newClient, enrolFirstAdmin } = createHumanTestApp(db);
    const older = await ensureFirstHumanInvitation(db, { publicUrl: origin, now: clock.now() });
    const newer = await ensureFirstHumanInvitation(db, { publicUrl: origin, now: clock.now() });
    expect(newer).not.toBe(older);
    const stale = newClient();
    const refused = await stale.post("/api/webauthn/registration/options", {
      invitation: new URL(older as string).hash.slice(1),
      display_name: "Mallory",
    });
    expect(problemOf(refused)).toEqual({
      status: 400,
      contentType: "application/problem+json",
      code: "ERR_INVITATION_INVALID",
      reason: undefined,
    });

    await resetHumans(db);
    await enrolFirstAdmin();
    expect(
      await ensureFirstHumanInvitation(db, { publicUrl: origin, now: clock.now() }),
    ).toBeUndefined();
  });

  it("lets an admin invite a second human, who is not an admin unless the invitation says so", async () => {
    const db = database.db();
    const { enrolFirstAdmin, newClient } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();

    const invited = await admin.post("/api/invitations", { display_name: "Grace Hopper" });
    expect(invited.status).toBe(201);
    expect(invited.body.invitation_url).toMatch(/^http:\/\/localhost:4000\/enrol#inv_/);
    expect(invited.body.expires_at).toBe("2025-06-05T09:00:00.000Z");
    expect(invited.headers["cache-control"]).toBe("no-store");

    const grace = newClient();
    // The invitation's name is the default; the invitee may keep it.
    const { options } = await grace.registrationOptions({
      invitation: new URL(invited.body.invitation_url).hash.slice(1),
    });
    expect(options.user.displayName).toBe("Grace Hopper");
    const human = await grace.enrol(invited.body.invitation_url, {
      displayName: "Grace B. Hopper",
    });
    expect(human).toMatchObject({ display_name: "Grace B. Hopper", is_admin: false });

    const asAdmin = await admin.post("/api/invitations", { is_admin: true });
    const linus = newClient();
    expect(await linus.enrol(asAdmin.body.invitation_url, { displayName: "Linus" })).toMatchObject({
      is_admin: true,
    });

    // Only admins invite.
    const refused = await grace.post("/api/invitations", {});
    expect(problemOf(refused)).toMatchObject({ status: 403, code: "ERR_FORBIDDEN" });
    const events = await queuedAuditEvents(db);
    expect(
      events.filter((event) => event.type === "human.invited").map((event) => event.actor),
    ).toEqual(["system", admin.human?.id, admin.human?.id]);
    expect(events.filter((event) => event.type === "human.enrolled")).toHaveLength(3);
  });

  it("refuses a used invitation and creates nothing", async () => {
    const db = database.db();
    const { enrolFirstAdmin, newClient } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const { body } = await admin.post("/api/invitations", {});
    const token = new URL(body.invitation_url).hash.slice(1);

    // Two ceremonies start from the same link; the first to finish consumes it.
    const first = newClient();
    const second = newClient();
    const firstOptions = await first.registrationOptions({
      invitation: token,
      display_name: "First",
    });
    const secondOptions = await second.registrationOptions({
      invitation: token,
      display_name: "Second",
    });
    expect(
      (
        await first.verifyRegistration(
          firstOptions.challengeId,
          await first.authenticator.register(firstOptions.options),
        )
      ).status,
    ).toBe(201);

    const humansBefore = await db.selectFrom("humans").select("id").execute();
    const passkeysBefore = await db.selectFrom("passkeys").select("credential_id").execute();
    const late = await second.verifyRegistration(
      secondOptions.challengeId,
      await second.authenticator.register(secondOptions.options),
    );
    expect(problemOf(late)).toEqual({
      status: 400,
      contentType: "application/problem+json",
      code: "ERR_INVITATION_INVALID",
      reason: undefined,
    });
    expect(sessionSetCookie(late)).toBeUndefined();
    expect(await db.selectFrom("humans").select("id").execute()).toEqual(humansBefore);
    expect(await db.selectFrom("passkeys").select("credential_id").execute()).toEqual(
      passkeysBefore,
    );

    // And the link cannot even start a new ceremony.
    const again = await newClient().post("/api/webauthn/registration/options", {
      invitation: token,
      display_name: "Third",
    });
    expect(problemOf(again)).toMatchObject({ status: 400, code: "ERR_INVITATION_INVALID" });
  });

  it("refuses an expired invitation, at the start and at the end of the ceremony", async () => {
    const db = database.db();
    const { clock, enrolFirstAdmin, newClient } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const { body } = await admin.post("/api/invitations", {});
    const token = new URL(body.invitation_url).hash.slice(1);

    const client = newClient();
    clock.advance(72 * HOUR - 60_000);
    const { challengeId, options } = await client.registrationOptions({
      invitation: token,
      display_name: "Late",
    });
    clock.advance(2 * 60_000);
    const late = await client.verifyRegistration(
      challengeId,
      await client.authenticator.register(options),
    );
    expect(problemOf(late)).toMatchObject({ status: 400, code: "ERR_INVITATION_INVALID" });
    expect(await db.selectFrom("humans").select("id").execute()).toHaveLength(1);

    await admin.signIn(); // the admin's 12-hour session ended meanwhile
    const { body: fresh } = await admin.post("/api/invitations", {});
    clock.advance(72 * HOUR);
    const refused = await newClient().post("/api/webauthn/registration/options", {
      invitation: new URL(fresh.invitation_url).hash.slice(1),
      display_name: "Later",
    });
    expect(problemOf(refused)).toMatchObject({ status: 400, code: "ERR_INVITATION_INVALID" });
  });

  it("refuses unknown invitations and asks for a name when the invitation has none", async () => {
    const db = database.db();
    const { clock, origin, newClient } = createHumanTestApp(db);
    const unknown = await newClient().post("/api/webauthn/registration/options", {
      invitation: "inv_nope",
      display_name: "X",
    });
    expect(problemOf(unknown)).toMatchObject({ status: 400, code: "ERR_INVITATION_INVALID" });

    const link = (await ensureFirstHumanInvitation(db, {
      publicUrl: origin,
      now: clock.now(),
    })) as string;
    const nameless = await newClient().post("/api/webauthn/registration/options", {
      invitation: new URL(link).hash.slice(1),
    });
    expect(problemOf(nameless)).toMatchObject({ status: 400, code: "ERR_VALIDATION" });
    expect(nameless.body.issues).toEqual([{ path: "display_name", message: "is required" }]);
  });

  it("sets the session cookie HttpOnly, SameSite=Strict, Path=/, 12 hours, not Secure on http://localhost", async () => {
    const db = database.db();
    const { clock, origin, newClient } = createHumanTestApp(db);
    const link = (await ensureFirstHumanInvitation(db, {
      publicUrl: origin,
      now: clock.now(),
    })) as string;
    const client = newClient();
    const { challengeId, options } = await client.registrationOptions({
      invitation: new URL(link).hash.slice(1),
      display_name: "Ada",
    });
    const verified = await client.verifyRegistration(
      challengeId,
      await client.authenticator.register(options),
    );
    const cookie = sessionSetCookie(verified) as string;
    const attributes = cookie.split("; ");
    expect(attributes[0]).toMatch(/^agentauth_session=[A-Za-z0-9_-]{43}$/);
    expect(attributes).toEqual(
      expect.arrayContaining(["Max-Age=43200", "Path=/", "HttpOnly", "SameSite=Strict"]),
    );
    expect(attributes).not.toContain("Secure");

    // Stored hashed, expiring 12 hours after sign-in.
    const token = (attributes[0] as string).slice("agentauth_session=".length);
    const session = await db.selectFrom("sessions").selectAll().executeTakeFirstOrThrow();
    expect(session.id_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(session.id_hash).not.toContain(token);
    expect(new Date(session.expires_at).toISOString()).toBe("2025-06-02T21:00:00.000Z");

    clock.advance(12 * HOUR);
    expect(problemOf(await client.get("/api/me"))).toMatchObject({
      status: 401,
      code: "ERR_UNAUTHENTICATED",
    });
  });

  it("marks the session cookie Secure on an https origin", async () => {
    const db = database.db();
    const { clock, origin, newClient } = createHumanTestApp(db, {
      origin: "https://agentauth.example",
      rpId: "agentauth.example",
    });
    const link = (await ensureFirstHumanInvitation(db, {
      publicUrl: origin,
      now: clock.now(),
    })) as string;
    const client = newClient();
    await client.enrol(link, { displayName: "Ada" });
    const { challengeId, options } = await client.authenticationOptions();
    const signedIn = await client.verifyAuthentication(
      challengeId,
      await client.authenticator.assert(options),
    );
    expect(signedIn.status).toBe(200);
    expect((sessionSetCookie(signedIn) as string).split("; ")).toEqual(
      expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Strict", "Secure"]),
    );
  });
});
