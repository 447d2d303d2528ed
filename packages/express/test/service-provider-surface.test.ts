import { enrolAgent, obtainToken, PAYMENTS, type TestAgent } from "@agentauth/registry/testing";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRemoteVerification } from "../src/index.js";
import { remoteMode } from "./support/modes.js";
import { startTestPlatform, type TestPlatform } from "./support/platform.js";
import {
  agentCaller,
  rawRequest,
  type ServiceProviderOptions,
  startServiceProvider,
  type TestServiceProvider,
} from "./support/service-provider.js";

// What does not depend on where decisions come from: which URL a request is checked against,
// the RFC 9728 metadata and the challenges an independent OAuth client reads, and what happens
// when the verifier refuses the provider's own API key — against the real registry and verifier.

const read = [{ type: "read", resource: "reports/*" }];
/** oauth4webapi refuses plain http unless told; the providers under test listen on http. */
const insecure = { [oauth.allowInsecureRequests]: true } as const;

let platform: TestPlatform;
let agent: TestAgent;
const providers: TestServiceProvider[] = [];

beforeAll(async () => {
  platform = await startTestPlatform();
  agent = await enrolAgent(platform.test);
});
afterAll(async () => {
  await Promise.all(providers.map((provider) => provider.close()));
  await platform?.close();
});

async function provider(options: ServiceProviderOptions = {}) {
  const started = await startServiceProvider(
    await remoteMode.create(platform),
    platform.issuer,
    options,
  );
  providers.push(started);
  return started;
}

/** A fresh read grant's token, and a caller that has learnt the nonce from `at`. */
async function readerAt(at: TestServiceProvider, headers: Record<string, string> = {}) {
  const token = await obtainToken(platform.test, agent, { requestDetails: read });
  const caller = agentCaller(at, agent, token.accessToken);
  await caller.call("/v1/reports/q3", { headers });
  expect(caller.nonce).toBeDefined();
  return { token, caller };
}

describe("the URL a request is checked against", () => {
  it("is publicUrl and the path: a Host or X-Forwarded-Host the agent sends changes nothing", async () => {
    const sp = await provider();
    const { caller, token } = await readerAt(sp);
    const spoofed = {
      authorization: `DPoP ${token.accessToken}`,
      host: "evil.example.com",
      "x-forwarded-host": "evil.example.com",
      "x-forwarded-proto": "http",
    };
    const url = `${sp.url}/v1/reports/q3`;
    const forEvil = await rawRequest(url, {
      headers: {
        ...spoofed,
        dpop: await caller.proof("GET", "http://evil.example.com/v1/reports/q3"),
      },
    });
    expect(forEvil.status).toBe(401);
    expect(forEvil.body.reason).toBe("dpop_htu_mismatch");
    const forUs = await rawRequest(url, {
      headers: { ...spoofed, dpop: await caller.proof("GET", url) },
    });
    expect(forUs.status, JSON.stringify(forUs.body)).toBe(200);
  });

  it("keeps publicUrl's path prefix, for a proxy that strips it", async () => {
    const sp = await provider({ publicUrl: "https://payments.example.com/pay/" });
    const { caller } = await readerAt(sp);
    const answer = await caller.call("/v1/reports/q3", {
      proofUrl: "https://payments.example.com/pay/v1/reports/q3",
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  });

  it("comes from X-Forwarded-Proto and X-Forwarded-Host only when told to trust them", async () => {
    const sp = await provider({ trustForwardedHeaders: true });
    const proxied = {
      "x-forwarded-proto": "https",
      // The client's own value first, then the one our proxy appended: the last one counts.
      "x-forwarded-host": "evil.example.com, payments.example.com",
    };
    const { caller } = await readerAt(sp, proxied);
    const answer = await caller.call("/v1/reports/q3", {
      headers: proxied,
      proofUrl: "https://payments.example.com/v1/reports/q3",
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);

    const direct = await caller.call("/v1/reports/q3");
    expect(direct.status).toBe(400);
    expect(direct.body).toMatchObject({ code: "ERR_REQUEST_URL_UNKNOWN", status: 400 });
    const junk = await caller.call("/v1/reports/q3", {
      headers: { "x-forwarded-proto": "https", "x-forwarded-host": "evil.example.com/x" },
    });
    expect(junk.status).toBe(400);
  });
});

describe("RFC 9728 protected-resource metadata", () => {
  it("is what the verifier says for this provider, with its name", async () => {
    const sp = await provider();
    const served = await fetch(`${sp.url}/.well-known/oauth-protected-resource`);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toMatch(/^application\/json/);
    expect(served.headers.get("access-control-allow-origin")).toBe("*");
    expect(served.headers.get("cache-control")).toBe("public, max-age=300");
    const fromVerifier = await fetch(`${platform.verifierUrl}/v1/protected-resource-metadata`, {
      headers: { authorization: `Bearer ${platform.apiKey}` },
    });
    expect(fromVerifier.status).toBe(200);
    expect(await served.json()).toEqual({
      ...((await fromVerifier.json()) as object),
      resource_name: "Payments",
    });
    expect(sp.agentAuth.metadata).toMatchObject({
      resource: PAYMENTS,
      authorization_servers: [platform.issuer],
      dpop_bound_access_tokens_required: true,
    });
    const head = await fetch(`${sp.url}/.well-known/oauth-protected-resource`, { method: "HEAD" });
    expect(head.status).toBe(200);
    const post = await fetch(`${sp.url}/.well-known/oauth-protected-resource`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("is accepted by oauth4webapi's RFC 9728 discovery for the provider's resource id", async () => {
    const sp = await provider();
    // The resource id is https://payments.example.com; route its requests to the provider.
    const toProvider = (url: string, options: oauth.CustomFetchOptions<"GET">) =>
      fetch(url.replace(PAYMENTS, sp.url), options);
    const response = await oauth.resourceDiscoveryRequest(new URL(PAYMENTS), {
      [oauth.customFetch]: toProvider,
    });
    const metadata = await oauth.processResourceDiscoveryResponse(new URL(PAYMENTS), response);
    expect(metadata.resource).toBe(PAYMENTS);
    expect(metadata.authorization_servers).toEqual([platform.issuer]);
    expect(metadata.dpop_bound_access_tokens_required).toBe(true);
  });

  it("is named in every challenge, as oauth4webapi reads it", async () => {
    const sp = await provider();
    const { token } = await readerAt(sp);
    // oauth4webapi without a DPoP handle sends the token as a bearer token: refused.
    const refused = await oauth
      .protectedResourceRequest(
        token.accessToken,
        "GET",
        new URL(`${sp.url}/v1/reports/q3`),
        undefined,
        undefined,
        insecure,
      )
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    const [challenge] = (refused as oauth.WWWAuthenticateChallengeError).cause;
    expect(challenge?.scheme).toBe("dpop");
    expect(challenge?.parameters).toMatchObject({
      algs: "ES256 EdDSA Ed25519",
      resource_metadata: `${PAYMENTS}/.well-known/oauth-protected-resource`,
    });
  });
});

describe("the provider's own API key", () => {
  it("refused by the verifier (unknown or revoked): 500, never the route, never the key", async () => {
    const created = await platform.test.admin
      .post(`/api/service-providers/${encodeURIComponent(PAYMENTS)}/keys`)
      .expect(201);
    await platform.test.admin
      .delete(`/api/service-providers/${encodeURIComponent(PAYMENTS)}/keys/${created.body.id}`)
      .expect(204);
    const unknown = `aask_${"B".repeat(11)}_${"t".repeat(43)}`;
    for (const apiKey of [created.body.key as string, unknown]) {
      const sp = await startServiceProvider(
        createRemoteVerification({ verifierUrl: platform.verifierUrl, apiKey }),
        platform.issuer,
      );
      providers.push(sp);
      const caller = agentCaller(sp, agent, "token-text");
      const answer = await caller.call("/v1/reports/q3");
      expect(answer.status).toBe(500);
      expect(answer.body).toMatchObject({ code: "ERR_VERIFIER_REJECTED", status: 500 });
      expect(answer.body.agentAuth).toBeUndefined();
      expect(sp.errors.map((error) => error.code)).toEqual(["ERR_VERIFIER_REJECTED"]);
      expect(sp.errors[0]?.message).toMatch(/refused the API key/);
      expect(JSON.stringify([answer.body, sp.errors[0]?.message])).not.toContain(apiKey);
    }
  });
});
