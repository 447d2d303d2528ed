import { beforeEach, expect, it } from "vitest";
import { ensureFirstHumanInvitation } from "../../src/humans/invitations.js";
import { sessionSetCookie } from "../kit/human-client.js";
import { createSoftwareAuthenticator } from "../kit/software-authenticator.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHumanTestApp, problemOf, resetHumans } from "./human-test-app.js";

// Each defective ceremony must fail with ERR_WEBAUTHN_FAILED and its own reason, create nothing
// and start no session.

describeEachDatabase("humans: defective passkey registrations", (database) => {
  beforeEach(async () => resetHumans(database.db()));

  async function startEnrolment() {
    const db = database.db();
    const testApp = createHumanTestApp(db);
    const link = (await ensureFirstHumanInvitation(db, {
      publicUrl: testApp.origin,
      now: testApp.clock.now(),
    })) as string;
    const client = testApp.newClient();
    const started = await client.registrationOptions({
      invitation: new URL(link).hash.slice(1),
      display_name: "Ada",
    });
    return { ...testApp, db, link, client, ...started };
  }

  const cases = [
    {
      name: "a wrong origin",
      overrides: { origin: "https://evil.example" },
      reason: "origin_mismatch",
    },
    { name: "a wrong RP ID", overrides: { rpId: "evil.example" }, reason: "rp_id_mismatch" },
    {
      name: "a user not verified",
      overrides: { userVerified: false },
      reason: "user_not_verified",
    },
    { name: "a user not present", overrides: { userPresent: false }, reason: "user_not_present" },
    {
      name: "another challenge",
      overrides: { challenge: "A".repeat(43) },
      reason: "challenge_mismatch",
    },
    { name: "an assertion type", overrides: { type: "webauthn.get" }, reason: "type_mismatch" },
    { name: "a cross-origin frame", overrides: { crossOrigin: true }, reason: "cross_origin" },
    {
      name: "a non-discoverable credential",
      overrides: { discoverable: false },
      reason: "credential_not_discoverable",
    },
  ] as const;

  for (const { name, overrides, reason } of cases) {
    it(`refuses ${name} (${reason})`, async () => {
      const { db, client, challengeId, options } = await startEnrolment();
      const response = await client.authenticator.register(options, overrides);
      const refused = await client.verifyRegistration(challengeId, response);
      expect(problemOf(refused)).toEqual({
        status: 400,
        contentType: "application/problem+json",
        code: "ERR_WEBAUTHN_FAILED",
        reason,
      });
      expect(sessionSetCookie(refused)).toBeUndefined();
      expect(await db.selectFrom("humans").select("id").execute()).toEqual([]);
      expect(await db.selectFrom("passkeys").select("credential_id").execute()).toEqual([]);
      // The invitation survives a failed ceremony, so the human can try again.
      expect(await db.selectFrom("human_invitations").select("token_hash").execute()).toHaveLength(
        1,
      );
    });
  }

  it("accepts EdDSA (Ed25519) passkeys", async () => {
    const { client, challengeId, options, newClient } = await startEnrolment();
    const eddsa = newClient({ algorithms: ["EdDSA"] });
    const verified = await client.verifyRegistration(
      challengeId,
      await eddsa.authenticator.register(options),
    );
    expect(verified.status).toBe(201);
    const browser = newClient();
    const signIn = await browser.authenticationOptions();
    const signedIn = await browser.verifyAuthentication(
      signIn.challengeId,
      await eddsa.authenticator.assert(signIn.options),
    );
    expect(signedIn.status).toBe(200);
  });

  it("refuses a replayed registration challenge", async () => {
    const { client, challengeId, options } = await startEnrolment();
    const response = await client.authenticator.register(options);
    expect((await client.verifyRegistration(challengeId, response)).status).toBe(201);
    const replayed = await client.verifyRegistration(challengeId, response);
    expect(problemOf(replayed)).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "challenge_invalid",
    });
  });

  it("burns the challenge even when the answer is wrong", async () => {
    const { client, challengeId, options } = await startEnrolment();
    const wrong = await client.authenticator.register(options, { userVerified: false });
    expect(problemOf(await client.verifyRegistration(challengeId, wrong))).toMatchObject({
      reason: "user_not_verified",
    });
    const right = await client.authenticator.register(options);
    expect(problemOf(await client.verifyRegistration(challengeId, right))).toMatchObject({
      reason: "challenge_invalid",
    });
  });

  it("refuses an expired registration challenge", async () => {
    const { clock, client, challengeId, options } = await startEnrolment();
    clock.advance(5 * 60 * 1000);
    const response = await client.authenticator.register(options);
    expect(problemOf(await client.verifyRegistration(challengeId, response))).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "challenge_invalid",
    });
  });

  it("refuses a key algorithm outside ES256 and EdDSA", async () => {
    const { client, challengeId, options } = await startEnrolment();
    const response = await client.authenticator.register(options, { coseAlgorithm: -35 }); // ES384
    expect(problemOf(await client.verifyRegistration(challengeId, response))).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "algorithm_not_allowed",
    });
  });

  it("refuses a registration answered to a sign-in challenge, and the reverse", async () => {
    const { client, challengeId, options } = await startEnrolment();
    const signIn = await client.authenticationOptions();
    const response = await client.authenticator.register(options);
    expect(problemOf(await client.verifyRegistration(signIn.challengeId, response))).toMatchObject({
      reason: "challenge_invalid",
    });
    expect(problemOf(await client.verifyAuthentication(challengeId, {}))).toMatchObject({
      reason: "challenge_invalid",
    });
  });

  it("refuses malformed responses with a 400, never a 500", async () => {
    const { client, options, link } = await startEnrolment();
    const good = await client.authenticator.register(options);
    const variants: unknown[] = [
      {},
      { ...good, type: "password" },
      { ...good, id: "not base64url!" },
      { ...good, rawId: `${good.rawId}A` },
      { ...good, response: { ...good.response, clientDataJSON: "e30" } },
      { ...good, response: { ...good.response, clientDataJSON: "bm90IGpzb24" } },
      { ...good, response: { ...good.response, attestationObject: "oWNmbXRkbm9uZQ" } },
      { ...good, response: { ...good.response, attestationObject: "AAAA" } },
      {
        ...good,
        response: {
          ...good.response,
          attestationObject: good.response.attestationObject.slice(0, 120),
        },
      },
    ];
    for (const variant of variants) {
      const { challengeId } = await client.registrationOptions({
        invitation: new URL(link).hash.slice(1),
        display_name: "x",
      });
      const refused = await client.verifyRegistration(challengeId, variant);
      expect(refused.status, JSON.stringify(refused.body)).toBe(400);
      expect(refused.body.code).toMatch(/^ERR_(WEBAUTHN_FAILED|VALIDATION)$/);
    }
  });
});

describeEachDatabase("humans: defective passkey sign-ins", (database) => {
  beforeEach(async () => resetHumans(database.db()));

  async function signedUp() {
    const db = database.db();
    const testApp = createHumanTestApp(db);
    const admin = await testApp.enrolFirstAdmin();
    const browser = testApp.browserFor(admin.authenticator);
    return { ...testApp, db, admin, browser };
  }

  const cases = [
    {
      name: "a wrong origin",
      overrides: { origin: "http://localhost:4001" },
      reason: "origin_mismatch",
    },
    { name: "a wrong RP ID", overrides: { rpId: "example.com" }, reason: "rp_id_mismatch" },
    {
      name: "a user not verified",
      overrides: { userVerified: false },
      reason: "user_not_verified",
    },
    { name: "a user not present", overrides: { userPresent: false }, reason: "user_not_present" },
    {
      name: "another challenge",
      overrides: { challenge: "A".repeat(43) },
      reason: "challenge_mismatch",
    },
    {
      name: "a registration type",
      overrides: { type: "webauthn.create" },
      reason: "type_mismatch",
    },
    {
      name: "a foreign user handle",
      overrides: { userHandle: "AAAA" },
      reason: "user_handle_mismatch",
    },
  ] as const;

  for (const { name, overrides, reason } of cases) {
    it(`refuses ${name} (${reason})`, async () => {
      const { db, browser } = await signedUp();
      const sessionsBefore = await db.selectFrom("sessions").select("id_hash").execute();
      const { challengeId, options } = await browser.authenticationOptions();
      const refused = await browser.verifyAuthentication(
        challengeId,
        await browser.authenticator.assert(options, overrides),
      );
      expect(problemOf(refused)).toEqual({
        status: 400,
        contentType: "application/problem+json",
        code: "ERR_WEBAUTHN_FAILED",
        reason,
      });
      expect(sessionSetCookie(refused)).toBeUndefined();
      expect(await db.selectFrom("sessions").select("id_hash").execute()).toEqual(sessionsBefore);
      // The counter is untouched by a refused assertion.
      expect(
        (await db.selectFrom("passkeys").select("counter").executeTakeFirstOrThrow()).counter,
      ).toBe("0");
    });
  }

  it("accepts an assertion without a user handle", async () => {
    const { browser } = await signedUp();
    expect(await browser.signIn({ userHandle: null })).toBeDefined();
  });

  it("refuses a replayed sign-in challenge", async () => {
    const { browser } = await signedUp();
    const { challengeId, options } = await browser.authenticationOptions();
    const assertion = await browser.authenticator.assert(options);
    expect((await browser.verifyAuthentication(challengeId, assertion)).status).toBe(200);
    const replayed = await browser.verifyAuthentication(challengeId, assertion);
    expect(problemOf(replayed)).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "challenge_invalid",
    });
  });

  it("refuses an expired sign-in challenge, and accepts one just in time", async () => {
    const { clock, browser } = await signedUp();
    const early = await browser.authenticationOptions();
    clock.advance(5 * 60 * 1000 - 1);
    expect(
      (
        await browser.verifyAuthentication(
          early.challengeId,
          await browser.authenticator.assert(early.options),
        )
      ).status,
    ).toBe(200);
    const late = await browser.authenticationOptions();
    clock.advance(5 * 60 * 1000);
    const refused = await browser.verifyAuthentication(
      late.challengeId,
      await browser.authenticator.assert(late.options),
    );
    expect(problemOf(refused)).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "challenge_invalid",
    });
  });

  it("refuses a counter that goes backwards or stands still (a cloned authenticator)", async () => {
    const { db, browser } = await signedUp();
    await browser.signIn({ counter: 7 });
    for (const counter of [6, 7, 0]) {
      const { challengeId, options } = await browser.authenticationOptions();
      const refused = await browser.verifyAuthentication(
        challengeId,
        await browser.authenticator.assert(options, { counter }),
      );
      expect(problemOf(refused)).toMatchObject({
        status: 400,
        code: "ERR_WEBAUTHN_FAILED",
        reason: "counter_not_increased",
      });
    }
    expect(
      (await db.selectFrom("passkeys").select("counter").executeTakeFirstOrThrow()).counter,
    ).toBe("7");
    await browser.signIn({ counter: 8 });
    expect(
      (await db.selectFrom("passkeys").select("counter").executeTakeFirstOrThrow()).counter,
    ).toBe("8");
  });

  it("refuses an unknown credential", async () => {
    const { browser, rpId, origin } = await signedUp();
    const stranger = createSoftwareAuthenticator({ rpId, origin });
    // A passkey for this RP that was never registered here.
    await stranger.register({
      challenge: "AAAA",
      rp: { id: rpId, name: "elsewhere" },
      user: { id: "AQID", name: "eve", displayName: "Eve" },
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
    });
    const { challengeId, options } = await browser.authenticationOptions();
    const refused = await browser.verifyAuthentication(challengeId, await stranger.assert(options));
    expect(problemOf(refused)).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "credential_unknown",
    });
  });

  it("refuses a signature made with another credential's key", async () => {
    const { browser, newClient, admin } = await signedUp();
    const { body } = await admin.post("/api/invitations", {});
    const other = newClient();
    await other.enrol(body.invitation_url, { displayName: "Other" });
    const { challengeId, options } = await browser.authenticationOptions();
    const forged = await browser.authenticator.assert(options, {
      signWith: other.authenticator.credentials[0],
    });
    expect(problemOf(await browser.verifyAuthentication(challengeId, forged))).toMatchObject({
      status: 400,
      code: "ERR_WEBAUTHN_FAILED",
      reason: "signature_invalid",
    });
  });

  it("refuses malformed assertions with a 400, never a 500", async () => {
    const { browser } = await signedUp();
    const { options } = await browser.authenticationOptions();
    const good = await browser.authenticator.assert(options);
    const variants: unknown[] = [
      {},
      { ...good, id: "" },
      { ...good, rawId: "other" },
      { ...good, type: "otp" },
      { ...good, response: { ...good.response, signature: "" } },
      { ...good, response: { ...good.response, signature: "AAAA" } },
      { ...good, response: { ...good.response, authenticatorData: "AAAA" } },
      { ...good, response: { ...good.response, clientDataJSON: "W10" } },
      { ...good, response: { ...good.response, userHandle: 42 } },
    ];
    for (const variant of variants) {
      const { challengeId } = await browser.authenticationOptions();
      const refused = await browser.verifyAuthentication(challengeId, variant);
      expect(refused.status, JSON.stringify(variant)).toBe(400);
      expect(refused.body.code).toBe("ERR_WEBAUTHN_FAILED");
    }
  });
});
