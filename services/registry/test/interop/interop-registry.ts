import {
  computeJwkThumbprint,
  createDpopProof,
  createWebCryptoDpopKey,
  encodeBase64Url,
} from "@agentauth/core";
import type { Kysely } from "kysely";
import * as oauth from "oauth4webapi";
import request from "supertest";
import type { Database } from "../../src/db/database.js";
import { createTestAgent } from "../kit/agent-client.js";
import {
  startTestRegistryServer,
  type TestRegistryServer,
} from "../support/test-registry-server.js";

/**
 * The registry listening on a real socket whose URL is its issuer, so a stock client that only
 * knows the issuer (discovery, `jwks_uri`, `htu`, client assertion `aud`) can reach every endpoint.
 */
export interface InteropRegistry extends TestRegistryServer {
  /** `http://localhost:<port>`: the issuer identifier and the base of every endpoint. */
  readonly issuer: string;
}

/** The kit's registry on a real socket (see `startTestRegistryServer`), on `db`. */
export async function startInteropRegistry(db: Kysely<Database>): Promise<InteropRegistry> {
  const test = await startTestRegistryServer({ db });
  return { ...test, issuer: test.url };
}

/** An agent as an agent developer holds it: its id and its WebCrypto P-256 key pair. */
export interface InteropAgent {
  readonly id: string;
  readonly keyPair: CryptoKeyPair;
  /** RFC 7638 thumbprint of the public key, as the registry computed it at enrolment. */
  readonly jkt: string;
}

/**
 * Enrols a fresh agent of the admin over the socket: a WebCrypto key pair (private key not
 * extractable), an enrolment code from the human, and `POST /agents/enroll` carrying a DPoP
 * proof of that key, the way the kit's `enrolAgent` does.
 */
export async function enrolInteropAgent(
  test: InteropRegistry,
  name = "interop bot",
): Promise<InteropAgent> {
  const { body } = await test.admin.post("/api/agent-enrolment-codes", { name }).expect(201);
  const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ]);
  const key = await createWebCryptoDpopKey(keyPair);
  const url = `${test.issuer}/agents/enroll`;
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      dpop: await createDpopProof({
        key,
        method: "POST",
        url,
        now: test.clock.now(),
        jti: encodeBase64Url(crypto.getRandomValues(new Uint8Array(24))),
      }),
    },
    body: JSON.stringify({ code: body.code }),
  });
  const enrolled = (await response.json()) as { agent_id: string; jkt: string };
  if (response.status !== 201) {
    throw new Error(`Enrolment failed: ${response.status} ${JSON.stringify(enrolled)}`);
  }
  const jkt = await computeJwkThumbprint(key.publicJwk);
  if (enrolled.jkt !== jkt) throw new Error("The registry enrolled another key thumbprint");
  return { id: enrolled.agent_id, keyPair, jkt };
}

/** The human's side: asks for the approval challenge of the request as is, signs it, approves. */
export async function approveAsRequested(
  test: InteropRegistry,
  authReqId: string,
): Promise<{ grantId: string }> {
  const challenge = await test.admin
    .post(`/api/grant-requests/${authReqId}/approval-challenge`, {})
    .expect(200);
  const response = await test.admin.authenticator.assert(challenge.body.options);
  const approved = await test.admin
    .post(`/api/grant-requests/${authReqId}/approve`, {
      challenge_id: challenge.body.challenge_id,
      response,
    })
    .expect(201);
  return { grantId: approved.body.id as string };
}

/** RFC 9396 details every interop test asks for: a payment capability and its envelope. */
export const REQUESTED_DETAILS = [
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  { type: "envelope", spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }] },
];

/**
 * A token for `resource` obtained the way our own kit does it (not through the library under
 * test), so a test of one library does not depend on another: enrol, request, approve, redeem.
 */
export async function issueTokenWithKit(
  test: InteropRegistry,
  resource: string,
): Promise<{ accessToken: string; agentId: string; jkt: string }> {
  const { body } = await test.admin
    .post("/api/agent-enrolment-codes", { name: "kit bot" })
    .expect(201);
  const agent = await createTestAgent(test.registry.app, test.issuer, test.clock);
  const enrolled = await request(test.registry.app)
    .post("/agents/enroll")
    .set("DPoP", await agent.proof("POST", "/agents/enroll"))
    .send({ code: body.code })
    .expect(201);
  agent.id = enrolled.body.agent_id as string;
  const asked = await agent.postForm(
    "/oauth/backchannel",
    { authorization_details: JSON.stringify(REQUESTED_DETAILS), resource },
    { dpop: false },
  );
  if (asked.status !== 200) throw new Error(`Backchannel request failed: ${asked.text}`);
  await approveAsRequested(test, asked.body.auth_req_id as string);
  const form = { grant_type: CIBA_GRANT_TYPE, auth_req_id: asked.body.auth_req_id as string };
  let granted = await agent.postForm("/oauth/token", form);
  if (granted.body.error === "use_dpop_nonce") granted = await agent.postForm("/oauth/token", form);
  if (granted.status !== 200) throw new Error(`Token request failed: ${granted.text}`);
  return { accessToken: granted.body.access_token as string, agentId: agent.id, jkt: agent.jkt };
}

export const CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba";

/** oauth4webapi refuses plain http unless told; the test registry listens on http://localhost. */
export const http = { [oauth.allowInsecureRequests]: true } as const;

/** The authorization server as oauth4webapi discovers it from our RFC 8414 metadata. */
export async function discoverAuthorizationServer(
  test: InteropRegistry,
): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(test.issuer);
  return oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...http }),
  );
}
