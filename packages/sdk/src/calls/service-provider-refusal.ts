import { AgentAuthSdkError, type StepUp } from "../errors.js";
import type { ErrorBody } from "../http/error-body.js";
import { parseRetryAfter } from "../http/retry-after.js";
import { safeText } from "../http/safe-text.js";
import {
  type AuthChallenge,
  findTokenChallenge,
  parseWwwAuthenticate,
} from "../http/www-authenticate.js";

/**
 * How a service provider refused a call, read from its answer as RFC 6750 §3 and RFC 9449 §7.1
 * describe it (`401`/`403` with `WWW-Authenticate: DPoP error="…"`, `DPoP-Nonce`), RFC 9470's
 * `insufficient_user_authentication`, `429` with `Retry-After`, and the verifier's `reason`
 * passed on in an RFC 9457 body (docs/verifier.md, `respond`).
 */
export interface Refusal {
  /** What to throw when the call cannot be repeated. */
  readonly error: AgentAuthSdkError;
  /**
   * What one repetition could fix: a proof with the nonce just given (`use_dpop_nonce`), or a
   * renewed access token (`invalid_token`).
   */
  readonly remedy?: "nonce" | "token";
}

/** Whether the answer may be a refusal worth reading the body of (before {@link readRefusal}). */
export function mayBeRefusal(response: Response): boolean {
  if (response.status === 429) return true;
  if (response.status !== 401 && response.status !== 403) return false;
  return (
    findTokenChallenge(parseWwwAuthenticate(response.headers.get("WWW-Authenticate"))) !== undefined
  );
}

/**
 * The refusal in `response` (whose body is `body`), or `undefined` for an answer that is the
 * service provider's own business (a 403 without an AgentAuth challenge, say).
 */
export function readRefusal(
  response: Response,
  body: ErrorBody,
  context: { serviceProvider: string; now: Date },
): Refusal | undefined {
  const challenge = findTokenChallenge(
    parseWwwAuthenticate(response.headers.get("WWW-Authenticate")),
  );
  const retryAfterSeconds = parseRetryAfter(response.headers.get("Retry-After"), context.now);
  const error = challenge?.params.get("error");
  const base = {
    status: response.status,
    serviceProvider: context.serviceProvider,
    ...(error === undefined ? {} : { oauthError: error }),
    ...(body.reason === undefined ? {} : { reason: body.reason }),
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
  const said = describe(challenge, body);
  const refuse = (
    code: AgentAuthSdkError["code"],
    message: string,
    extra: { remedy?: "nonce" | "token"; stepUp?: StepUp } = {},
  ): Refusal => {
    const { remedy, ...details } = extra;
    return {
      error: new AgentAuthSdkError(code, `${message}${said}`, { ...base, ...details }),
      ...(remedy === undefined ? {} : { remedy }),
    };
  };

  if (response.status === 429) {
    return refuse("ERR_RATE_LIMITED", `${context.serviceProvider} is rate-limiting this agent`);
  }
  if (challenge === undefined) return undefined;
  // RFC 9470 answers 401 insufficient_user_authentication; the verifier, 403 insufficient_scope
  // with the reason step_up_required.
  if (
    error === "insufficient_user_authentication" ||
    (response.status === 403 &&
      error === "insufficient_scope" &&
      body.reason === "step_up_required")
  ) {
    return refuse(
      "ERR_STEP_UP_REQUIRED",
      `${context.serviceProvider} needs a fresh approval by the human for this request`,
      { stepUp: body.stepUp ?? {} },
    );
  }
  if (response.status === 401) {
    switch (error) {
      case "use_dpop_nonce":
        return refuse(
          "ERR_NONCE_REJECTED",
          `${context.serviceProvider} refused the DPoP nonce again after a retry with a fresh one`,
          { remedy: "nonce" },
        );
      case "invalid_dpop_proof":
        return refuse("ERR_DPOP_REJECTED", `${context.serviceProvider} refused the DPoP proof`);
      default:
        // invalid_token, or no error code at all (RFC 6750 §3.1: no credentials seen).
        return refuse("ERR_TOKEN_REJECTED", `${context.serviceProvider} refused the access token`, {
          remedy: "token",
        });
    }
  }
  if (response.status === 403 && error === "insufficient_scope") {
    return refuse(
      "ERR_INSUFFICIENT_CAPABILITY",
      `The grant for ${context.serviceProvider} does not allow this request`,
    );
  }
  return undefined;
}

/** `: <what the server said>`, or nothing. */
function describe(challenge: AuthChallenge | undefined, body: ErrorBody): string {
  const text =
    body.detail ??
    body.errorDescription ??
    safeText(challenge?.params.get("error_description")) ??
    body.title;
  return text === undefined ? "" : `: ${text}`;
}
