import { request as httpRequest } from "node:http";
import {
  createMemoryRevocationBus,
  type RevocationBus,
  type RevocationListener,
  StateError,
} from "@agentauth/state";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentKey,
  type BareVerifier,
  createAgentKey,
  createApiKey,
  ISSUER,
  PROVIDER,
  publishKey,
  startBareVerifier,
  tokenClaims,
} from "../support/bare-verifier.js";
import { type Exchange, exchange } from "../support/http.js";
import { verifyBody } from "../support/verifier-harness.js";

// The verifier's HTTP surface apart from decisions: every error that is not a decision (RFC
// 9457 problems, OAuth error JSON on /introspect), introspection's answers, the RFC 9728
// metadata, health and metrics.

/** A revocation bus whose subscription a test can declare lost (as Redis would report it). */
function createDroppableBus(): RevocationBus & { drop(): void; reload(): void } {
  const inner = createMemoryRevocationBus();
  const listeners: RevocationListener[] = [];
  return {
    publish: (record) => inner.publish(record),
    loadAll: () => inner.loadAll(),
    async subscribe(listener) {
      listeners.push(listener);
      return inner.subscribe(listener);
    },
    drop() {
      for (const listener of listeners)
        listener.onError?.(new StateError("ERR_STATE_UNAVAILABLE", "subscription lost"));
    },
    reload() {
      void inner.loadAll().then((records) => {
        for (const listener of listeners) listener.onReload(records);
      });
    },
  };
}

/** A raw request, for what `fetch` will not send or cannot show (an early answer, a huge body). */
function rawRequest(
  url: string,
  options: { headers: Record<string, string | number>; chunks: Buffer[] },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/v1/verify`, { method: "POST", headers: options.headers });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    // The server may close before the whole body is written; the answer came first.
    req.on("error", (error) => {
      if (!req.writableEnded) reject(error);
    });
    for (const chunk of options.chunks) req.write(chunk);
    req.end();
  });
}

describe("the verifier's HTTP surface", () => {
  let verifier: BareVerifier;
  let agent: AgentKey;
  let bus: ReturnType<typeof createDroppableBus>;
  let failReadiness = false;

  beforeAll(async () => {
    bus = createDroppableBus();
    verifier = await startBareVerifier({
      state: { revocationBus: bus },
      readinessChecks: {
        redis: async () => {
          if (failReadiness) throw new StateError("ERR_STATE_UNAVAILABLE", "PING timed out");
        },
      },
    });
    agent = await createAgentKey();
  });
  afterAll(() => verifier?.stop());

  const verify = (options: { headers?: Record<string, string>; body?: unknown } = {}) =>
    exchange(`${verifier.url}/v1/verify`, {
      method: "POST",
      headers: { authorization: `Bearer ${verifier.apiKey}`, ...options.headers },
      body: options.body ?? "",
    });
  const expectProblem = (answer: Exchange, status: number, code: string) => {
    expect(answer.status, answer.text).toBe(status);
    expect(answer.headers.get("content-type")).toBe("application/problem+json");
    expect(answer.json).toMatchObject({
      status,
      code,
      type: `urn:agentauth:error:${code.slice(4).toLowerCase().replaceAll("_", "-")}`,
      title: expect.any(String),
      detail: expect.any(String),
      request_id: answer.headers.get("x-request-id"),
    });
  };
  const validBody = async () => {
    const token = await verifier.signer.sign(tokenClaims(agent));
    return verifyBody(agent, token, { nonce: await verifier.nonce() });
  };

  describe("POST /v1/verify errors", () => {
    it("415 for a body that is not application/json", async () => {
      for (const type of ["text/plain", "application/x-www-form-urlencoded", ""]) {
        const answer = await verify({ headers: { "content-type": type }, body: "{}" });
        expectProblem(answer, 415, "ERR_UNSUPPORTED_MEDIA_TYPE");
      }
      // Parameters are fine.
      const withCharset = await verify({
        headers: { "content-type": "Application/JSON; charset=utf-8" },
        body: JSON.stringify(await validBody()),
      });
      expect(withCharset.json).toMatchObject({ decision: "allow" });
    });

    it("413 with Connection: close for a body over 64 KiB, declared or streamed", async () => {
      const big = Buffer.alloc(70 * 1024, "a");
      const declared = await rawRequest(verifier.url, {
        headers: {
          authorization: `Bearer ${verifier.apiKey}`,
          "content-type": "application/json",
          "content-length": big.length,
        },
        chunks: [big],
      });
      const streamed = await rawRequest(verifier.url, {
        headers: {
          authorization: `Bearer ${verifier.apiKey}`,
          "content-type": "application/json",
          "transfer-encoding": "chunked",
        },
        chunks: [big.subarray(0, 40_000), big.subarray(40_000)],
      });
      for (const answer of [declared, streamed]) {
        expect(answer.status).toBe(413);
        expect(answer.headers.connection).toBe("close");
        expect(JSON.parse(answer.body)).toMatchObject({ code: "ERR_PAYLOAD_TOO_LARGE" });
      }
      // The verifier is unharmed.
      expect((await verifier.verify(await validBody())).json.decision).toBe("allow");
    });

    it("400 for a body that is not JSON, not UTF-8, or not an object", async () => {
      const json = { "content-type": "application/json" };
      const notJson = await verify({ headers: json, body: "{nope" });
      expectProblem(notJson, 400, "ERR_INVALID_REQUEST");
      expect(notJson.json.detail).toBe("The body is not valid JSON");
      const notUtf8 = await rawRequest(verifier.url, {
        headers: { authorization: `Bearer ${verifier.apiKey}`, ...json },
        chunks: [Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
      });
      expect(notUtf8.status).toBe(400);
      expect(JSON.parse(notUtf8.body)).toMatchObject({ detail: "The body is not valid UTF-8" });
      for (const body of ["null", "[]", '"text"', "42", "{}", '{"action":null}']) {
        expectProblem(await verify({ headers: json, body }), 400, "ERR_INVALID_REQUEST");
      }
    });

    it("400 naming every field that is wrong", async () => {
      const answer = await verify({
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          authorization: 42,
          dpop: Array(9).fill("x"),
          method: "PO ST",
          url: "ftp://files.example.com/x",
          action: { type: "fly", amount: { amount: 10 } },
        }),
      });
      expectProblem(answer, 400, "ERR_INVALID_REQUEST");
      const detail = String(answer.json.detail);
      for (const field of [
        "authorization:",
        "dpop:",
        "method: must be an HTTP method",
        "url:",
        "action.type:",
        "action.resource:",
        "action.amount.amount:",
        "action.amount.currency:",
      ]) {
        expect(detail).toContain(field);
      }
    });

    it("401 with a challenge for a missing, malformed, unknown, wrong or revoked API key", async () => {
      const revoked = createApiKey();
      await publishKey(verifier.state.keyDirectory, revoked, PROVIDER, true);
      const wrongSecret = `${verifier.apiKey.slice(0, 17)}${createApiKey().slice(17)}`;
      for (const authorization of [
        undefined,
        "Bearer",
        `Basic ${Buffer.from("x").toString("base64")}`,
        "Bearer not-a-key",
        `Bearer ${createApiKey()}`,
        `Bearer ${wrongSecret}`,
        `Bearer ${revoked}`,
      ]) {
        const answer = await exchange(`${verifier.url}/v1/verify`, {
          headers: authorization === undefined ? {} : { authorization },
          body: await validBody(),
        });
        expectProblem(answer, 401, "ERR_UNAUTHENTICATED");
        const scheme = authorization?.startsWith("Basic") === true ? "Basic" : "Bearer";
        expect(answer.headers.get("www-authenticate")).toBe(`${scheme} realm="agentauth-verifier"`);
      }
    });

    it("checks the API key before reading the body", async () => {
      const answer = await exchange(`${verifier.url}/v1/verify`, {
        headers: { "content-type": "text/plain" },
        body: "{nope",
      });
      expectProblem(answer, 401, "ERR_UNAUTHENTICATED");
    });
  });

  describe("routing", () => {
    it("404 for an unknown path, 405 for a known path with another method", async () => {
      expectProblem(await exchange(`${verifier.url}/v1/nope`), 404, "ERR_NOT_FOUND");
      expectProblem(await exchange(`${verifier.url}/`), 404, "ERR_NOT_FOUND");
      expectProblem(await exchange(`${verifier.url}/v1/verify`), 405, "ERR_METHOD_NOT_ALLOWED");
      expectProblem(
        await exchange(`${verifier.url}/health/live`, { method: "POST", body: "{}" }),
        405,
        "ERR_METHOD_NOT_ALLOWED",
      );
      // A query string does not change the route.
      expect((await exchange(`${verifier.url}/health/live?probe=1`)).status).toBe(200);
    });

    it("echoes a well-formed X-Request-Id and replaces any other", async () => {
      const echoed = await exchange(`${verifier.url}/health/live`, {
        headers: { "x-request-id": "trace-1.2_3" },
      });
      expect(echoed.headers.get("x-request-id")).toBe("trace-1.2_3");
      const replaced = await exchange(`${verifier.url}/health/live`, {
        headers: { "x-request-id": "<script>" },
      });
      expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe("POST /introspect (RFC 7662)", () => {
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const bearer = () => ({ authorization: `Bearer ${verifier.apiKey}` });
    const basic = (id: string, secret: string) => ({
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`,
    });
    const introspect = (headers: Record<string, string>, body: string) =>
      exchange(`${verifier.url}/introspect`, { headers: { ...form, ...headers }, body });
    const expectOAuthError = (answer: Exchange, status: number, error: string) => {
      expect(answer.status, answer.text).toBe(status);
      expect(answer.headers.get("content-type")).toBe("application/json");
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(answer.json).toEqual({ error, error_description: expect.any(String) });
    };

    it("answers an active token's claims, with Bearer or Basic authentication", async () => {
      const claims = tokenClaims(agent);
      const token = await verifier.signer.sign(claims);
      for (const headers of [bearer(), basic(PROVIDER, verifier.apiKey)]) {
        const answer = await introspect(headers, new URLSearchParams({ token }).toString());
        expect(answer.status).toBe(200);
        expect(answer.json).toEqual({
          active: true,
          token_type: "DPoP",
          iss: ISSUER,
          sub: claims.sub,
          client_id: claims.client_id,
          aud: PROVIDER,
          iat: claims.iat,
          exp: claims.exp,
          jti: claims.jti,
          cnf: claims.cnf,
          authorization_details: claims.authorization_details,
          grant_id: claims.grant_id,
          human_id: claims.human_id,
        });
      }
    });

    it("answers only active: false for a token that is not, or no longer, good for this provider", async () => {
      const now = Math.floor(Date.now() / 1000);
      const revokedClaims = tokenClaims(agent);
      await bus.publish({
        kind: "token",
        subject: revokedClaims.jti as string,
        expiresAt: new Date(Date.now() + 3_600_000),
      });
      const tokens = [
        "not-a-token",
        await verifier.signer.sign(tokenClaims(agent, { aud: "https://other.example" })),
        await verifier.signer.sign(tokenClaims(agent, { iat: now - 1000, exp: now - 100 })),
        await verifier.signer.sign(revokedClaims),
      ];
      for (const token of tokens) {
        const answer = await introspect(bearer(), new URLSearchParams({ token }).toString());
        expect(answer.status).toBe(200);
        expect(answer.json).toEqual({ active: false });
      }
    });

    it("answers OAuth error JSON: invalid_client, invalid_request", async () => {
      const token = new URLSearchParams({ token: "x" }).toString();
      const unauthenticated = await introspect({}, token);
      expectOAuthError(unauthenticated, 401, "invalid_client");
      expect(unauthenticated.headers.get("www-authenticate")).toMatch(/^Bearer /);
      expectOAuthError(await introspect(bearer(), ""), 400, "invalid_request");
      expectOAuthError(await introspect(bearer(), "token="), 400, "invalid_request");
      const json = await exchange(`${verifier.url}/introspect`, {
        headers: bearer(),
        body: { token: "x" },
      });
      expectOAuthError(json, 415, "invalid_request");
      expectOAuthError(await exchange(`${verifier.url}/introspect`), 405, "invalid_request");
    });

    it("refuses Basic credentials whose id is not the key's provider, with a Basic challenge", async () => {
      const token = new URLSearchParams({ token: "x" }).toString();
      for (const headers of [
        basic("https://other.example", verifier.apiKey),
        basic(PROVIDER, createApiKey()),
        { authorization: `Basic ${Buffer.from("no-colon").toString("base64")}` },
      ]) {
        const answer = await introspect(headers, token);
        expectOAuthError(answer, 401, "invalid_client");
        // RFC 6749 §5.2: the challenge matches the scheme the client used.
        expect(answer.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
      }
    });
  });

  describe("GET /v1/protected-resource-metadata (RFC 9728)", () => {
    it("describes the calling provider as a DPoP-only resource of the registry", async () => {
      const answer = await exchange(`${verifier.url}/v1/protected-resource-metadata`, {
        headers: { authorization: `Bearer ${verifier.apiKey}` },
      });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        resource: PROVIDER,
        authorization_servers: [ISSUER],
        bearer_methods_supported: ["header"],
        dpop_signing_alg_values_supported: ["ES256", "EdDSA", "Ed25519"],
        dpop_bound_access_tokens_required: true,
        authorization_details_types_supported: ["read", "write", "delete", "transact", "custom"],
      });
      expectProblem(
        await exchange(`${verifier.url}/v1/protected-resource-metadata`),
        401,
        "ERR_UNAUTHENTICATED",
      );
    });
  });

  describe("health", () => {
    const ready = () => exchange(`${verifier.url}/health/ready`);

    it("is live", async () => {
      const answer = await exchange(`${verifier.url}/health/live`);
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ status: "ok" });
    });

    it("is ready when every check passes, and names the one that fails", async () => {
      expect((await ready()).json).toEqual({
        status: "ready",
        checks: { jwks: true, revocations: true, redis: true },
      });
      failReadiness = true;
      try {
        const answer = await ready();
        expect(answer.status).toBe(503);
        expect(answer.json).toEqual({
          status: "not_ready",
          checks: { jwks: true, revocations: true, redis: false },
        });
      } finally {
        failReadiness = false;
      }
      expect((await ready()).status).toBe(200);
    });

    it("refuses with 503 while the revocation list is not current, and recovers on reload", async () => {
      const body = await validBody();
      bus.drop();
      try {
        const answer = await verifier.verify(body);
        expectProblem(answer, 503, "ERR_UNAVAILABLE");
        expect(answer.headers.get("retry-after")).toBe("1");
        expect((await ready()).json).toMatchObject({ checks: { revocations: false } });
        const token = new URLSearchParams({
          token: String(body.authorization).slice(5),
        }).toString();
        const introspection = await exchange(`${verifier.url}/introspect`, {
          headers: {
            authorization: `Bearer ${verifier.apiKey}`,
            "content-type": "application/x-www-form-urlencoded",
          },
          body: token,
        });
        expect(introspection.status).toBe(503);
        expect(introspection.json).toMatchObject({ error: "temporarily_unavailable" });
        expect(introspection.headers.get("retry-after")).toBe("1");
      } finally {
        bus.reload();
      }
      await expect.poll(async () => (await ready()).status).toBe(200);
      // The refused request used up nothing: the same proof is accepted now.
      expect((await verifier.verify(body)).json).toMatchObject({ decision: "allow" });
    });
  });

  describe("GET /metrics", () => {
    it("counts decisions by outcome and reason and times them, in Prometheus text", async () => {
      const body = await validBody();
      expect((await verifier.verify(body)).json.decision).toBe("allow");
      expect((await verifier.verify(body)).json.reason).toBe("dpop_jti_replayed");
      const answer = await exchange(`${verifier.url}/metrics`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const sample = (line: string) => {
        const found = answer.text.split("\n").find((candidate) => candidate.startsWith(`${line} `));
        expect(found, line).toBeDefined();
        return Number(found?.slice(line.length + 1));
      };
      expect(
        sample('agentauth_verifier_decisions_total{outcome="allow",reason="ok"}'),
      ).toBeGreaterThanOrEqual(1);
      expect(
        sample('agentauth_verifier_decisions_total{outcome="deny",reason="dpop_jti_replayed"}'),
      ).toBe(1);
      expect(
        sample('agentauth_verifier_verify_duration_seconds_count{outcome="deny"}'),
      ).toBeGreaterThanOrEqual(1);
      expect(
        sample('agentauth_verifier_verify_duration_seconds_bucket{le="+Inf",outcome="allow"}'),
      ).toBeGreaterThanOrEqual(1);
      expect(sample('agentauth_verifier_token_cache_total{result="hit"}')).toBeGreaterThanOrEqual(
        1,
      );
      expect(sample('agentauth_verifier_jwks_fetches_total{outcome="changed"}')).toBe(1);
      expect(sample("agentauth_verifier_decision_log_buffered")).toBeGreaterThanOrEqual(0);
      expect(answer.text).toContain("agentauth_verifier_process_cpu_user_seconds_total");
    });
  });
});
