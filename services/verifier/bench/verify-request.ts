import { randomBytes } from "node:crypto";
import { httpRequest, type LoadRequest } from "@agentauth/bench-kit";
import { createDpopProof, type DpopKey } from "@agentauth/core";
import { BENCH_SERVICE_PROVIDER } from "@agentauth/registry/bench";

export const VERIFY_PATH = "/v1/verify";

/** The agent request the service provider asks about: a 1.00 EUR payment to a merchant. */
export const PAYMENT_URL = `${BENCH_SERVICE_PROVIDER}/v1/payments`;
const PAYMENT_ACTION = {
  type: "transact",
  resource: "merchant/acme",
  amount: { amount: "1.00", currency: "EUR" },
};

/**
 * What a service provider sends `POST /v1/verify` for one agent request: the agent's token and
 * a fresh DPoP proof of it (`ath`, the verifier's nonce), the request's method and URL, the action.
 */
export async function prepareVerifyRequest(options: {
  readonly apiKey: string;
  readonly key: DpopKey;
  readonly accessToken: string;
  readonly nonce: string | undefined;
}): Promise<LoadRequest> {
  const dpop = await createDpopProof({
    key: options.key,
    method: "POST",
    url: PAYMENT_URL,
    now: new Date(),
    jti: randomBytes(18).toString("base64url"),
    accessToken: options.accessToken,
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
  });
  const body = JSON.stringify({
    authorization: `DPoP ${options.accessToken}`,
    dpop,
    method: "POST",
    url: PAYMENT_URL,
    action: PAYMENT_ACTION,
  });
  return {
    method: "POST",
    path: VERIFY_PATH,
    headers: {
      authorization: `Bearer ${options.apiKey}`,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    },
    body,
  };
}

/** The verifier's answer to one request: its decision, reason and the headers to pass back. */
export interface VerifyOutcome {
  readonly decision: string;
  readonly reason: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Reads a `POST /v1/verify` answer; throws, quoting it, when it is not a decision. */
export function readVerifyAnswer(status: number, text: string): VerifyOutcome {
  const body =
    status === 200
      ? (JSON.parse(text) as {
          decision?: unknown;
          reason?: unknown;
          respond?: { headers?: Record<string, string> };
        })
      : {};
  if (typeof body.decision !== "string" || typeof body.reason !== "string")
    throw new Error(`${VERIFY_PATH} answered ${status}: ${text}`);
  return { decision: body.decision, reason: body.reason, headers: body.respond?.headers ?? {} };
}

const ALLOW_PREFIX = Buffer.from('{"decision":"allow"');

/**
 * Why a `POST /v1/verify` answer is not an allow (a benchmark of denials would measure nothing),
 * or `undefined`. The answer's JSON starts with its decision, so its first bytes are enough.
 */
export function notAnAllowAnswer(status: number, body: Buffer): string | undefined {
  return status === 200 &&
    body.length >= ALLOW_PREFIX.length &&
    ALLOW_PREFIX.compare(body, 0, ALLOW_PREFIX.length) === 0
    ? undefined
    : `${VERIFY_PATH} answered ${status} and not an allow: ${body.toString("utf8", 0, 500)}`;
}

/**
 * The verifier's current `DPoP-Nonce`, learnt as an agent learns it: a request without one is
 * answered `dpop_nonce_required` with the nonce to use.
 */
export async function learnVerifierNonce(options: {
  readonly target: string;
  readonly apiKey: string;
  readonly key: DpopKey;
  readonly accessToken: string;
}): Promise<string> {
  const request = await prepareVerifyRequest({ ...options, nonce: undefined });
  const answer = await httpRequest(`${options.target}${VERIFY_PATH}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const outcome = readVerifyAnswer(answer.status, answer.text);
  const nonce = outcome.headers["DPoP-Nonce"];
  if (outcome.reason !== "dpop_nonce_required" || nonce === undefined)
    throw new Error(`the verifier did not ask for a nonce: ${answer.text}`);
  return nonce;
}
