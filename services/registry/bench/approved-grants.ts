import { type JsonWebKey, randomBytes } from "node:crypto";
import {
  type BenchAgentKey,
  createNodeDpopKey,
  expectJson,
  type HttpAnswer,
  httpRequest,
  randomLoopbackAddress,
} from "@agentauth/bench-kit";
import { CLIENT_ASSERTION_TYPE, createClientAssertion, createDpopProof } from "@agentauth/core";
import {
  type AuthenticationResponseJSON,
  type CreationOptionsJSON,
  createSoftwareAuthenticator,
  type RequestOptionsJSON,
} from "../test/kit/software-authenticator.js";
import type { BenchRegistry } from "./bench-registry.js";
import { TOKEN_PATH } from "./refresh-request.js";

const CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba";

/** The service provider the benchmarks' grants are for. */
export const BENCH_SERVICE_PROVIDER = "https://payments.bench.example";

/** What the benchmarks' agents ask for unless told otherwise: payments to one merchant. */
export const BENCH_PAYMENT_DETAILS: readonly unknown[] = [
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
];

/** An agent enrolled through the registry's API, with its (node:crypto) key. */
export interface BenchAgent {
  readonly id: string;
  readonly key: BenchAgentKey;
}

/** An approved grant as its agent holds it: what a load process needs to use it. */
export interface BenchGrant {
  readonly agentId: string;
  /** The agent's private key, to sign proofs in another process. */
  readonly privateJwk: JsonWebKey;
  readonly grantId: string;
  readonly refreshToken: string;
  /** The access token of the grant's first token response. */
  readonly accessToken: string;
}

export interface ApproveGrantOptions {
  /** The CIBA request's `authorization_details`; default {@link BENCH_PAYMENT_DETAILS}. */
  readonly authorizationDetails?: readonly unknown[];
  /** Default {@link BENCH_SERVICE_PROVIDER}. */
  readonly serviceProvider?: string;
}

/** The first human of a fresh registry, signed in: what a deployment's people do, over HTTP. */
export interface BenchAdmin {
  /** A JSON POST as the human in a browser: `Origin` header and session cookie. */
  post(path: string, body?: unknown): Promise<HttpAnswer>;
  /** Registers a service provider whose ceiling allows payments to merchant/* up to 500 EUR. */
  createServiceProvider(id?: string): Promise<void>;
  /** A new verifier API key of a service provider: the only time it is shown. */
  createApiKey(serviceProviderId?: string): Promise<string>;
  /** An enrolment code, then the agent's enrolment with a DPoP proof of a new P-256 key. */
  enrolAgent(name: string): Promise<BenchAgent>;
  /**
   * The agent's CIBA request (private_key_jwt), the human's passkey approval, and the agent's
   * token poll (with the DPoP nonce dance) that returns its first access and refresh tokens.
   */
  approveGrant(agent: BenchAgent, options?: ApproveGrantOptions): Promise<BenchGrant>;
}

/**
 * Enrols the first human of a benchmark's fresh registry with a (software) passkey, over real
 * HTTP, with the link its first process printed, and returns them signed in. Everything goes to
 * that first process.
 */
export async function enrolBenchAdmin(registry: BenchRegistry): Promise<BenchAdmin> {
  const { publicUrl } = registry;
  const first = registry.processes[0];
  if (first === undefined) throw new Error("the registry has no process");
  const baseUrl = first.baseUrl;
  const origin = new URL(publicUrl).origin;
  const authenticator = createSoftwareAuthenticator({ rpId: new URL(publicUrl).hostname, origin });
  // Connections from a random loopback address, so the per-IP enrolment limit (shared in Redis)
  // is not spent by an earlier run in the same minute.
  const via = { localAddress: randomLoopbackAddress() };
  let cookie: string | undefined;

  const post = async (path: string, body: unknown = {}): Promise<HttpAnswer> => {
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

  const invitation = new URL(registry.invitationUrl).hash.slice(1);
  const registration = expectJson<{ challenge_id: string; options: CreationOptionsJSON }>(
    await post("/api/webauthn/registration/options", { invitation, display_name: "Bench Admin" }),
    200,
    "registration options",
  );
  expectJson(
    await post("/api/webauthn/registration/verify", {
      challenge_id: registration.challenge_id,
      response: await authenticator.register(registration.options),
    }),
    201,
    "passkey registration",
  );

  const proof = (key: BenchAgentKey, path: string, nonce?: string) =>
    createDpopProof({
      key,
      method: "POST",
      url: `${publicUrl}${path}`,
      now: new Date(),
      jti: randomBytes(18).toString("base64url"),
      ...(nonce === undefined ? {} : { nonce }),
    });

  return {
    post,
    async createServiceProvider(id = BENCH_SERVICE_PROVIDER) {
      expectJson(
        await post("/api/service-providers", {
          id,
          name: "Payments (bench)",
          ceiling: [
            { type: "transact", resource: "merchant/*", max_amount: "500.00", currency: "EUR" },
          ],
        }),
        201,
        "service provider",
      );
    },
    async createApiKey(serviceProviderId = BENCH_SERVICE_PROVIDER) {
      return expectJson<{ key: string }>(
        await post(`/api/service-providers/${encodeURIComponent(serviceProviderId)}/keys`),
        201,
        "service-provider API key",
      ).key;
    },
    async enrolAgent(name) {
      const { code } = expectJson<{ code: string }>(
        await post("/api/agent-enrolment-codes", { name }),
        201,
        "enrolment code",
      );
      const key = createNodeDpopKey();
      const { agent_id: id } = expectJson<{ agent_id: string }>(
        await httpRequest(`${baseUrl}/agents/enroll`, {
          method: "POST",
          headers: { "content-type": "application/json", dpop: await proof(key, "/agents/enroll") },
          body: JSON.stringify({ code }),
          ...via,
        }),
        201,
        "agent enrolment",
      );
      return { id, key };
    },
    async approveGrant(agent, grantOptions = {}) {
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
              key: agent.key,
              clientId: agent.id,
              audience: publicUrl,
              now: new Date(),
              jti: randomBytes(18).toString("base64url"),
            }),
          }).toString(),
          ...via,
        });
      const { auth_req_id: authReqId } = expectJson<{ auth_req_id: string }>(
        await agentForm("/oauth/backchannel", {
          authorization_details: JSON.stringify(
            grantOptions.authorizationDetails ?? BENCH_PAYMENT_DETAILS,
          ),
          resource: grantOptions.serviceProvider ?? BENCH_SERVICE_PROVIDER,
          binding_message: "Bench grant",
        }),
        200,
        "backchannel request",
      );
      const challenge = expectJson<{ challenge_id: string; options: RequestOptionsJSON }>(
        await post(`/api/grant-requests/${authReqId}/approval-challenge`),
        200,
        "approval challenge",
      );
      const assertion: AuthenticationResponseJSON = await authenticator.assert(challenge.options);
      expectJson(
        await post(`/api/grant-requests/${authReqId}/approve`, {
          challenge_id: challenge.challenge_id,
          response: assertion,
        }),
        201,
        "passkey approval",
      );
      const poll = { grant_type: CIBA_GRANT_TYPE, auth_req_id: authReqId };
      const nonceAnswer = await agentForm(TOKEN_PATH, poll, await proof(agent.key, TOKEN_PATH));
      const nonce = nonceAnswer.headers["dpop-nonce"];
      if (typeof nonce !== "string")
        throw new Error(
          `token endpoint: no DPoP-Nonce (${nonceAnswer.status} ${nonceAnswer.text})`,
        );
      const tokens = expectJson<{ access_token: string; refresh_token?: string }>(
        await agentForm(TOKEN_PATH, poll, await proof(agent.key, TOKEN_PATH, nonce)),
        200,
        "first token",
      );
      if (tokens.refresh_token === undefined) throw new Error("first token: no refresh_token");
      return {
        agentId: agent.id,
        privateJwk: agent.key.privateJwk,
        grantId: grantIdOf(tokens.access_token),
        refreshToken: tokens.refresh_token,
        accessToken: tokens.access_token,
      };
    },
  };
}

/** The `grant_id` claim of an access token (read, not verified: the bench issued it). */
function grantIdOf(accessToken: string): string {
  const payload = JSON.parse(
    Buffer.from(accessToken.split(".")[1] ?? "", "base64url").toString("utf8"),
  ) as { grant_id?: unknown };
  if (typeof payload.grant_id !== "string") throw new Error("the access token has no grant_id");
  return payload.grant_id;
}
