import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createErrorHandler, healthRoutes, notFound, requestLog, validateRequest } from "./http.js";

class KnownFailure extends Error {}

describe("the examples' HTTP helpers", () => {
  let server: Server;
  let url: string;
  let ready = true;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    const logger = pino(
      { level: "info" },
      { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const app = express();
    app.use(requestLog(logger));
    app.use(
      healthRoutes(async () => {
        if (!ready) throw new Error("down");
      }),
    );
    app.post(
      "/things",
      express.json({ limit: 64 }),
      validateRequest(
        (req) => z.strictObject({ name: z.string() }).parse(req.body),
        (problems) => new KnownFailure(problems),
      ),
      (_req, res) => {
        res.status(201).json({ ok: true });
      },
    );
    app.get("/boom", () => {
      throw new Error("secret detail");
    });
    app.use(notFound("urn:test"));
    app.use(
      createErrorHandler({
        logger,
        urn: "urn:test",
        known: (error) =>
          error instanceof KnownFailure
            ? { status: 400, code: "ERR_VALIDATION", detail: error.message }
            : undefined,
      }),
    );
    server = createServer(app);
    server.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  const post = (body: string) =>
    fetch(`${url}/things?token=dt_secret`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });

  it("answers a request that passes the check", async () => {
    expect((await post('{"name":"x"}')).status).toBe(201);
  });

  it("answers a failed check as the known error, listing the problems", async () => {
    const response = await post('{"name":1,"extra":true}');
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ type: "urn:test:ERR_VALIDATION", code: "ERR_VALIDATION" });
    expect(problem.detail).toContain("name");
  });

  it("answers a body too large with 413 and one that is not JSON with 400", async () => {
    expect((await post(JSON.stringify({ name: "x".repeat(100) }))).status).toBe(413);
    const broken = await post("{nope");
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { detail: string }).detail).toBe(
      "The request body must be JSON",
    );
  });

  it("answers an unexpected error with a generic 500 and a request id, the detail only logged", async () => {
    const response = await fetch(`${url}/boom`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain("secret detail");
    const { request_id } = JSON.parse(text) as { request_id: string };
    expect(lines.some((line) => line.requestId === request_id)).toBe(true);
  });

  it("answers an unknown route with 404 ERR_NOT_FOUND", async () => {
    const response = await fetch(`${url}/nowhere`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { code: string }).code).toBe("ERR_NOT_FOUND");
  });

  it("serves liveness and readiness", async () => {
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    ready = false;
    expect((await fetch(`${url}/health/ready`)).status).toBe(503);
    ready = true;
  });

  it("logs one line per request without its query or body", async () => {
    await post('{"name":"logged"}');
    const line = lines.filter((entry) => entry.msg === "request").at(-1);
    expect(line).toMatchObject({ method: "POST", path: "/things", status: 201 });
    expect(JSON.stringify(lines)).not.toContain("dt_secret");
    expect(JSON.stringify(lines)).not.toContain("logged");
  });
});
