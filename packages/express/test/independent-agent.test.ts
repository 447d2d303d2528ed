import {
  approve,
  enrolAgent,
  PAYMENTS,
  type TestAgent,
  uniqueBindingMessage,
} from "@agentauth/registry/testing";
import * as dpop from "dpop";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modes } from "./support/modes.js";
import { backends, startTestPlatform, type TestPlatform } from "./support/platform.js";
import { startServiceProvider, type TestServiceProvider } from "./support/service-provider.js";

// Interop: the agent is not ours. Its key pair is panva's `dpop` package's, every DPoP proof it
// sends (enrolment, token endpoint, service provider) is made by `dpop` or by oauth4webapi, and
// it gets its token with oauth4webapi's CIBA client; an Express app guarded by requireCapability
// must treat it as any agent — in each verification mode.

/** oauth4webapi refuses plain http unless told; the test registry listens on http://localhost. */
const http = { [oauth.allowInsecureRequests]: true } as const;
const READS = [{ type: "read", resource: "reports/*" }];

let platform: TestPlatform;
let keyPair: dpop.KeyPair;
let agent: TestAgent;
let as: oauth.AuthorizationServer;
let client: oauth.Client;
let clientAuth: oauth.ClientAuth;

beforeAll(async () => {
  platform = await startTestPlatform();
  keyPair = await dpop.generateKeyPair("ES256");
  // Enrolled by the kit, with the dpop package's key pair and the dpop package's proof.
  agent = await enrolAgent(platform.test, platform.test.admin, {
    name: "dpop package bot",
    keyPair,
    createProof: ({ url, method, nonce, accessToken }) =>
      dpop.generateProof(keyPair, url, method, nonce, accessToken),
  });
  const issuer = new URL(platform.issuer);
  as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...http }),
  );
  client = { client_id: agent.id as string };
  clientAuth = oauth.PrivateKeyJwt(keyPair.privateKey);
});
afterAll(() => platform?.close());

/**
 * What an oauth4webapi client does for a token: a CIBA request, a poll (retried once on
 * `use_dpop_nonce`, as oauth4webapi documents) once the human approved with a passkey.
 */
async function obtainTokenWithOauth4webapi(DPoP: oauth.DPoPHandle): Promise<string> {
  const started = await oauth.processBackchannelAuthenticationResponse(
    as,
    client,
    await oauth.backchannelAuthenticationRequest(
      as,
      client,
      clientAuth,
      {
        authorization_details: JSON.stringify(READS),
        resource: PAYMENTS,
        binding_message: uniqueBindingMessage(),
      },
      http,
    ),
  );
  const approved = await approve(platform.test.admin, started.auth_req_id);
  expect(approved.status, JSON.stringify(approved.body)).toBe(201);
  const poll = async () =>
    oauth.processBackchannelAuthenticationGrantResponse(
      as,
      client,
      await oauth.backchannelAuthenticationGrantRequest(
        as,
        client,
        clientAuth,
        started.auth_req_id,
        { DPoP, ...http },
      ),
    );
  let nonceErrors = 0;
  let token: oauth.TokenEndpointResponse;
  try {
    token = await poll();
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    nonceErrors += 1;
    token = await poll();
  }
  // The token endpoint asks for its nonce first: the retry carried oauth4webapi's own proof.
  expect(nonceErrors).toBe(1);
  expect(token.token_type).toBe("dpop");
  return token.access_token;
}

/** One request to the provider with `proof`, as a plain HTTP client sends it. */
async function send(url: string, accessToken: string, proof: string) {
  const response = await fetch(url, {
    headers: { authorization: `DPoP ${accessToken}`, dpop: proof },
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}

describe.each(modes)("an agent made of panva's dpop and oauth4webapi, with the $name", (mode) => {
  let provider: TestServiceProvider;
  let accessToken: string;
  let url: string;

  beforeAll(async () => {
    provider = await startServiceProvider(await mode.create(platform), platform.issuer);
    accessToken = await obtainTokenWithOauth4webapi(oauth.DPoP(client, keyPair));
    url = `${provider.url}/v1/reports/q3`;
  });
  afterAll(() => provider?.close());

  /** The nonce the provider hands out in its 401 use_dpop_nonce to a proof without one. */
  async function nonce(): Promise<string> {
    const proof = await dpop.generateProof(keyPair, url, "GET", undefined, accessToken);
    const answer = await send(url, accessToken, proof);
    expect(answer.body.reason).toBe("dpop_nonce_required");
    return answer.headers.get("dpop-nonce") as string;
  }

  it(`holds a token bound to the dpop package's key (${backends.database}, ${backends.state})`, async () => {
    const jkt = await dpop.calculateThumbprint(keyPair.publicKey);
    expect(agent.jkt).toBe(jkt);
    const claims = JSON.parse(Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString());
    expect(claims).toMatchObject({ iss: platform.issuer, aud: PAYMENTS, sub: agent.id });
    expect(claims.cnf).toEqual({ jkt });
  });

  it("is asked for a nonce (401 use_dpop_nonce + DPoP-Nonce), then allowed with the dpop package's proof", async () => {
    const first = await send(
      url,
      accessToken,
      await dpop.generateProof(keyPair, url, "GET", undefined, accessToken),
    );
    expect(first.status, JSON.stringify(first.body)).toBe(401);
    expect(first.body.reason).toBe("dpop_nonce_required");
    expect(first.headers.get("www-authenticate")).toMatch(/^DPoP error="use_dpop_nonce"/);
    const nonce = first.headers.get("dpop-nonce");
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{20,}$/);

    const retry = await send(
      url,
      accessToken,
      await dpop.generateProof(keyPair, url, "GET", nonce as string, accessToken),
    );
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    expect(retry.body.agentAuth).toMatchObject({
      agent: agent.id,
      action: { type: "read", resource: "reports/q3" },
      capability: { type: "read", resource: "reports/*" },
    });
    expect(provider.errors).toEqual([]);
  });

  it("refuses the dpop package's proof sent a second time: 401 invalid_dpop_proof", async () => {
    const current = await nonce();
    const proof = await dpop.generateProof(keyPair, url, "GET", current, accessToken);
    const first = await send(url, accessToken, proof);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const replayed = await send(url, accessToken, proof);
    expect(replayed.status).toBe(401);
    expect(replayed.body.reason).toBe("dpop_jti_replayed");
    expect(replayed.headers.get("www-authenticate")).toMatch(/^DPoP error="invalid_dpop_proof"/);
    // A fresh proof of the same key is still welcome.
    const fresh = await send(
      url,
      accessToken,
      await dpop.generateProof(keyPair, url, "GET", current, accessToken),
    );
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
  });

  it("refuses the dpop package's proof of another key: 401 invalid_dpop_proof", async () => {
    const thief = await dpop.generateKeyPair("ES256");
    const stolen = await send(
      url,
      accessToken,
      await dpop.generateProof(thief, url, "GET", await nonce(), accessToken),
    );
    expect(stolen.status).toBe(401);
    expect(stolen.body.reason).toBe("dpop_jkt_mismatch");
  });

  it("lets oauth4webapi's protectedResourceRequest through, after its own nonce retry", async () => {
    const DPoP = oauth.DPoP(client, keyPair);
    const call = () =>
      oauth.protectedResourceRequest(accessToken, "GET", new URL(url), undefined, undefined, {
        DPoP,
        ...http,
      });
    // oauth4webapi rejects a WWW-Authenticate challenge; its nonce one says: retry.
    const challenge = await call().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(oauth.isDPoPNonceError(challenge), String(challenge)).toBe(true);
    const response = await call();
    expect(response.status).toBe(200);
    expect(((await response.json()) as Record<string, unknown>).agentAuth).toMatchObject({
      agent: agent.id,
      action: { type: "read", resource: "reports/q3" },
    });
  });
});
