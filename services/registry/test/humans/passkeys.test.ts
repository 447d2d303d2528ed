import { beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { createHumanTestApp, problemOf, queuedAuditEvents, resetHumans } from "./human-test-app.js";

describeEachDatabase("humans: several passkeys", (database) => {
  beforeEach(async () => resetHumans(database.db()));

  it("adds a second passkey from another device, lists both, signs in with either", async () => {
    const db = database.db();
    const { enrolFirstAdmin, newClient, browserFor } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const [first] = admin.authenticator.credentials;

    // The new device signs in through the admin's session (e.g. a phone scanning a QR code).
    const phone = newClient();
    phone.cookie = admin.cookie;
    const { challengeId, options } = await phone.registrationOptions({});
    // Same user handle, and the existing passkey excluded so the same authenticator is not registered twice.
    expect(options.user.id).toBe(first?.userHandle);
    expect(options.excludeCredentials).toEqual([
      { id: first?.id, type: "public-key", transports: ["internal"] },
    ]);
    const added = await phone.verifyRegistration(
      challengeId,
      await phone.authenticator.register(options),
      "Phone",
    );
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      passkey: { credential_id: phone.authenticator.credentials[0]?.id, name: "Phone" },
    });

    const listed = await admin.get("/api/me/passkeys");
    expect(listed.status).toBe(200);
    expect(listed.body.passkeys.map((passkey: { name: string }) => passkey.name).sort()).toEqual([
      "Passkey",
      "Phone",
    ]);
    expect(listed.body.passkeys[0]).toEqual({
      credential_id: expect.any(String),
      name: expect.any(String),
      transports: ["internal"],
      device_type: "singleDevice",
      backed_up: false,
      created_at: "2025-06-02T09:00:00.000Z",
      last_used_at: null,
    });

    expect((await browserFor(phone.authenticator).signIn()).id).toBe(admin.human?.id);
    expect((await browserFor(admin.authenticator).signIn()).id).toBe(admin.human?.id);
    expect(
      (await queuedAuditEvents(db)).filter((event) => event.type === "passkey.added"),
    ).toHaveLength(2);
  });

  it("refuses to register the same authenticator twice", async () => {
    const db = database.db();
    const { enrolFirstAdmin } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const { options } = await admin.registrationOptions({});
    // An honest authenticator obeys excludeCredentials.
    await expect(admin.authenticator.register(options)).rejects.toThrow(/InvalidStateError/);
  });

  it("refuses to add a passkey without a session, or with someone else's challenge", async () => {
    const db = database.db();
    const { enrolFirstAdmin, newClient } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const anonymous = newClient();
    expect(problemOf(await anonymous.post("/api/webauthn/registration/options", {}))).toMatchObject(
      {
        status: 401,
        code: "ERR_UNAUTHENTICATED",
      },
    );

    const { body } = await admin.post("/api/invitations", {});
    const other = newClient();
    await other.enrol(body.invitation_url, { displayName: "Other" });
    const { challengeId, options } = await admin.registrationOptions({});
    const stolen = await other.verifyRegistration(
      challengeId,
      await other.authenticator.register(options),
    );
    expect(problemOf(stolen)).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "challenge_invalid",
    });

    const { challengeId: again, options: againOptions } = await admin.registrationOptions({});
    const signedOut = newClient();
    const refused = await signedOut.verifyRegistration(
      again,
      await signedOut.authenticator.register(againOptions),
    );
    expect(problemOf(refused)).toMatchObject({ status: 401, code: "ERR_UNAUTHENTICATED" });
    expect(
      await db
        .selectFrom("passkeys")
        .select("credential_id")
        .where("human_id", "=", admin.human?.id ?? "")
        .execute(),
    ).toHaveLength(1);
  });

  it("removes a passkey, but never the last one, and never someone else's", async () => {
    const db = database.db();
    const { enrolFirstAdmin, newClient, browserFor } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const first = admin.authenticator.credentials[0]?.id as string;
    const device = newClient();
    device.cookie = admin.cookie;
    const second = await device.addPasskey({ passkeyName: "Backup" });

    const { body } = await admin.post("/api/invitations", {});
    const other = newClient();
    await other.enrol(body.invitation_url, { displayName: "Other" });
    const othersPasskey = other.authenticator.credentials[0]?.id as string;
    expect(problemOf(await admin.delete(`/api/me/passkeys/${othersPasskey}`))).toMatchObject({
      status: 404,
      code: "ERR_NOT_FOUND",
    });
    expect(problemOf(await admin.delete("/api/me/passkeys/nope"))).toMatchObject({
      status: 404,
      code: "ERR_NOT_FOUND",
    });

    const removed = await admin.delete(`/api/me/passkeys/${first}`);
    expect(removed.status).toBe(204);
    const last = await admin.delete(`/api/me/passkeys/${second}`);
    expect(problemOf(last)).toEqual({
      status: 409,
      contentType: "application/problem+json",
      code: "ERR_CONFLICT",
      reason: undefined,
    });
    expect(
      (await admin.get("/api/me/passkeys")).body.passkeys.map(
        (passkey: { credential_id: string }) => passkey.credential_id,
      ),
    ).toEqual([second]);

    // The removed passkey no longer signs in.
    const { challengeId, options } = await admin.authenticationOptions();
    const refused = await browserFor(admin.authenticator).verifyAuthentication(
      challengeId,
      await admin.authenticator.assert(options, { credentialId: first }),
    );
    expect(problemOf(refused)).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "credential_unknown",
    });
    const removals = (await queuedAuditEvents(db)).filter(
      (event) => event.type === "passkey.removed",
    );
    expect(removals).toEqual([
      { type: "passkey.removed", actor: admin.human?.id, subject: first, data: {} },
    ]);
  });

  it("serialises concurrent removals so one passkey always remains", async () => {
    const db = database.db();
    const { enrolFirstAdmin, newClient } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const device = newClient();
    device.cookie = admin.cookie;
    const second = await device.addPasskey();
    const first = admin.authenticator.credentials[0]?.id as string;
    const results = await Promise.all([
      admin.delete(`/api/me/passkeys/${first}`),
      admin.delete(`/api/me/passkeys/${second}`),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual([204, 409]);
    expect(await db.selectFrom("passkeys").select("credential_id").execute()).toHaveLength(1);
  });
});
