import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Router } from "express";
import { pino } from "pino";
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { createApprovalAppRouter } from "../../src/approval-app/approval-app-routes.js";
import { ConfigError, parseConfig } from "../../src/config.js";

const INDEX = '<!doctype html><html><body><div id="root"></div></body></html>';

/** A built app on disk, and a registry app with one API route plus the approval app. */
async function createServedApp(options: { built?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "agentauth-approval-app-"));
  if (options.built !== false) {
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), INDEX);
    await writeFile(join(dir, "assets", "index-AbC123.js"), "console.log('app');");
  }
  const api = Router();
  api.get("/api/me", (_req, res) => {
    res.json({ id: "hum_1" });
  });
  const app = createApp({
    logger: pino({ level: "silent" }),
    routers: [api, createApprovalAppRouter({ dir })],
  });
  return { app, dir };
}

describe("approval app served by the registry", () => {
  let app: Awaited<ReturnType<typeof createServedApp>>["app"];
  beforeAll(async () => {
    ({ app } = await createServedApp());
  });

  it.each([
    "/",
    "/requests",
    "/requests/cib_abc123",
    "/enrol",
    "/sign-in",
    "/grants",
    "/my-agents",
    "/service-providers",
    "/activity",
    "/account",
    "/grants/",
  ])(
    "serves index.html for the client route %s, uncached, with its security headers",
    async (path) => {
      const response = await request(app).get(path).expect(200);
      expect(response.headers["content-type"]).toMatch(/^text\/html/);
      expect(response.text).toBe(INDEX);
      expect(response.headers["cache-control"]).toBe("no-store");
      const csp = response.headers["content-security-policy"] as string;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("unsafe-eval");
      expect(response.headers["x-frame-options"]).toBe("DENY");
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
      expect(response.headers["referrer-policy"]).toBe("no-referrer");
      expect(response.headers.etag).toBeUndefined();
    },
  );

  it("answers HEAD for a client route without a body", async () => {
    const response = await request(app).head("/requests/cib_1").expect(200);
    expect(response.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  });

  it("serves hashed assets with a year-long immutable cache", async () => {
    const response = await request(app).get("/assets/index-AbC123.js").expect(200);
    expect(response.headers["content-type"]).toMatch(/javascript/);
    expect(response.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("leaves API routes to the API", async () => {
    await request(app).get("/api/me").expect(200, { id: "hum_1" });
  });

  it.each([
    "/api/nothing-here",
    "/oauth/token",
    "/.well-known/nothing",
    "/agents",
    "/agents/enroll",
    "/health/nothing",
    "/metrics",
    "/openapi.json",
    "/requests/a/b",
    "/index.html",
    "/assets/missing.js",
    "/assets/../index.html",
    "/no-such-page",
  ])("answers %s with the registry's 404 problem, never the app", async (path) => {
    const response = await request(app).get(path).expect(404);
    expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(response.body.code).toBe("ERR_NOT_FOUND");
  });

  it("does not answer other methods on client routes", async () => {
    const response = await request(app).post("/requests/cib_1").send({}).expect(404);
    expect(response.body.code).toBe("ERR_NOT_FOUND");
  });

  it("answers 503 when the app directory has no index.html", async () => {
    const { app: unbuilt } = await createServedApp({ built: false });
    const response = await request(unbuilt).get("/").expect(503);
    expect(response.body.code).toBe("ERR_UNAVAILABLE");
  });
});

describe("AGENTAUTH_APPROVAL_APP_DIR", () => {
  it("points the registry at a built app", async () => {
    const { dir } = await createServedApp();
    expect(parseConfig({ AGENTAUTH_APPROVAL_APP_DIR: dir }).approvalAppDir).toBe(dir);
  });

  it("refuses a directory without index.html, naming the variable", async () => {
    const { dir } = await createServedApp({ built: false });
    expect(() => parseConfig({ AGENTAUTH_APPROVAL_APP_DIR: dir })).toThrow(ConfigError);
    expect(() => parseConfig({ AGENTAUTH_APPROVAL_APP_DIR: dir })).toThrow(
      /AGENTAUTH_APPROVAL_APP_DIR: has no index.html/,
    );
  });
});
