import request from "supertest";
import { beforeEach, expect, it } from "vitest";
import { sessionSetCookie } from "../kit/human-client.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHumanTestApp, problemOf, queuedAuditEvents, resetHumans } from "./human-test-app.js";

const HOUR_MS = 3600 * 1000;

describeEachDatabase("humans: listing and ending one's own sessions", (database) => {
  beforeEach(async () => resetHumans(database.db()));

  /** The first admin signed in on a laptop (enrolment) and a phone (sign-in) an hour later. */
  const twoDevices = async () => {
    const app = createHumanTestApp(database.db());
    const laptop = await app.enrolFirstAdmin("Ada");
    app.clock.advance(HOUR_MS);
    const phone = app.browserFor(laptop.authenticator);
    await phone.signIn();
    return { ...app, laptop, phone };
  };
  /** The queued audit events of `type`, oldest first. */
  const queued = async (type: string) =>
    (await queuedAuditEvents(database.db())).filter((event) => event.type === type);
  const sessionsOf = async (browser: { get(path: string): request.Test }) => {
    const response = await browser.get("/api/me/sessions");
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    return response.body.sessions as Array<{ id: string; current: boolean }>;
  };

  it("lists the live sessions, newest first, marking the one asking", async () => {
    const { phone, laptop, clock } = await twoDevices();
    const listed = await sessionsOf(phone);
    expect(listed).toEqual([
      {
        id: expect.stringMatching(/^ses_[A-Za-z0-9_-]{22}$/),
        created_at: "2025-06-02T10:00:00.000Z",
        expires_at: "2025-06-02T22:00:00.000Z",
        current: true,
      },
      {
        id: expect.stringMatching(/^ses_[A-Za-z0-9_-]{22}$/),
        created_at: "2025-06-02T09:00:00.000Z",
        expires_at: "2025-06-02T21:00:00.000Z",
        current: false,
      },
    ]);
    expect((await sessionsOf(laptop)).map((session) => session.current)).toEqual([false, true]);

    // Past its 12 hours the laptop's session is gone from the list.
    clock.advance(11.5 * HOUR_MS);
    expect((await sessionsOf(phone)).map((session) => session.id)).toEqual([listed[0]?.id]);
  });

  it("audits each session's start, by enrolment or by sign-in", async () => {
    const { laptop, phone } = await twoDevices();
    const [phoneSession, laptopSession] = await sessionsOf(phone);
    const started = await queued("session.started");
    expect(started).toEqual([
      {
        type: "session.started",
        actor: laptop.human?.id,
        subject: laptopSession?.id,
        data: { via: "enrolment", expires_at: "2025-06-02T21:00:00.000Z" },
      },
      {
        type: "session.started",
        actor: phone.human?.id,
        subject: phoneSession?.id,
        data: { via: "sign_in", expires_at: "2025-06-02T22:00:00.000Z" },
      },
    ]);
  });

  it("ends another of one's sessions: refused at once, audited, the asking session untouched", async () => {
    const { laptop, phone } = await twoDevices();
    const [, laptopSession] = await sessionsOf(phone);
    const ended = await phone.delete(`/api/me/sessions/${laptopSession?.id}`);
    expect(ended.status).toBe(204);
    expect(sessionSetCookie(ended)).toBeUndefined();

    expect(problemOf(await laptop.get("/api/me"))).toMatchObject({
      status: 401,
      code: "ERR_UNAUTHENTICATED",
    });
    expect((await sessionsOf(phone)).map((session) => session.current)).toEqual([true]);
    const revoked = await queued("session.revoked");
    expect(revoked).toEqual([
      {
        type: "session.revoked",
        actor: phone.human?.id,
        subject: laptopSession?.id,
        data: { reason: "revoked" },
      },
    ]);
  });

  it("ends the asking session itself, clearing its cookie", async () => {
    const { phone } = await twoDevices();
    const [phoneSession] = await sessionsOf(phone);
    const ended = await phone.delete(`/api/me/sessions/${phoneSession?.id}`);
    expect(ended.status).toBe(204);
    expect(sessionSetCookie(ended)).toMatch(
      /^agentauth_session=; Path=\/; Expires=Thu, 01 Jan 1970/,
    );
    expect(problemOf(await phone.get("/api/me/sessions"))).toMatchObject({ status: 401 });
  });

  it("answers 404 for another human's session, an ended one and an unknown one", async () => {
    const { laptop, phone, newClient } = await twoDevices();
    const [phoneSession, laptopSession] = await sessionsOf(phone);
    const { body } = await laptop.post("/api/invitations", {}).expect(201);
    const grace = newClient();
    await grace.enrol(body.invitation_url, { displayName: "Grace" });

    for (const id of [phoneSession?.id, "ses_unknown", "not an id"]) {
      const refused = await grace.delete(`/api/me/sessions/${encodeURIComponent(String(id))}`);
      expect(problemOf(refused)).toMatchObject({ status: 404, code: "ERR_NOT_FOUND" });
      expect(refused.body.detail).toBe("You have no live session with this id");
    }
    expect((await phone.get("/api/me")).status).toBe(200);

    await phone.delete(`/api/me/sessions/${laptopSession?.id}`).expect(204);
    expect(problemOf(await phone.delete(`/api/me/sessions/${laptopSession?.id}`))).toMatchObject({
      status: 404,
      code: "ERR_NOT_FOUND",
    });
  });

  it("needs a signed-in human, and the registry's Origin to end a session", async () => {
    const { app, phone, origin } = await twoDevices();
    const [, laptopSession] = await sessionsOf(phone);
    expect(problemOf(await request(app).get("/api/me/sessions"))).toMatchObject({
      status: 401,
      code: "ERR_UNAUTHENTICATED",
    });
    const path = `/api/me/sessions/${laptopSession?.id}`;
    expect(problemOf(await request(app).delete(path).set("Origin", origin))).toMatchObject({
      status: 401,
      code: "ERR_UNAUTHENTICATED",
    });
    const foreign = request(app)
      .delete(path)
      .set("Cookie", phone.cookie as string)
      .set("Origin", "https://evil.example");
    expect(problemOf(await foreign)).toMatchObject({ status: 403, code: "ERR_ORIGIN_MISMATCH" });
    expect((await sessionsOf(phone)).map((session) => session.id)).toContain(laptopSession?.id);
  });
});
