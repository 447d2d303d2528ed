import { beforeEach, expect, it } from "vitest";
import { sessionSetCookie } from "../kit/human-client.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHumanTestApp, problemOf, queuedAuditEvents, resetHumans } from "./human-test-app.js";

describeEachDatabase("humans: passkey sign-in and sessions", (database) => {
  beforeEach(async () => resetHumans(database.db()));

  it("signs in with a discoverable passkey and updates its counter", async () => {
    const db = database.db();
    const { enrolFirstAdmin, browserFor } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin("Ada");

    // A fresh browser: no cookie, only the authenticator.
    const browser = browserFor(admin.authenticator);
    const { challengeId, options } = await browser.authenticationOptions();
    expect(options).toEqual({
      rpId: "localhost",
      challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      timeout: 300_000,
      userVerification: "required",
    });
    expect(options.allowCredentials).toBeUndefined();

    const assertion = await browser.authenticator.assert(options);
    const signedIn = await browser.verifyAuthentication(challengeId, assertion);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toEqual({
      human: { id: admin.human?.id, display_name: "Ada", is_admin: true },
    });
    expect(sessionSetCookie(signedIn)).toBeDefined();
    expect((await browser.get("/api/me")).body).toMatchObject({ id: admin.human?.id });

    const passkey = await db
      .selectFrom("passkeys")
      .select(["counter", "last_used_at"])
      .executeTakeFirstOrThrow();
    expect(passkey.counter).toBe("1");
    expect(new Date(passkey.last_used_at as Date).toISOString()).toBe("2025-06-02T09:00:00.000Z");
    await browser.signIn();
    expect(
      (await db.selectFrom("passkeys").select("counter").executeTakeFirstOrThrow()).counter,
    ).toBe("2");
  });

  it("accepts authenticators whose counter is always 0", async () => {
    const db = database.db();
    const { enrolFirstAdmin, newClient } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const { body } = await admin.post("/api/invitations", {});
    const synced = newClient({ zeroCounter: true, backedUp: true });
    await synced.enrol(body.invitation_url, { displayName: "Synced" });
    await synced.signIn();
    await synced.signIn();
    const row = await db
      .selectFrom("passkeys")
      .select(["counter", "device_type", "backed_up"])
      .where("credential_id", "=", synced.authenticator.credentials[0]?.id ?? "")
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ counter: "0", device_type: "multiDevice", backed_up: true });
  });

  it("logs out: the session is revoked server-side, the cookie cleared and audited", async () => {
    const db = database.db();
    const { enrolFirstAdmin } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const cookie = admin.cookie;
    const loggedOut = await admin.post("/api/session/logout");
    expect(loggedOut.status).toBe(204);
    expect(sessionSetCookie(loggedOut)).toMatch(
      /^agentauth_session=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict$/,
    );

    // Replaying the old cookie does not work: the session is revoked, not just forgotten.
    admin.cookie = cookie;
    expect(problemOf(await admin.get("/api/me"))).toMatchObject({
      status: 401,
      code: "ERR_UNAUTHENTICATED",
    });
    const session = await db.selectFrom("sessions").select("revoked_at").executeTakeFirstOrThrow();
    expect(session.revoked_at).not.toBeNull();
    const events = await queuedAuditEvents(db);
    expect(events.at(-1)).toMatchObject({
      type: "session.revoked",
      actor: admin.human?.id,
      data: { reason: "logout" },
    });

    // Logging out again is harmless.
    expect((await admin.post("/api/session/logout")).status).toBe(204);
    expect(
      (await queuedAuditEvents(db)).filter((event) => event.type === "session.revoked"),
    ).toHaveLength(1);
  });

  it("refuses requests without a valid session", async () => {
    const db = database.db();
    const { newClient, enrolFirstAdmin } = createHumanTestApp(db);
    await enrolFirstAdmin();
    const stranger = newClient();
    for (const cookie of [
      undefined,
      "agentauth_session=",
      "agentauth_session=abc",
      `agentauth_session=${"A".repeat(43)}`,
    ]) {
      stranger.cookie = cookie;
      const response = await stranger.get("/api/me");
      expect(problemOf(response)).toEqual({
        status: 401,
        contentType: "application/problem+json",
        code: "ERR_UNAUTHENTICATED",
        reason: undefined,
      });
    }
  });

  it("refuses a disabled human's passkey and ends their sessions", async () => {
    const db = database.db();
    const { clock, enrolFirstAdmin } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    await db.updateTable("humans").set({ disabled_at: clock.now() }).execute();
    expect(problemOf(await admin.get("/api/me"))).toMatchObject({ status: 401 });
    const { challengeId, options } = await admin.authenticationOptions();
    const refused = await admin.verifyAuthentication(
      challengeId,
      await admin.authenticator.assert(options),
    );
    expect(problemOf(refused)).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "human_disabled",
    });
  });
});
