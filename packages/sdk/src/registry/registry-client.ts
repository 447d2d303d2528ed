import {
  type AuthorizationDetails,
  CLIENT_ASSERTION_TYPE,
  createClientAssertion,
  createDpopProof,
  type DpopKey,
  parseAuthorizationDetails,
} from "@agentauth/core";
import { AgentAuthSdkError } from "../errors.js";
import { httpUrl, parseErrorBody } from "../http/error-body.js";
import { type HttpAnswer, type HttpDeps, sendRequest } from "../http/http-client.js";
import { isCredentialUrl } from "../http/secure-url.js";
import { assertAgentId } from "../keys/key-store.js";
import { randomJti } from "../random.js";
import { registryError } from "./registry-errors.js";

/** The registry endpoints the SDK uses, from its RFC 8414 metadata. */
interface RegistryMetadata {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly backchannelEndpoint: string;
  readonly revocationEndpoint: string;
}

/** A successful token answer (RFC 6749 §5.1, RFC 9449 §5, RFC 8693 §2.2.1). */
export interface TokenAnswer {
  readonly accessToken: string;
  /** Seconds the access token lives. */
  readonly expiresIn: number;
  readonly refreshToken: string | undefined;
  readonly authorization: AuthorizationDetails;
}

/** What a token request can come back with, short of an error. */
export type TokenResult =
  | { readonly kind: "token"; readonly token: TokenAnswer }
  | { readonly kind: "pending"; readonly slowDown: boolean };

/** The CIBA backchannel answer (CIBA §7.3, plus AgentAuth's `approval_uri`). */
export interface BackchannelAnswer {
  readonly authReqId: string;
  readonly expiresIn: number;
  readonly interval: number;
  readonly userCode: string;
  readonly approvalUri: string;
}

export interface RegistryClientDeps {
  readonly http: HttpDeps;
  /** The registry's issuer identifier, as configured. */
  readonly registryUrl: string;
  /** The agent's current key: it signs every proof and client assertion. */
  key(): DpopKey;
  /** Its RFC 7638 thumbprint. */
  jkt(): string;
  /** The enrolled agent id, for client authentication. */
  agentId(): string | undefined;
}

export interface TokenRequestOptions {
  readonly signal?: AbortSignal | undefined;
  /** Whether repeating the request is harmless (polls and refreshes; not token exchange). */
  readonly retry: boolean;
  /** What the request is, for error messages. */
  readonly what: string;
  readonly requestId?: string;
  readonly serviceProvider?: string;
}

/** The agent's side of the registry's endpoints: enrolment, CIBA, token, revocation. */
export interface RegistryClient {
  enroll(code: string, signal?: AbortSignal): Promise<{ agentId: string }>;
  requestGrant(
    form: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<BackchannelAnswer>;
  token(form: Readonly<Record<string, string>>, options: TokenRequestOptions): Promise<TokenResult>;
  /** RFC 7009 revocation of one of the agent's tokens; repeating it is harmless. */
  revoke(
    token: string,
    hint: "access_token" | "refresh_token",
    signal?: AbortSignal,
  ): Promise<void>;
  /**
   * Replaces the agent's key at the registry with `next` (`POST /agents/rotate-key`: a proof by
   * the current key, and one by `next` for the same request). Never repeated: once the registry
   * swapped the key, a second try fails (`ERR_CLIENT_REJECTED`).
   */
  rotateKey(next: DpopKey, nextJkt: string, signal?: AbortSignal): Promise<void>;
  /**
   * Resolves if `key` authenticates as the agent at the registry: an RFC 7009 revocation of a
   * token that was never issued (answered 200 once the client is authenticated), its client
   * assertion signed by `key`; `ERR_CLIENT_REJECTED` if it does not.
   */
  proveKey(key: DpopKey, signal?: AbortSignal): Promise<void>;
}

const FORM = "application/x-www-form-urlencoded";

export function createRegistryClient(deps: RegistryClientDeps): RegistryClient {
  const { http } = deps;
  let metadata: Promise<RegistryMetadata> | undefined;

  const discover = (signal: AbortSignal | undefined): Promise<RegistryMetadata> => {
    metadata ??= fetchMetadata(deps, signal).catch((error: unknown) => {
      metadata = undefined;
      throw error;
    });
    return metadata;
  };

  const proof = (url: string, key = deps.key()) =>
    createDpopProof({
      key,
      method: "POST",
      url,
      now: http.clock.now(),
      jti: randomJti(),
      ...nonceFor(http, url),
    });

  const clientAuthentication = async (issuer: string, key: DpopKey) => {
    const clientId = deps.agentId();
    if (clientId === undefined) {
      throw new AgentAuthSdkError("ERR_NOT_ENROLLED", "Enrol the agent first: agent.enroll(code)");
    }
    return {
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await createClientAssertion({
        key,
        clientId,
        audience: issuer,
        now: http.clock.now(),
        jti: randomJti(),
      }),
    };
  };

  /** A form POST with client authentication (fresh for every attempt) and, if asked, DPoP. */
  const postForm = async (
    url: string,
    issuer: string,
    form: Readonly<Record<string, string>>,
    options: {
      signal?: AbortSignal | undefined;
      retry: boolean;
      dpop: boolean;
      /** Who signs the client assertion; the current key by default. */
      key?: DpopKey;
    },
  ): Promise<HttpAnswer> =>
    sendRequest(
      http,
      async (signal) => {
        const headers = new Headers({ Accept: "application/json", "Content-Type": FORM });
        if (options.dpop) headers.set("DPoP", await proof(url));
        const key = options.key ?? deps.key();
        const body = new URLSearchParams({ ...form, ...(await clientAuthentication(issuer, key)) });
        return new Request(url, { method: "POST", headers, body, signal, redirect: "error" });
      },
      { signal: options.signal, retry: options.retry },
    );

  /**
   * A JSON POST to one of the registry's agent endpoints, with a proof by the current key (each
   * attempt's `body` made afresh: it may hold proofs too). Never repeated: neither is idempotent.
   */
  const postJson = (url: string, body: () => Promise<unknown>, signal: AbortSignal | undefined) =>
    sendRequest(
      http,
      async (attemptSignal) =>
        new Request(url, {
          method: "POST",
          headers: {
            Accept: "application/json",
            "Content-Type": "application/json",
            DPoP: await proof(url),
          },
          body: JSON.stringify(await body()),
          signal: attemptSignal,
          redirect: "error",
        }),
      { signal, retry: false },
    );

  /**
   * RFC 9449 §8: a missing or stale nonce is answered `use_dpop_nonce` (or, off the OAuth
   * endpoints, `ERR_USE_DPOP_NONCE`) with a fresh `DPoP-Nonce`, which the next proof carries.
   * Exactly one such retry, never a loop.
   */
  const withNonceRetry = async (
    url: string,
    send: () => Promise<HttpAnswer>,
  ): Promise<HttpAnswer> => {
    const answer = await send();
    if (!asksForNonce(answer)) return answer;
    http.logger?.debug({ url }, "agentauth: retrying with the DPoP nonce");
    return send();
  };

  /** RFC 7009, the client assertion signed by `key`: 200 whether or not the token was valid. */
  const revokeAs = async (
    key: DpopKey,
    token: string,
    hint: "access_token" | "refresh_token",
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<void> => {
    const { issuer, revocationEndpoint } = await discover(signal);
    const answer = await postForm(
      revocationEndpoint,
      issuer,
      { token, token_type_hint: hint },
      { signal, retry: true, dpop: false, key },
    );
    if (answer.status !== 200) throw registryError(answer, what, http.clock.now());
  };

  return {
    async enroll(code, signal) {
      const url = `${trimSlash(deps.registryUrl)}/agents/enroll`;
      // The code is single-use, so a second try after a lost answer would fail.
      const answer = await postJson(url, async () => ({ code }), signal);
      if (answer.status !== 201) throw registryError(answer, "Enrolment failed", http.clock.now());
      const body = parseJson(answer, "enrolment");
      const agentId = body.agent_id;
      try {
        assertAgentId(agentId);
      } catch {
        throw protocolError(answer, "The enrolment answer has no valid agent_id");
      }
      if (body.jkt !== undefined && body.jkt !== deps.jkt()) {
        throw protocolError(answer, "The registry enrolled another key than this agent's");
      }
      return { agentId };
    },

    async requestGrant(form, signal) {
      const { issuer, backchannelEndpoint } = await discover(signal);
      // Safe to repeat: the registry answers an identical pending request with the same id.
      const answer = await postForm(backchannelEndpoint, issuer, form, {
        signal,
        retry: true,
        dpop: false,
      });
      if (answer.status !== 200) {
        throw registryError(answer, "The grant request was refused", http.clock.now(), {
          serviceProvider: form.resource,
        });
      }
      return parseBackchannelAnswer(answer);
    },

    async token(form, options) {
      const { issuer, tokenEndpoint } = await discover(options.signal);
      const context = {
        ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
        ...(options.serviceProvider === undefined
          ? {}
          : { serviceProvider: options.serviceProvider }),
      };
      const answer = await withNonceRetry(tokenEndpoint, () =>
        postForm(tokenEndpoint, issuer, form, {
          signal: options.signal,
          retry: options.retry,
          dpop: true,
        }),
      );
      if (answer.status === 200) return { kind: "token", token: parseTokenAnswer(answer) };
      const { error } = parseErrorBody(answer.text, answer.headers.get("Content-Type"));
      if (error === "authorization_pending") return { kind: "pending", slowDown: false };
      if (error === "slow_down") return { kind: "pending", slowDown: true };
      throw registryError(answer, options.what, http.clock.now(), context);
    },

    revoke: (token, hint, signal) =>
      revokeAs(deps.key(), token, hint, signal, "Revoking the token failed"),

    async rotateKey(next, nextJkt, signal) {
      const agentId = deps.agentId();
      if (agentId === undefined) {
        throw new AgentAuthSdkError(
          "ERR_NOT_ENROLLED",
          "Enrol the agent first: agent.enroll(code)",
        );
      }
      const url = `${trimSlash(deps.registryUrl)}/agents/rotate-key`;
      const answer = await withNonceRetry(url, () =>
        postJson(url, async () => ({ new_key_proof: await proof(url, next) }), signal),
      );
      if (answer.status !== 200) {
        throw registryError(answer, "The key rotation was refused", http.clock.now());
      }
      const body = parseJson(answer, "key rotation");
      if (body.agent_id !== agentId || body.jkt !== nextJkt) {
        throw protocolError(
          answer,
          "The registry's key rotation answer is for another agent or key",
        );
      }
    },

    // A random value no token has: nothing is revoked, only the client is authenticated.
    proveKey: (key, signal) =>
      revokeAs(
        key,
        `never-issued-${randomJti()}`,
        "refresh_token",
        signal,
        "The registry did not accept the next key",
      ),
  };
}

async function fetchMetadata(
  deps: RegistryClientDeps,
  signal: AbortSignal | undefined,
): Promise<RegistryMetadata> {
  const configured = new URL(deps.registryUrl);
  // RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path.
  const path = configured.pathname === "/" ? "" : trimSlash(configured.pathname);
  const url = `${configured.origin}/.well-known/oauth-authorization-server${path}`;
  const answer = await sendRequest(
    deps.http,
    async (attemptSignal) =>
      new Request(url, {
        headers: { Accept: "application/json" },
        signal: attemptSignal,
        redirect: "error",
      }),
    { signal, retry: true },
  );
  if (answer.status !== 200) {
    throw registryError(answer, "Could not read the registry's metadata", deps.http.clock.now());
  }
  const body = parseJson(answer, "metadata");
  // RFC 8414 §3.3: the metadata must be for the issuer that was asked for.
  if (typeof body.issuer !== "string" || trimSlash(body.issuer) !== trimSlash(deps.registryUrl)) {
    throw protocolError(
      answer,
      `The registry's metadata is for another issuer than ${deps.registryUrl}`,
    );
  }
  const endpoint = (name: string): string => {
    const value = body[name];
    if (!isCredentialUrl(value)) {
      throw protocolError(answer, `The registry's metadata has no usable ${name}`);
    }
    return value;
  };
  return {
    issuer: body.issuer,
    tokenEndpoint: endpoint("token_endpoint"),
    backchannelEndpoint: endpoint("backchannel_authentication_endpoint"),
    revocationEndpoint: endpoint("revocation_endpoint"),
  };
}

function parseBackchannelAnswer(answer: HttpAnswer): BackchannelAnswer {
  const body = parseJson(answer, "grant request");
  const { auth_req_id, expires_in, interval, user_code, approval_uri } = body;
  if (
    typeof auth_req_id !== "string" ||
    auth_req_id === "" ||
    !isSeconds(expires_in) ||
    (interval !== undefined && !isSeconds(interval)) ||
    typeof user_code !== "string" ||
    httpUrl(approval_uri) === undefined
  ) {
    throw protocolError(
      answer,
      "The grant request answer is not a CIBA answer with an approval_uri",
    );
  }
  return {
    authReqId: auth_req_id,
    expiresIn: expires_in,
    // CIBA §7.3: without `interval` the client waits 5 s.
    interval: interval === undefined ? 5 : interval,
    userCode: user_code,
    approvalUri: approval_uri as string,
  };
}

function parseTokenAnswer(answer: HttpAnswer): TokenAnswer {
  const body = parseJson(answer, "token");
  const { access_token, token_type, expires_in, refresh_token, authorization_details } = body;
  if (
    typeof access_token !== "string" ||
    !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(access_token) ||
    typeof token_type !== "string" ||
    token_type.toLowerCase() !== "dpop" ||
    !isSeconds(expires_in) ||
    expires_in === 0 ||
    (refresh_token !== undefined && typeof refresh_token !== "string")
  ) {
    throw protocolError(answer, "The token answer is not a DPoP-bound access token");
  }
  let authorization: AuthorizationDetails;
  try {
    authorization = parseAuthorizationDetails(authorization_details);
  } catch (cause) {
    throw protocolError(answer, "The token answer's authorization_details do not parse", cause);
  }
  return {
    accessToken: access_token,
    expiresIn: expires_in,
    refreshToken: refresh_token,
    authorization,
  };
}

function parseJson(answer: HttpAnswer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(answer.text);
  } catch {
    value = undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw protocolError(answer, `The registry's ${what} answer is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function protocolError(answer: HttpAnswer, message: string, cause?: unknown): AgentAuthSdkError {
  return new AgentAuthSdkError("ERR_PROTOCOL", message, { status: answer.status, cause });
}

function isSeconds(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 1e9;
}

function trimSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}

function nonceFor(http: HttpDeps, url: string): { nonce?: string } {
  const nonce = http.nonces.get(url);
  return nonce === undefined ? {} : { nonce };
}

function asksForNonce(answer: HttpAnswer): boolean {
  if (answer.status < 400 || !answer.headers.has("DPoP-Nonce")) return false;
  const { error, code } = parseErrorBody(answer.text, answer.headers.get("Content-Type"));
  return error === "use_dpop_nonce" || code === "ERR_USE_DPOP_NONCE";
}
