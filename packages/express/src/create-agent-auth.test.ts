import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type ErrorRequestHandler } from "express";
import { afterEach, describe, expect, it } from "vitest";
import { getAgentAuth } from "./agent-auth-context.js";
import { allowAnswer } from "./answers.test-support.js";
import { type AgentAuthOptions, createAgentAuth } from "./create-agent-auth.js";
import { AgentAuthExpressError, isAgentAuthExpressError } from "./errors.js";
import type { Verification, VerificationAnswer, VerificationRequest } from "./verification.js";

// The middleware's own behaviour around a decision, with decisions given by the test. Every
// answer against the real verifier and registry is in test/require-capability.test.ts.

const ALLOW = allowAnswer();
const DENY: VerificationAnswer = {
  decision: "deny",
  reason: "dpop_nonce_required",
  message: "Retry with the nonce",
  respond: {
    status: 401,
    headers: { "WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "n" },
  },
};

/** A Verification answering what the test says, recording what it was asked. */
function cannedVerification(answer: () => Promise<VerificationAnswer>) {
  const requests: VerificationRequest[] = [];
  const verification: Verification = {
    verify: (request) => {
      requests.push(request);
      return answer();
    },
    close: async () => undefined,
  };
  return { verification, requests };
}

const base = (verification: Verification): AgentAuthOptions => ({
  verification,
  serviceProvider: "https://payments.example.com",
  authorizationServer: "https://registry.example.com",
  publicUrl: "https://payments.example.com",
});

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** Serves `app` with a large header limit (so the middleware's own limits are reached). */
async function serve(app: express.Express): Promise<string> {
  const server = createServer({ maxHeaderSize: 128 * 1024 }, app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const appErrors: unknown[] = [];
const onAppError: ErrorRequestHandler = (error, _req, res, _next) => {
  appErrors.push(error);
  res.status(500).json({ error: isAgentAuthExpressError(error) ? error.code : "internal" });
};

describe("createAgentAuth options, checked once", () => {
  const { verification } = cannedVerification(async () => ALLOW);
  it.each([
    ["no verification", { verification: undefined }, "verification"],
    ["a verification without close", { verification: { verify: () => undefined } }, "verification"],
    ["neither publicUrl nor trustForwardedHeaders", { publicUrl: undefined }, "publicUrl"],
    ["both publicUrl and trustForwardedHeaders", { trustForwardedHeaders: true }, "publicUrl"],
    ["a publicUrl with a query", { publicUrl: "https://payments.example.com/?a=1" }, "publicUrl"],
    ["a relative publicUrl", { publicUrl: "/pay" }, "publicUrl"],
    [
      "an authorization server that is not a URL",
      { authorizationServer: "registry" },
      "authorizationServer",
    ],
    ["an empty service provider", { serviceProvider: "" }, "serviceProvider"],
    [
      "an approval endpoint that is not a URL",
      { approvalEndpoint: "/oauth/backchannel" },
      "approvalEndpoint",
    ],
    ["an onError that is not a function", { onError: "log" }, "onError"],
    ["an unknown option", { publicURL: "https://payments.example.com" }, "options"],
  ])("refuses %s with a TypeError naming it", (_name, override, field) => {
    const build = () => createAgentAuth({ ...base(verification), ...override } as AgentAuthOptions);
    expect(build).toThrow(TypeError);
    expect(build).toThrow(new RegExp(`^createAgentAuth: invalid options \\(.*${field}: `));
  });

  it("serves no RFC 9728 metadata for a service provider id that is a slug", () => {
    const agentAuth = createAgentAuth({ ...base(verification), serviceProvider: "payments" });
    expect(agentAuth.metadata).toBeUndefined();
    expect(() => agentAuth.protectedResourceMetadata()).toThrow(TypeError);
  });

  it("refuses bad metadata options with a TypeError", () => {
    const agentAuth = createAgentAuth(base(verification));
    expect(() => agentAuth.protectedResourceMetadata({ resourceDocumentation: "docs" })).toThrow(
      /^protectedResourceMetadata: invalid options \(resourceDocumentation: /,
    );
  });
});

describe("requireCapability around a decision", () => {
  it("does not check one request twice: its proof is used up (ERR_ALREADY_VERIFIED)", async () => {
    const { verification, requests } = cannedVerification(async () => ALLOW);
    const agentAuth = createAgentAuth(base(verification));
    const app = express();
    const read = agentAuth.requireCapability({ type: "read", resource: "reports/q3" });
    app.get("/twice", read, read, (_req, res) => {
      res.json({});
    });
    app.use(onAppError);
    const response = await fetch(`${await serve(app)}/twice`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "ERR_ALREADY_VERIFIED" });
    expect(requests).toHaveLength(1);
  });

  it("gives the verified agent to handlers, and refuses to where none was verified", async () => {
    const { verification } = cannedVerification(async () => ALLOW);
    const agentAuth = createAgentAuth(base(verification));
    const app = express();
    app.get(
      "/verified",
      agentAuth.requireCapability({ type: "read", resource: "reports/q3" }),
      (req, res) => {
        res.json({ agent: getAgentAuth(req).agent, remaining: getAgentAuth(req).remaining });
      },
    );
    app.get("/open", (req, res) => {
      res.json({ agent: getAgentAuth(req).agent });
    });
    app.use(onAppError);
    const url = await serve(app);
    const verified = await fetch(`${url}/verified`);
    expect(await verified.json()).toEqual({
      agent: "agt_1",
      remaining: { spend: [{ currency: "EUR", windowSeconds: 60, remaining: "1.00" }] },
    });
    const open = await fetch(`${url}/open`);
    expect(await open.json()).toEqual({ error: "ERR_NOT_VERIFIED" });
  });

  it("passes a route function's own coded error to the app, not to the agent", async () => {
    const { verification, requests } = cannedVerification(async () => ALLOW);
    const agentAuth = createAgentAuth(base(verification));
    const app = express();
    app.get(
      "/r",
      agentAuth.requireCapability({ type: "read", resource: (req) => getAgentAuth(req).agent }),
    );
    app.use(onAppError);
    const response = await fetch(`${await serve(app)}/r`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "ERR_NOT_VERIFIED" });
    expect(requests).toHaveLength(0);
  });

  it("answers even when onError throws, and passes non-coded errors to the app", async () => {
    let fail: () => Promise<VerificationAnswer> = () =>
      Promise.reject(new AgentAuthExpressError("ERR_VERIFIER_UNAVAILABLE", "down"));
    const { verification } = cannedVerification(() => fail());
    const agentAuth = createAgentAuth({
      ...base(verification),
      onError: () => {
        throw new Error("the logger is broken");
      },
    });
    const app = express();
    app.get(
      "/r",
      agentAuth.requireCapability({ type: "read", resource: "reports/q3" }),
      (_req, res) => {
        res.json({ allowed: true });
      },
    );
    app.use(onAppError);
    const url = await serve(app);
    const unavailable = await fetch(`${url}/r`);
    expect(unavailable.status).toBe(503);
    const bug = new Error("a bug in an adapter");
    fail = () => Promise.reject(bug);
    const broken = await fetch(`${url}/r`);
    expect(broken.status).toBe(500);
    expect(appErrors).toContain(bug);
  });

  it("answers 414 and 431 itself past the verifier's limits, without asking it", async () => {
    const { verification, requests } = cannedVerification(async () => DENY);
    const agentAuth = createAgentAuth(base(verification));
    const app = express();
    app.get("/*path", agentAuth.requireCapability({ type: "read", resource: "reports/q3" }));
    const url = await serve(app);
    const longUrl = await fetch(`${url}/${"a".repeat(8_200)}`);
    expect(longUrl.status).toBe(414);
    expect(await longUrl.json()).toMatchObject({ type: "about:blank", status: 414 });
    const bigHeader = await fetch(`${url}/r`, {
      headers: { authorization: `DPoP ${"a".repeat(16_400)}` },
    });
    expect(bigHeader.status).toBe(431);
    const bigProof = await fetch(`${url}/r`, { headers: { dpop: "a".repeat(16_400) } });
    expect(bigProof.status).toBe(431);
    const nineProofs = await new Promise<number>((resolve, reject) => {
      const dpop = Array.from({ length: 9 }, (_, index) => `proof-${index}`);
      httpRequest(`${url}/r`, { headers: { dpop } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });
    expect(nineProofs).toBe(431);
    expect(requests).toHaveLength(0);
    const fine = await fetch(`${url}/r`, { headers: { authorization: "DPoP x", dpop: "p" } });
    expect(fine.status).toBe(401);
    expect(fine.headers.get("dpop-nonce")).toBe("n");
    // An https service provider id names its RFC 9728 metadata in the challenge.
    expect(fine.headers.get("www-authenticate")).toBe(
      'DPoP error="use_dpop_nonce", resource_metadata="https://payments.example.com/.well-known/oauth-protected-resource"',
    );
    expect(requests).toEqual([
      {
        authorization: "DPoP x",
        dpop: "p",
        method: "GET",
        url: "https://payments.example.com/r",
        action: { type: "read", resource: "reports/q3" },
      },
    ]);
  });

  it("names no metadata in challenges when the service provider id is a slug", async () => {
    const { verification } = cannedVerification(async () => DENY);
    const agentAuth = createAgentAuth({ ...base(verification), serviceProvider: "payments" });
    const app = express();
    app.get("/r", agentAuth.requireCapability({ type: "read", resource: "reports/q3" }));
    const response = await fetch(`${await serve(app)}/r`);
    expect(response.headers.get("www-authenticate")).toBe('DPoP error="use_dpop_nonce"');
  });
});
