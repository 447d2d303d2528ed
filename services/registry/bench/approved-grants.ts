import { randomBytes } from "node:crypto";
import { CLIENT_ASSERTION_TYPE, createClientAssertion, createDpopProof } from "@agentauth/core";
import {
  type AuthenticationResponseJSON,
  type CreationOptionsJSON,
  createSoftwareAuthenticator,
  type RequestOptionsJSON,
} from "../test/kit/software-authenticator.js";
import { expectJson, type HttpAnswer, httpRequest } from "./http-request.js";
import type { BenchAgent } from "./load-protocol.js";
import { createNodeDpopKey } from "./node-dpop-key.js";

const CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba";
const SERVICE_PROVIDER = "https://payments.bench.example";

export interface CreateApprovedGrantsOptions {
  /** Where the registry listens, e.g. `http://127.0.0.1:41234`. */
  readonly baseUrl: string;
  /** Its `PUBLIC_URL`: issuer, WebAuthn origin, the `htu` of DPoP proofs. */
  readonly publicUrl: string;
  /** The first-human enrolment link the registry printed at its first start. */
  readonly invitationUrl: string;
  readonly agents: number;
  /** Source address of the setup's connections (per-IP enrolment limits count by it). */
  readonly localAddress?: string;
}

/**
 * Does over real HTTP what a deployment's people and agents do, to reach approved grants:
 * enrols the first human with a (software) passkey, creates a service provider, then for each
 * agent: an enrolment code, enrolment with a DPoP proof of a new P-256 key, a CIBA request
 * (private_key_jwt), the human's passkey approval, and the agent's token poll (with the DPoP
 * nonce dance) that returns its first access token and its refresh token.
 */
export async function createApprovedGrants(
  options: CreateApprovedGrantsOptions,
): Promise<BenchAgent[]> {
  const { baseUrl, publicUrl } = options;
  const origin = new URL(publicUrl).origin;
  const authenticator = createSoftwareAuthenticator({
    rpId: new URL(publicUrl).hostname,
    origin,
  });
  const via = options.localAddress === undefined ? {} : { localAddress: options.localAddress };
  let cookie: string | undefined;

  // The human, in a browser: JSON with the Origin header and the session cookie.
  const human = async (path: string, body: unknown): Promise<HttpAnswer> => {
    const answer = await httpRequest(`${baseUrl}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        origin,
        ...(cookie === undefined ? {} : { cookie }),
      },
      body: JSON.stringify(body),
      ...via,
    });
    const setCookie = answer.headers["set-cookie"]?.find((value) =>
      value.startsWith("agentauth_session="),
    );
    if (setCookie !== undefined) cookie = setCookie.split(";")[0];
    return answer;
  };

  const invitation = new URL(options.invitationUrl).hash.slice(1);
  const registration = expectJson<{ challenge_id: string; options: CreationOptionsJSON }>(
    await human("/api/webauthn/registration/options", {
      invitation,
      display_name: "Bench Admin",
    }),
    200,
    "registration options",
  );
  expectJson(
    await human("/api/webauthn/registration/verify", {
      challenge_id: registration.challenge_id,
      response: await authenticator.register(registration.options),
    }),
    201,
    "passkey registration",
  );
  expectJson(
    await human("/api/service-providers", {
      id: SERVICE_PROVIDER,
      name: "Payments (bench)",
      ceiling: [
        { type: "transact", resource: "merchant/*", max_amount: "500.00", currency: "EUR" },
      ],
    }),
    201,
    "service provider",
  );

  const agents: BenchAgent[] = [];
  for (let i = 0; i < options.agents; i++) {
    const { code } = expectJson<{ code: string }>(
      await human("/api/agent-enrolment-codes", { name: `bench agent ${i}` }),
      201,
      "enrolment code",
    );
    const key = createNodeDpopKey();
    const proof = (path: string, nonce?: string) =>
      createDpopProof({
        key,
        method: "POST",
        url: `${publicUrl}${path}`,
        now: new Date(),
        jti: randomBytes(18).toString("base64url"),
        ...(nonce === undefined ? {} : { nonce }),
      });
    const { agent_id: agentId } = expectJson<{ agent_id: string }>(
      await httpRequest(`${baseUrl}/agents/enroll`, {
        method: "POST",
        headers: { "content-type": "application/json", dpop: await proof("/agents/enroll") },
        body: JSON.stringify({ code }),
        ...via,
      }),
      201,
      "agent enrolment",
    );
    // The agent, as a stock OAuth client: form posts with a private_key_jwt assertion.
    const agentForm = async (path: string, form: Record<string, string>, dpop?: string) =>
      httpRequest(`${baseUrl}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          ...(dpop === undefined ? {} : { dpop }),
        },
        body: new URLSearchParams({
          ...form,
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: await createClientAssertion({
            key,
            clientId: agentId,
            audience: publicUrl,
            now: new Date(),
            jti: randomBytes(18).toString("base64url"),
          }),
        }).toString(),
        ...via,
      });
    const { auth_req_id: authReqId } = expectJson<{ auth_req_id: string }>(
      await agentForm("/oauth/backchannel", {
        authorization_details: JSON.stringify([
          { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
        ]),
        resource: SERVICE_PROVIDER,
        binding_message: `Bench grant ${i}`,
      }),
      200,
      "backchannel request",
    );
    const challenge = expectJson<{ challenge_id: string; options: RequestOptionsJSON }>(
      await human(`/api/grant-requests/${authReqId}/approval-challenge`, {}),
      200,
      "approval challenge",
    );
    const assertion: AuthenticationResponseJSON = await authenticator.assert(challenge.options);
    expectJson(
      await human(`/api/grant-requests/${authReqId}/approve`, {
        challenge_id: challenge.challenge_id,
        response: assertion,
      }),
      201,
      "passkey approval",
    );
    const poll = { grant_type: CIBA_GRANT_TYPE, auth_req_id: authReqId };
    const nonceAnswer = await agentForm("/oauth/token", poll, await proof("/oauth/token"));
    const nonce = nonceAnswer.headers["dpop-nonce"];
    if (typeof nonce !== "string")
      throw new Error(`token endpoint: no DPoP-Nonce (${nonceAnswer.status} ${nonceAnswer.text})`);
    const tokens = expectJson<{ refresh_token?: string }>(
      await agentForm("/oauth/token", poll, await proof("/oauth/token", nonce)),
      200,
      "first token",
    );
    if (tokens.refresh_token === undefined) throw new Error("first token: no refresh_token");
    agents.push({ id: agentId, privateJwk: key.privateJwk, refreshToken: tokens.refresh_token });
  }
  return agents;
}
