import { randomBytes } from "node:crypto";
import { httpRequest, type LoadRequest } from "@agentauth/bench-kit";
import {
  CLIENT_ASSERTION_TYPE,
  createClientAssertion,
  createDpopProof,
  type DpopKey,
} from "@agentauth/core";

export const TOKEN_PATH = "/oauth/token";

/** An agent that holds a grant's refresh token. */
export interface RefreshingAgent {
  readonly id: string;
  readonly key: DpopKey;
  readonly refreshToken: string;
}

/**
 * A refresh-token request as a stock client sends it — private_key_jwt and a fresh DPoP proof
 * (with the server's nonce) — ready to send to `POST /oauth/token`.
 */
export async function prepareRefreshRequest(
  agent: RefreshingAgent,
  publicUrl: string,
  nonce: string | undefined,
): Promise<LoadRequest> {
  const now = new Date();
  const [assertion, dpop] = await Promise.all([
    createClientAssertion({
      key: agent.key,
      clientId: agent.id,
      audience: publicUrl,
      now,
      jti: randomBytes(18).toString("base64url"),
    }),
    createDpopProof({
      key: agent.key,
      method: "POST",
      url: `${publicUrl}${TOKEN_PATH}`,
      now,
      jti: randomBytes(18).toString("base64url"),
      ...(nonce === undefined ? {} : { nonce }),
    }),
  ]);
  const body = new URLSearchParams({
    grant_type: "refresh_token",
    refresh_token: agent.refreshToken,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
  }).toString();
  return {
    method: "POST",
    path: TOKEN_PATH,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "content-length": Buffer.byteLength(body),
      dpop,
    },
    body,
  };
}

/**
 * The token endpoint's current `DPoP-Nonce`, asked for the way a client learns it: a request
 * without one, answered `use_dpop_nonce`. On a connection of its own: a pooled one would idle
 * through a pre-generation and could meet the server's keep-alive timeout just as a run reuses it.
 */
export async function learnTokenEndpointNonce(
  baseUrl: string,
  publicUrl: string,
  agent: RefreshingAgent,
): Promise<string> {
  const first = await prepareRefreshRequest(agent, publicUrl, undefined);
  const answer = await httpRequest(`${baseUrl}${TOKEN_PATH}`, {
    method: first.method,
    headers: first.headers,
    ...(first.body === undefined ? {} : { body: first.body }),
  });
  const nonce = answer.headers["dpop-nonce"];
  if (typeof nonce !== "string")
    throw new Error(`The token endpoint sent no DPoP-Nonce: ${answer.status} ${answer.text}`);
  return nonce;
}
