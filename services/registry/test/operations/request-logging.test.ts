import { Writable } from "node:stream";
import { Router } from "express";
import { pino } from "pino";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { RegistryError } from "../../src/errors.js";
import { formBody } from "../../src/http/body.js";
import { oauthErrors } from "../../src/http/error-middleware.js";

/** An app whose routes succeed, fail with a coded error, or fail unexpectedly; its log lines. */
function loggedApp() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line !== "") lines.push(JSON.parse(line));
      done();
    },
  });
  const router = Router();
  router.post("/things/:id", formBody, (_req, res) => {
    res.status(201).json({ ok: true });
  });
  router.post("/oauth/thing", oauthErrors, formBody, () => {
    throw new RegistryError("ERR_INVALID_GRANT", "No such thing");
  });
  router.get("/broken", () => {
    throw new Error("database password is hunter2");
  });
  router.get("/oauth/broken", oauthErrors, () => {
    throw new Error("database password is hunter2");
  });
  const app = createApp({ logger: pino({ level: "info" }, sink), routers: [router] });
  return { app, lines };
}

const requestLines = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => line.msg === "request");

describe("structured request logs and request ids", () => {
  it("logs one JSON line per request, with its id, method, route pattern, status and duration, never its body", async () => {
    const { app, lines } = loggedApp();
    const response = await request(app)
      .post("/things/thg_123")
      .type("form")
      .send({ secret: "s3cr3t-value" })
      .expect(201);
    const requestId = response.headers["x-request-id"];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const [line, ...more] = requestLines(lines);
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      level: 30,
      requestId,
      method: "POST",
      route: "/things/:id",
      status: 201,
      ms: expect.any(Number),
    });
    expect(JSON.stringify(lines)).not.toContain("s3cr3t-value");
  });

  it("keeps a caller's safe X-Request-Id, and replaces an unsafe one", async () => {
    const { app, lines } = loggedApp();
    const kept = await request(app).get("/nowhere").set("X-Request-Id", "trace-42.a_b");
    expect(kept.headers["x-request-id"]).toBe("trace-42.a_b");
    expect(kept.body.request_id).toBe("trace-42.a_b");
    const tooLong = "x".repeat(65);
    const replaced = await request(app).get("/nowhere").set("X-Request-Id", tooLong);
    expect(replaced.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestLines(lines).map((line) => line.requestId)).toEqual([
      "trace-42.a_b",
      replaced.headers["x-request-id"],
    ]);
    expect(JSON.stringify(lines)).not.toContain(tooLong);
    const spaced = await request(app).get("/nowhere").set("X-Request-Id", "two words");
    expect(spaced.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers a coded error as its table says, logging its code and request id", async () => {
    const { app, lines } = loggedApp();
    const response = await request(app).post("/oauth/thing").type("form").send({}).expect(400);
    expect(response.body).toEqual({ error: "invalid_grant", error_description: "No such thing" });
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(lines).toContainEqual(
      expect.objectContaining({
        code: "ERR_INVALID_GRANT",
        requestId: response.headers["x-request-id"],
        msg: "No such thing",
      }),
    );
  });

  it("answers the unexpected with a generic 500 naming the request id; the detail is only logged", async () => {
    const { app, lines } = loggedApp();
    const problem = await request(app).get("/broken").expect(500);
    const requestId = problem.headers["x-request-id"];
    expect(problem.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(problem.body).toEqual({
      type: "about:blank",
      title: "Internal server error",
      status: 500,
      detail: `Unexpected error; quote request id ${requestId} when reporting it`,
      request_id: requestId,
    });
    const oauth = await request(app).get("/oauth/broken").expect(500);
    expect(oauth.body).toEqual({
      error: "server_error",
      error_description: `Unexpected error (request ${oauth.headers["x-request-id"]})`,
    });
    expect(JSON.stringify([problem.body, oauth.body])).not.toContain("hunter2");
    const logged = lines.filter((line) => line.msg === "unexpected error");
    expect(logged.map((line) => line.requestId)).toEqual([
      requestId,
      oauth.headers["x-request-id"],
    ]);
    expect(logged[0]?.err).toMatchObject({ message: "database password is hunter2" });
    expect(logged[0]?.level).toBe(50);
  });
});
