import { createDpopProof, type DpopKey } from "@agentauth/core";
import { AgentAuthSdkError, isAgentAuthSdkError } from "../errors.js";
import { parseErrorBody } from "../http/error-body.js";
import { type HttpDeps, openRequest } from "../http/http-client.js";
import { loggableUrl } from "../logger.js";
import { randomJti } from "../random.js";
import { mayBeRefusal, readRefusal } from "./service-provider-refusal.js";

/** Where a call's access token comes from: the agent's grant, or a per-task token. */
export interface CallTokenSource {
  readonly serviceProvider: string;
  token(signal: AbortSignal | undefined): Promise<string>;
  /** A new token after the service provider refused `rejected`; absent when none can be had. */
  renew?(rejected: string, signal: AbortSignal | undefined): Promise<string>;
}

export interface DpopFetchDeps {
  readonly http: HttpDeps;
  readonly key: DpopKey;
}

/**
 * `fetch` with the agent's credentials: `Authorization: DPoP <token>` and a fresh proof (with
 * `ath`, and the origin's latest nonce) on every attempt. A refusal is repeated at most once
 * for each remedy — a `use_dpop_nonce` with the nonce it came with, an `invalid_token` with a
 * renewed token — so a server that keeps refusing never makes it loop; any other refusal
 * (step-up, capability, rate) throws its coded error at once. Nothing else is ever repeated:
 * the request may not be idempotent. Redirects are not followed unless `init.redirect` says
 * so, since the proof is for this URL only.
 */
export async function dpopFetch(
  deps: DpopFetchDeps,
  source: CallTokenSource,
  input: RequestInfo | URL,
  init: RequestInit | undefined,
): Promise<Response> {
  const base = new Request(input, { ...init, redirect: init?.redirect ?? "manual" });
  const signal = base.signal;
  const { serviceProvider } = source;
  let token = await source.token(signal);
  let nonceRetried = false;
  let tokenRenewed = false;
  for (;;) {
    const open = await openRequest(
      deps.http,
      async (attemptSignal) => {
        const nonce = deps.http.nonces.get(base.url);
        const headers = new Headers(base.headers);
        headers.set("Authorization", `DPoP ${token}`);
        headers.set(
          "DPoP",
          await createDpopProof({
            key: deps.key,
            method: base.method,
            url: base.url,
            now: deps.http.clock.now(),
            jti: randomJti(),
            accessToken: token,
            ...(nonce === undefined ? {} : { nonce }),
          }),
        );
        return new Request(base.clone(), { headers, signal: attemptSignal });
      },
      signal,
    );
    const { response } = open;
    if (!mayBeRefusal(response)) {
      open.release();
      return response;
    }
    const text = await open.readText(response.clone());
    const refusal = readRefusal(
      response,
      parseErrorBody(text, response.headers.get("Content-Type")),
      { serviceProvider, now: deps.http.clock.now() },
    );
    if (refusal === undefined) return response;
    await response.body?.cancel().catch(() => {});
    const log = { serviceProvider, url: loggableUrl(base.url), status: response.status };
    if (refusal.remedy === "nonce" && !nonceRetried && response.headers.has("DPoP-Nonce")) {
      nonceRetried = true;
      deps.http.logger?.debug(log, "agentauth: retrying once with the service provider's nonce");
      continue;
    }
    if (refusal.remedy === "token" && !tokenRenewed && source.renew !== undefined) {
      tokenRenewed = true;
      deps.http.logger?.debug(log, "agentauth: access token refused; retrying once with a new one");
      token = await renewed(source.renew(token, signal), refusal.error);
      continue;
    }
    throw refusal.error;
  }
}

/** The renewed token; a failure to renew carries the service provider's reason for refusing. */
async function renewed(renewal: Promise<string>, refused: AgentAuthSdkError): Promise<string> {
  try {
    return await renewal;
  } catch (error) {
    if (!isAgentAuthSdkError(error) || refused.reason === undefined) throw error;
    throw new AgentAuthSdkError(error.code, `${error.message} (${refused.message})`, {
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.oauthError === undefined ? {} : { oauthError: error.oauthError }),
      ...(error.serviceProvider === undefined ? {} : { serviceProvider: error.serviceProvider }),
      reason: refused.reason,
      cause: error,
    });
  }
}
