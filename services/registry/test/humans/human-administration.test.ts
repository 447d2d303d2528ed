import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import {
  auditEvents,
  captureRevocations,
  introspect,
  inviteHuman,
  obtainToken,
  refresh,
} from "../grants/grant-helpers.js";
import { createHumanClient, type HumanClient, sessionSetCookie } from "../kit/human-client.js";
import { describeEachDatabase } from "../support/databases.js";
import {
  createPaymentsProvider,
  createTestRegistry,
  enrolAgent,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";
import { problemOf } from "./human-test-app.js";

/** `human`'s id, once enrolled. */
const idOf = (human: HumanClient) => human.human?.id as string;

/** The same human in a second browser, signed in with their passkey. */
async function anotherBrowser(test: TestRegistry, human: HumanClient): Promise<HumanClient> {
  const browser = createHumanClient(test.registry.app, { authenticator: human.authenticator });
  await browser.signIn();
  return browser;
}

/** A passkey sign-in attempt's answer, without expecting success. */
async function trySignIn(test: TestRegistry, human: HumanClient): Promise<request.Response> {
  const browser = createHumanClient(test.registry.app, { authenticator: human.authenticator });
  const { challengeId, options } = await browser.authenticationOptions();
  return browser.verifyAuthentication(challengeId, await human.authenticator.assert(options));
}

describeEachDatabase("humans: administration by admins", (database) => {
  let test: TestRegistry;
  let apiKey: string;

  beforeAll(async () => {
    test = await createTestRegistry(database.db());
    ({ apiKey } = await createPaymentsProvider(test.admin));
  });

  const disable = (human: HumanClient | string, by: HumanClient = test.admin) =>
    by.post(`/api/humans/${typeof human === "string" ? human : idOf(human)}/disable`);
  /** The data of each `session.revoked` event by `actor` about `human`'s sessions. */
  const sessionsEndedBy = async (actor: HumanClient, human: HumanClient) =>
    (await auditEvents(test, { type: "session.revoked", actor: idOf(actor) }))
      .filter((entry) => entry.event.human_id === idOf(human))
      .map((entry) => entry.event.data);
  /** POST `path` answers 401 signed out, and 403 from another origin even with an admin's cookie. */
  const expectSignedInAdminOnOrigin = async (path: string) => {
    expect(
      problemOf(await request(test.registry.app).post(path).set("Origin", PUBLIC_URL)),
    ).toMatchObject({ status: 401, code: "ERR_UNAUTHENTICATED" });
    const foreign = request(test.registry.app)
      .post(path)
      .set("Cookie", test.admin.cookie as string)
      .set("Origin", "https://evil.example");
    expect(problemOf(await foreign)).toMatchObject({ status: 403, code: "ERR_ORIGIN_MISMATCH" });
  };
  const listedHuman = async (id: string) => {
    const { body } = await test.admin.get("/api/humans").expect(200);
    return body.humans.find((human: { id: string }) => human.id === id);
  };

  describe("listing", () => {
    it("shows every human to admins, and nobody else", async () => {
      const bob = await inviteHuman(test, "Listed Bob");
      const response = await test.admin.get("/api/humans").expect(200);
      expect(response.headers["cache-control"]).toBe("no-store");
      expect(response.body.humans.slice(0, 1)).toEqual([
        {
          id: idOf(test.admin),
          display_name: "Ada",
          is_admin: true,
          created_at: expect.any(String),
          disabled_at: null,
          status: "active",
        },
      ]);
      expect(await listedHuman(idOf(bob))).toMatchObject({
        display_name: "Listed Bob",
        is_admin: false,
        status: "active",
      });
      expect(problemOf(await bob.get("/api/humans"))).toMatchObject({
        status: 403,
        code: "ERR_FORBIDDEN",
      });
      expect(problemOf(await request(test.registry.app).get("/api/humans"))).toMatchObject({
        status: 401,
        code: "ERR_UNAUTHENTICATED",
      });
    });
  });

  describe("disabling", () => {
    it("ends the human's sessions, refuses their passkey, disables their agents and revokes their grants and tokens", async () => {
      const bob = await inviteHuman(test);
      const bobsPhone = await anotherBrowser(test, bob);
      const agent = await enrolAgent(test, bob);
      const token = await obtainToken(test, agent, { human: bob });
      const { body: unusedCode } = await bob
        .post("/api/agent-enrolment-codes", { name: "never enrolled" })
        .expect(201);

      let answer: request.Response | undefined;
      const published = await captureRevocations(test.revocationBus, async () => {
        answer = await disable(bob);
      });
      expect(answer?.status, JSON.stringify(answer?.body)).toBe(200);
      expect(answer?.body).toEqual({
        id: idOf(bob),
        display_name: "Bob",
        is_admin: false,
        created_at: expect.any(String),
        disabled_at: expect.any(String),
        status: "disabled",
      });
      // The admin's own session is not touched.
      expect(sessionSetCookie(answer as request.Response)).toBeUndefined();
      expect((await test.admin.get("/api/me")).status).toBe(200);

      // Sessions end at once, and sign-in is refused.
      for (const browser of [bob, bobsPhone]) {
        expect(problemOf(await browser.get("/api/me"))).toMatchObject({ status: 401 });
      }
      expect(problemOf(await trySignIn(test, bob))).toMatchObject({
        status: 400,
        code: "ERR_WEBAUTHN_FAILED",
        reason: "human_disabled",
      });
      // The agent is disabled, its grant and tokens revoked, and verifiers told at once.
      expect(published).toContainEqual(
        expect.objectContaining({ kind: "agent", subject: agent.id }),
      );
      expect((await introspect(test.registry.app, apiKey, token.accessToken)).body).toEqual({
        active: false,
      });
      expect((await refresh(agent, token.refreshToken)).body.error).toBe("invalid_client");
      const grant = await database
        .db()
        .selectFrom("grants")
        .select("revoked_at")
        .where("id", "=", token.grantId)
        .executeTakeFirstOrThrow();
      expect(grant.revoked_at).not.toBeNull();
      // The enrolment code Bob made is gone with him.
      const late = await request(test.registry.app)
        .post("/agents/enroll")
        .set("DPoP", await agent.proof("POST", "/agents/enroll"))
        .send({ code: unusedCode.code });
      expect(late.body.code).toBe("ERR_ENROLMENT_CODE_INVALID");
      expect(await listedHuman(idOf(bob))).toMatchObject({ status: "disabled" });

      // Audited: who disabled whom, each agent and each session.
      const [disabled] = await auditEvents(test, { type: "human.disabled", subject: idOf(bob) });
      expect(disabled?.event).toMatchObject({
        actor: idOf(test.admin),
        human_id: idOf(bob),
        data: { agents_disabled: [agent.id] },
      });
      const [agentDisabled] = await auditEvents(test, {
        type: "agent.disabled",
        subject: agent.id as string,
      });
      expect(agentDisabled?.event).toMatchObject({ actor: idOf(test.admin) });
      expect(await sessionsEndedBy(test.admin, bob)).toEqual([
        { reason: "human_disabled" },
        { reason: "human_disabled" },
      ]);
    });

    it("is idempotent: disabling a disabled human changes and audits nothing more", async () => {
      const carl = await inviteHuman(test, "Carl");
      const first = await disable(carl).expect(200);
      const again = await disable(carl).expect(200);
      expect(again.body).toEqual(first.body);
      expect(await auditEvents(test, { type: "human.disabled", subject: idOf(carl) })).toHaveLength(
        1,
      );
    });

    it("deletes the invitations a disabled admin made that nobody used", async () => {
      const dora = await inviteHuman(test, "Dora", { isAdmin: true });
      const { body } = await dora.post("/api/invitations", {}).expect(201);
      await disable(dora).expect(200);
      const invitee = createHumanClient(test.registry.app, {
        authenticator: test.admin.authenticator,
      });
      const refused = await invitee.post("/api/webauthn/registration/options", {
        invitation: new URL(body.invitation_url).hash.slice(1),
        display_name: "Invitee",
      });
      expect(problemOf(refused)).toMatchObject({ status: 400, code: "ERR_INVITATION_INVALID" });
    });

    it("lets an admin disable themself while another admin remains, ending their session", async () => {
      const erin = await inviteHuman(test, "Erin", { isAdmin: true });
      const answer = await disable(erin, erin);
      expect(answer.status).toBe(200);
      expect(answer.body.status).toBe("disabled");
      expect(sessionSetCookie(answer)).toMatch(/^agentauth_session=;/);
      expect(problemOf(await erin.get("/api/me"))).toMatchObject({ status: 401 });
    });

    it("never disables the last admin", async () => {
      const refused = await disable(test.admin);
      expect(problemOf(refused)).toMatchObject({ status: 409, code: "ERR_CONFLICT" });
      expect(refused.body.detail).toBe(
        "This is the last administrator: invite another administrator before disabling them",
      );
      expect((await test.admin.get("/api/me")).status).toBe(200);
      expect(await listedHuman(idOf(test.admin))).toMatchObject({ status: "active" });
    });

    it("is for admins on the registry's Origin, and answers 404 for an unknown human", async () => {
      const frank = await inviteHuman(test, "Frank");
      expect(problemOf(await disable(test.admin, frank))).toMatchObject({
        status: 403,
        code: "ERR_FORBIDDEN",
      });
      await expectSignedInAdminOnOrigin(`/api/humans/${idOf(frank)}/disable`);
      expect(await listedHuman(idOf(frank))).toMatchObject({ status: "active" });
      expect(problemOf(await disable("hum_unknown"))).toMatchObject({
        status: 404,
        code: "ERR_NOT_FOUND",
      });
    });
  });

  describe("ending another human's sessions", () => {
    it("ends every session of the human, who may sign in again", async () => {
      const gus = await inviteHuman(test, "Gus");
      const gusPhone = await anotherBrowser(test, gus);
      const answer = await test.admin.post(`/api/humans/${idOf(gus)}/sessions/revoke`);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ sessions_revoked: 2 });
      for (const browser of [gus, gusPhone]) {
        expect(problemOf(await browser.get("/api/me"))).toMatchObject({ status: 401 });
      }
      expect(await sessionsEndedBy(test.admin, gus)).toEqual([
        { reason: "revoked_by_admin" },
        { reason: "revoked_by_admin" },
      ]);

      expect((await trySignIn(test, gus)).status).toBe(200);
      expect((await test.admin.post(`/api/humans/${idOf(gus)}/sessions/revoke`)).body).toEqual({
        sessions_revoked: 1,
      });
    });

    it("is for admins on the registry's Origin, and answers 404 for an unknown human", async () => {
      const hal = await inviteHuman(test, "Hal");
      expect(
        problemOf(await hal.post(`/api/humans/${idOf(test.admin)}/sessions/revoke`)),
      ).toMatchObject({ status: 403, code: "ERR_FORBIDDEN" });
      await expectSignedInAdminOnOrigin(`/api/humans/${idOf(hal)}/sessions/revoke`);
      expect((await hal.get("/api/me")).status).toBe(200);
      expect((await test.admin.get("/api/me")).status).toBe(200);
      expect(
        problemOf(await test.admin.post("/api/humans/hum_unknown/sessions/revoke")),
      ).toMatchObject({ status: 404, code: "ERR_NOT_FOUND" });
    });
  });
});

describeEachDatabase("humans: the last admin", (database) => {
  it("stays enabled when two admins disable each other at once", async () => {
    const test = await createTestRegistry(database.db());
    const ivy = await inviteHuman(test, "Ivy", { isAdmin: true });
    const answers = await Promise.all([
      test.admin.post(`/api/humans/${idOf(ivy)}/disable`),
      ivy.post(`/api/humans/${idOf(test.admin)}/disable`),
    ]);
    // The loser is refused as the last admin (409) or, if the winner committed before its
    // session was checked, as signed out (401).
    const [won, lost] = [...answers].sort((a, b) => a.status - b.status);
    expect(won?.status).toBe(200);
    expect([401, 409]).toContain(lost?.status);
    const admins = await database
      .db()
      .selectFrom("humans")
      .select("id")
      .where("is_admin", "=", true)
      .where("disabled_at", "is", null)
      .execute();
    expect(admins).toHaveLength(1);
  });
});
