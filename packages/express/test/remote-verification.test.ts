import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { allowAnswer } from "../src/answers.test-support.js";
import { createRemoteVerification, type RemoteVerificationOptions } from "../src/index.js";
import {
  type FakeVerifier,
  json,
  startFakeVerifier,
  startSilentServer,
  unusedUrl,
} from "./support/fake-verifier.js";
import {
  rawRequest,
  startServiceProvider,
  type TestServiceProvider,
} from "./support/service-provider.js";

// The remote adapter where no real verifier can take it: a verifier that is gone, hangs, breaks
// or answers nonsense. Whatever happens, the agent gets a 503 (500 when the call itself is
// refused), the route never runs, and the API key appears in nothing.

const API_KEY = `aask_${"A".repeat(11)}_${"s".repeat(43)}`;
const ISSUER = "http://localhost:4000";
const DENIAL = {
  decision: "deny",
  reason: "capability_not_granted",
  message: "The grant does not allow read on reports/q3",
  agent: "agt_1",
  respond: {
    status: 403,
    headers: {
      "WWW-Authenticate": 'DPoP error="insufficient_scope", error_description="no"',
      "DPoP-Nonce": "nonce-1",
      "X-Other": "dropped",
    },
  },
};
const ALLOW = allowAnswer({ remaining: { requests: 4 } });

describe("the remote verification adapter", () => {
  let fake: FakeVerifier;
  const providers: TestServiceProvider[] = [];
  beforeAll(async () => {
    fake = await startFakeVerifier();
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((provider) => provider.close()));
    fake.calls.length = 0;
  });
  afterAll(() => fake?.close());

  async function providerFor(options: Partial<RemoteVerificationOptions> = {}) {
    const provider = await startServiceProvider(
      createRemoteVerification({ verifierUrl: fake.url, apiKey: API_KEY, ...options }),
      ISSUER,
    );
    providers.push(provider);
    return provider;
  }

  const get = async (provider: TestServiceProvider, path = "/v1/reports/q3") => {
    const response = await fetch(`${provider.url}${path}`, {
      headers: { authorization: "DPoP token-text", dpop: "proof-text" },
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  /** The answer the agent gets when no decision was made, and what `onError` heard. */
  function expectFailedClosed(
    answer: Awaited<ReturnType<typeof get>>,
    provider: TestServiceProvider,
    code: string,
    retryAfter = "1",
  ) {
    expect(answer.status, JSON.stringify(answer.body)).toBe(503);
    expect(answer.headers.get("retry-after")).toBe(retryAfter);
    expect(answer.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.body).toMatchObject({
      type: "urn:agentauth:error:verifier-unavailable",
      status: 503,
      code: "ERR_VERIFIER_UNAVAILABLE",
    });
    expect(answer.body.agentAuth).toBeUndefined();
    expect(provider.errors.map((error) => error.code)).toEqual([code]);
    expectNoSecret(provider, answer.body);
  }

  function expectNoSecret(provider: TestServiceProvider, body: unknown) {
    const said = provider.errors.map((error) => inspect(error, { depth: 10 })).join("\n");
    expect(said).not.toContain(API_KEY);
    expect(said).not.toContain("token-text");
    expect(JSON.stringify(body)).not.toContain(API_KEY);
  }

  it("posts the agent's headers, method, absolute URL and action, with the API key", async () => {
    fake.answer = (res) => json(res, 200, DENIAL);
    const provider = await providerFor({ verifierUrl: `${fake.url}/base/` });
    const response = await fetch(`${provider.url}/v1/reports/q3?format=csv`, {
      headers: {
        authorization: "DPoP token-text",
        dpop: "proof-text",
        "x-forwarded-host": "evil.example.com",
        "x-forwarded-proto": "https",
      },
    });
    expect(fake.calls).toHaveLength(1);
    const [call] = fake.calls;
    expect(call?.path).toBe("/base/v1/verify");
    expect(call?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(call?.headers["content-type"]).toBe("application/json");
    expect(call?.body).toEqual({
      authorization: "DPoP token-text",
      dpop: "proof-text",
      method: "GET",
      url: `${provider.url}/v1/reports/q3?format=csv`,
      action: { type: "read", resource: "reports/q3" },
    });
    // The denial as the verifier said, only the headers RFC 9449 / RFC 6750 define.
    expect(response.status).toBe(403);
    expect(response.headers.get("www-authenticate")).toBe(
      'DPoP error="insufficient_scope", error_description="no", resource_metadata="https://payments.example.com/.well-known/oauth-protected-resource"',
    );
    expect(response.headers.get("dpop-nonce")).toBe("nonce-1");
    expect(response.headers.get("x-other")).toBeNull();
    expect(await response.json()).toEqual({
      type: "urn:agentauth:reason:capability-not-granted",
      title: "Forbidden",
      status: 403,
      detail: DENIAL.message,
      reason: "capability_not_granted",
      error: "insufficient_scope",
    });
  });

  it("takes the URL's authority from publicUrl, not from an absolute-form request target", async () => {
    fake.answer = (res) => json(res, 200, DENIAL);
    const provider = await providerFor();
    const { status } = await rawRequest(provider.url, {
      path: "http://evil.example.com/v1/reports/q3",
    });
    expect(status).toBe(403);
    expect(fake.calls[0]?.body.url).toBe(`${provider.url}/v1/reports/q3`);
  });

  it("lets an allowed request through with the verifier's nonce", async () => {
    fake.answer = (res) => json(res, 200, ALLOW);
    const provider = await providerFor();
    const answer = await get(provider);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("dpop-nonce")).toBe("nonce-allow");
    expect(answer.body.agentAuth).toEqual({
      agent: "agt_1",
      grant: "grt_1",
      human: "hum_1",
      tokenId: "at_1",
      capability: { type: "read", resource: "reports/*" },
      action: { type: "read", resource: "reports/q3" },
      remaining: { requests: 4, spend: [] },
    });
  });

  it("fails closed when the verifier is unreachable", async () => {
    const provider = await providerFor({ verifierUrl: await unusedUrl() });
    expectFailedClosed(await get(provider), provider, "ERR_VERIFIER_UNAVAILABLE");
  });

  it("fails closed when the verifier does not answer in time", async () => {
    const silent = await startSilentServer();
    try {
      const provider = await providerFor({ verifierUrl: silent.url, timeoutMs: 150 });
      const started = Date.now();
      const answer = await get(provider);
      expect(Date.now() - started).toBeLessThan(2_000);
      expectFailedClosed(answer, provider, "ERR_VERIFIER_TIMEOUT");
    } finally {
      await silent.close();
    }
  });

  it("fails closed on the verifier's 503, passing its Retry-After on", async () => {
    fake.answer = (res) =>
      json(
        res,
        503,
        { code: "ERR_UNAVAILABLE", detail: "Shared state is unavailable" },
        { "retry-after": "7" },
      );
    const provider = await providerFor();
    expectFailedClosed(await get(provider), provider, "ERR_VERIFIER_UNAVAILABLE", "7");
    // Never asked twice: the verifier may have recorded the proof before failing.
    expect(fake.calls).toHaveLength(1);
    expect(provider.errors[0]?.message).toContain("ERR_UNAVAILABLE: Shared state is unavailable");
    // An HTTP date (or junk) is not delay-seconds: the default second.
    fake.answer = (res) =>
      res.writeHead(503, { "retry-after": "Wed, 21 Oct 2026 07:28:00 GMT" }).end();
    const dated = await providerFor();
    expectFailedClosed(await get(dated), dated, "ERR_VERIFIER_UNAVAILABLE", "1");
  });

  it("fails closed on any 5xx, and on a redirect", async () => {
    fake.answer = (res) => res.writeHead(502).end("bad gateway");
    const broken = await providerFor();
    expectFailedClosed(await get(broken), broken, "ERR_VERIFIER_UNAVAILABLE");
    fake.answer = (res) => res.writeHead(307, { location: "http://evil.example.com/" }).end();
    const redirected = await providerFor();
    expectFailedClosed(await get(redirected), redirected, "ERR_VERIFIER_UNAVAILABLE");
  });

  const notDecisions: ReadonlyArray<
    readonly [string, (res: import("node:http").ServerResponse) => void]
  > = [
    ["not JSON", (res) => res.writeHead(200, { "content-type": "application/json" }).end("{")],
    ["a bare allow", (res) => json(res, 200, { decision: "allow" })],
    ["an allow without its agent", (res) => json(res, 200, { ...ALLOW, agent: undefined })],
    [
      "an allow answered 403",
      (res) => json(res, 200, { ...ALLOW, respond: { status: 403, headers: {} } }),
    ],
    [
      "a denial answered 200",
      (res) => json(res, 200, { ...DENIAL, respond: { status: 200, headers: {} } }),
    ],
    ["an unknown decision", (res) => json(res, 200, { ...ALLOW, decision: "maybe" })],
    ["a 204", (res) => res.writeHead(204).end()],
    ["an enormous answer", (res) => json(res, 200, { ...ALLOW, message: "x".repeat(100_000) })],
  ];
  it.each(notDecisions)(
    "fails closed on an answer that is not a decision: %s",
    async (_name, answer) => {
      fake.answer = answer;
      const provider = await providerFor();
      expectFailedClosed(await get(provider), provider, "ERR_VERIFIER_INVALID_ANSWER");
    },
  );

  it("answers 500 when the verifier refuses the call itself, without retrying", async () => {
    fake.answer = (res) =>
      json(res, 400, { code: "ERR_INVALID_REQUEST", detail: "action.resource: Too small" });
    const provider = await providerFor();
    const answer = await get(provider);
    expect(answer.status).toBe(500);
    expect(answer.headers.get("retry-after")).toBeNull();
    expect(answer.body).toMatchObject({ code: "ERR_VERIFIER_REJECTED", status: 500 });
    expect(provider.errors[0]?.message).toContain("400 ERR_INVALID_REQUEST: action.resource");
    expect(fake.calls).toHaveLength(1);
    expectNoSecret(provider, answer.body);
  });

  describe("options, checked once", () => {
    const valid: RemoteVerificationOptions = {
      verifierUrl: "http://verifier:4100",
      apiKey: API_KEY,
    };
    it.each([
      ["a verifier URL that is not http(s)", { verifierUrl: "ftp://verifier" }, "verifierUrl"],
      ["a verifier URL with a query", { verifierUrl: "http://verifier/?a=1" }, "verifierUrl"],
      ["an API key that is not one", { apiKey: `${API_KEY}x` }, "apiKey"],
      ["a timeout of 0", { timeoutMs: 0 }, "timeoutMs"],
      ["a fractional timeout", { timeoutMs: 1.5 }, "timeoutMs"],
    ])("refuses %s with a TypeError naming it", (_name, override, field) => {
      const build = () => createRemoteVerification({ ...valid, ...override });
      expect(build).toThrow(TypeError);
      expect(build).toThrow(new RegExp(`^createRemoteVerification: invalid options \\(${field}: `));
      try {
        build();
      } catch (error) {
        expect(String((error as Error).message)).not.toContain(API_KEY.slice(17));
      }
    });

    it("keeps the API key out of the adapter's inspectable state", () => {
      expect(
        inspect(createRemoteVerification(valid), { depth: 10, showHidden: true }),
      ).not.toContain(API_KEY);
    });
  });
});
