import { AgentAuthSdkError, type AgentAuthSdkErrorOptions, type SdkErrorCode } from "../errors.js";
import { parseErrorBody } from "../http/error-body.js";
import type { HttpAnswer } from "../http/http-client.js";
import { parseRetryAfter } from "../http/retry-after.js";

/** OAuth error codes (RFC 6749 §5.2, CIBA §11, RFC 9449, RFC 9396, RFC 8707) → SDK codes. */
const OAUTH_ERRORS: Readonly<Record<string, SdkErrorCode>> = {
  access_denied: "ERR_ACCESS_DENIED",
  expired_token: "ERR_REQUEST_EXPIRED",
  invalid_grant: "ERR_GRANT_INVALID",
  invalid_client: "ERR_CLIENT_REJECTED",
  unauthorized_client: "ERR_CLIENT_REJECTED",
  invalid_dpop_proof: "ERR_DPOP_REJECTED",
  use_dpop_nonce: "ERR_NONCE_REJECTED",
  temporarily_unavailable: "ERR_UNAVAILABLE",
  invalid_request: "ERR_REQUEST_INVALID",
  invalid_scope: "ERR_REQUEST_INVALID",
  invalid_target: "ERR_REQUEST_INVALID",
  invalid_authorization_details: "ERR_REQUEST_INVALID",
  invalid_binding_message: "ERR_REQUEST_INVALID",
  unsupported_grant_type: "ERR_REQUEST_INVALID",
};

/** The registry's RFC 9457 problem codes (non-OAuth endpoints such as enrolment) → SDK codes. */
const PROBLEM_CODES: Readonly<Record<string, SdkErrorCode>> = {
  ERR_ENROLMENT_CODE_INVALID: "ERR_ENROLMENT_CODE_INVALID",
  ERR_CONFLICT: "ERR_ALREADY_ENROLLED",
  ERR_INVALID_CLIENT: "ERR_CLIENT_REJECTED",
  ERR_VALIDATION: "ERR_REQUEST_INVALID",
  ERR_INVALID_REQUEST: "ERR_REQUEST_INVALID",
  ERR_INVALID_DPOP_PROOF: "ERR_DPOP_REJECTED",
  ERR_USE_DPOP_NONCE: "ERR_NONCE_REJECTED",
  ERR_UNAVAILABLE: "ERR_UNAVAILABLE",
};

/**
 * The coded error for a registry answer that is not a success: by its OAuth `error` (or problem
 * `code`), else by its status (429 → `ERR_RATE_LIMITED`, 5xx → `ERR_UNAVAILABLE`), else
 * `ERR_PROTOCOL`. The message is `what` and the registry's description, made safe to show.
 */
export function registryError(
  answer: HttpAnswer,
  what: string,
  now: Date,
  extra: AgentAuthSdkErrorOptions = {},
): AgentAuthSdkError {
  const body = parseErrorBody(answer.text, answer.headers.get("Content-Type"));
  const retryAfterSeconds = parseRetryAfter(answer.headers.get("Retry-After"), now);
  const code: SdkErrorCode =
    answer.status === 429
      ? "ERR_RATE_LIMITED"
      : ((body.error === undefined ? undefined : OAUTH_ERRORS[body.error]) ??
        (body.code === undefined ? undefined : PROBLEM_CODES[body.code]) ??
        (answer.status >= 500 ? "ERR_UNAVAILABLE" : "ERR_PROTOCOL"));
  const description = body.errorDescription ?? body.detail ?? body.title;
  return new AgentAuthSdkError(
    code,
    `${what}: ${description ?? `the registry answered HTTP ${answer.status}`}`,
    {
      status: answer.status,
      ...(body.error === undefined ? {} : { oauthError: body.error }),
      ...(code === "ERR_ACCESS_DENIED" && description !== undefined
        ? { denialReason: description }
        : {}),
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      ...extra,
    },
  );
}
