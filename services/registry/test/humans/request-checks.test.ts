import {
  createRedisClient,
  createRedisFixedWindowLimiter,
  type FixedWindowLimiter,
} from "@agentauth/state";
import request from "supertest";
import { afterAll, beforeEach, expect, it } from "vitest";
import { ensureFirstHumanInvitation } from "../../src/humans/invitations.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHumanTestApp, problemOf, resetHumans } from "./human-test-app.js";

describeEachDatabase("humans: Origin checks, malformed bodies, rate limits", (database) => {
  beforeEach(async () => resetHumans(database.db()));

  it("refuses state-changing requests with a missing or foreign Origin", async () => {
    const db = database.db();
    const { app, enrolFirstAdmin } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const second = admin.authenticator.credentials[0]?.id as string;
    const cookie = admin.cookie as string;

    const attempts = [
      () => request(app).post("/api/invitations").set("Cookie", cookie).send({}),
      () => request(app).post("/api/session/logout").set("Cookie", cookie),
      () => request(app).delete(`/api/me/passkeys/${second}`).set("Cookie", cookie),
      () => request(app).post("/api/webauthn/registration/options").set("Cookie", cookie).send({}),
      () =>
        request(app)
          .post("/api/webauthn/registration/verify")
          .set("Cookie", cookie)
          .send({ challenge_id: "x", response: {} }),
      () => request(app).post("/api/webauthn/authentication/options").send({}),
      () =>
        request(app)
          .post("/api/webauthn/authentication/verify")
          .send({ challenge_id: "x", response: {} }),
    ];
    for (const attempt of attempts) {
      for (const origin of [
        undefined,
        "https://evil.example",
        "http://localhost:4001",
        "http://localhost:4000/",
        "null",
      ]) {
        const test = attempt();
        if (origin !== undefined) test.set("Origin", origin);
        const refused = await test;
        expect(problemOf(refused)).toEqual({
          status: 403,
          contentType: "application/problem+json",
          code: "ERR_ORIGIN_MISMATCH",
          reason: undefined,
        });
      }
    }
    // Nothing happened: the session is live, no invitation was made.
    expect((await admin.get("/api/me")).status).toBe(200);
    expect(await db.selectFrom("human_invitations").select("token_hash").execute()).toEqual([]);
    // Reads need no Origin.
    expect((await request(app).get("/api/me").set("Cookie", cookie)).status).toBe(200);
  });

  it("answers malformed bodies with 4xx problem+json and stable codes, never 500", async () => {
    const db = database.db();
    const { app, origin, enrolFirstAdmin } = createHumanTestApp(db);
    const admin = await enrolFirstAdmin();
    const cookie = admin.cookie as string;
    const post = (path: string) =>
      request(app).post(path).set("Origin", origin).set("Cookie", cookie);

    const cases: [() => request.Test, number, string][] = [
      [
        () =>
          post("/api/webauthn/registration/options")
            .set("Content-Type", "application/json")
            .send("{not json"),
        400,
        "ERR_VALIDATION",
      ],
      [
        () => post("/api/webauthn/registration/options").send("text body"),
        415,
        "ERR_UNSUPPORTED_MEDIA_TYPE",
      ],
      [() => post("/api/webauthn/registration/options").send([]), 400, "ERR_VALIDATION"],
      [
        () =>
          request(app)
            .delete("/api/me/passkeys/%E0%A4%A")
            .set("Origin", origin)
            .set("Cookie", cookie),
        400,
        "ERR_VALIDATION",
      ],
      [
        () => post("/api/webauthn/registration/options").send({ invitation: 42 }),
        400,
        "ERR_VALIDATION",
      ],
      [
        () =>
          post("/api/webauthn/registration/options").send({ invitation: "x", display_name: "" }),
        400,
        "ERR_VALIDATION",
      ],
      [
        () =>
          post("/api/webauthn/registration/options").send({
            invitation: "x",
            display_name: "a\u0000b",
          }),
        400,
        "ERR_VALIDATION",
      ],
      [
        () => post("/api/webauthn/registration/options").send({ extra: true }),
        400,
        "ERR_VALIDATION",
      ],
      [() => post("/api/webauthn/registration/verify").send({}), 400, "ERR_VALIDATION"],
      [
        () =>
          post("/api/webauthn/registration/verify").send({ challenge_id: "x", response: "nope" }),
        400,
        "ERR_VALIDATION",
      ],
      [
        () => post("/api/webauthn/registration/verify").send({ challenge_id: "x", response: {} }),
        400,
        "ERR_WEBAUTHN_FAILED",
      ],
      [
        () =>
          post("/api/webauthn/registration/verify").send({
            challenge_id: "x",
            response: {},
            passkey_name: "x".repeat(101),
          }),
        400,
        "ERR_VALIDATION",
      ],
      [
        () => post("/api/webauthn/authentication/options").send({ anything: 1 }),
        400,
        "ERR_VALIDATION",
      ],
      [() => post("/api/webauthn/authentication/options"), 415, "ERR_UNSUPPORTED_MEDIA_TYPE"],
      [
        () =>
          post("/api/webauthn/authentication/verify").send({ challenge_id: ["x"], response: {} }),
        400,
        "ERR_VALIDATION",
      ],
      [
        () =>
          post("/api/webauthn/authentication/verify").send({
            challenge_id: "x".repeat(101),
            response: {},
          }),
        400,
        "ERR_VALIDATION",
      ],
      [
        () =>
          post("/api/webauthn/authentication/verify").send({
            challenge_id: "wch_unknown",
            response: {},
          }),
        400,
        "ERR_WEBAUTHN_FAILED",
      ],
      [
        () =>
          post("/api/webauthn/authentication/verify")
            .set("Content-Type", "application/json")
            .send(`{"a":"${"x".repeat(70_000)}"}`),
        413,
        "ERR_PAYLOAD_TOO_LARGE",
      ],
      [() => post("/api/invitations").send({ is_admin: "yes" }), 400, "ERR_VALIDATION"],
      [() => post("/api/invitations").send({ display_name: 7 }), 400, "ERR_VALIDATION"],
    ];
    for (const [index, [attempt, status, code]] of cases.entries()) {
      const response = await attempt();
      expect({
        case: index,
        status: response.status,
        code: response.body.code,
        type: response.headers["content-type"]?.split(";")[0],
      }).toEqual({
        case: index,
        status,
        code,
        type: "application/problem+json",
      });
    }
  });

  it("rate-limits the options endpoints per client IP with 429 and Retry-After", async () => {
    const db = database.db();
    const { clock, origin, newClient } = createHumanTestApp(db, {
      optionsRateLimit: { limit: 3, windowSeconds: 60 },
    });
    const link = (await ensureFirstHumanInvitation(db, {
      publicUrl: origin,
      now: clock.now(),
    })) as string;
    const client = newClient();
    const invitation = new URL(link).hash.slice(1);
    for (let i = 0; i < 3; i++)
      expect((await client.post("/api/webauthn/authentication/options", {})).status).toBe(200);
    const limited = await client.post("/api/webauthn/authentication/options", {});
    expect(problemOf(limited)).toEqual({
      status: 429,
      contentType: "application/problem+json",
      code: "ERR_RATE_LIMITED",
      reason: undefined,
    });
    expect(limited.headers["retry-after"]).toBe("60");
    // Each endpoint counts on its own.
    for (let i = 0; i < 3; i++) {
      expect(
        (
          await client.post("/api/webauthn/registration/options", {
            invitation,
            display_name: "Ada",
          })
        ).status,
      ).toBe(200);
    }
    expect(
      (await client.post("/api/webauthn/registration/options", { invitation, display_name: "Ada" }))
        .status,
    ).toBe(429);
    clock.advance(60_000);
    expect((await client.post("/api/webauthn/authentication/options", {})).status).toBe(200);
  });
});

const redisUrl = process.env.REDIS_URL;
if (redisUrl !== undefined && redisUrl !== "") {
  describeEachDatabase("humans: rate limits shared through Redis", (database) => {
    const redis = createRedisClient(redisUrl);
    afterAll(async () => {
      await redis.quit();
    });
    beforeEach(async () => resetHumans(database.db()));

    it("counts hits of two registry replicas together", async () => {
      const db = database.db();
      const keyPrefix = `agentauth-test-${Math.random().toString(36).slice(2)}:`;
      const limiter: FixedWindowLimiter = createRedisFixedWindowLimiter(redis, { keyPrefix });
      const replicaA = createHumanTestApp(db, {
        limiter,
        optionsRateLimit: { limit: 2, windowSeconds: 60 },
      });
      const replicaB = createHumanTestApp(db, {
        limiter,
        optionsRateLimit: { limit: 2, windowSeconds: 60 },
      });
      expect(
        (await replicaA.newClient().post("/api/webauthn/authentication/options", {})).status,
      ).toBe(200);
      expect(
        (await replicaB.newClient().post("/api/webauthn/authentication/options", {})).status,
      ).toBe(200);
      const limited = await replicaA.newClient().post("/api/webauthn/authentication/options", {});
      expect(limited.status).toBe(429);
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    });
  });
}
