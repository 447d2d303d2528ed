import type { Money } from "@agentauth/core";

/**
 * Every failure the SDK reports is an {@link AgentAuthSdkError} with one of these codes; bad
 * options (a programmer error) throw `TypeError` instead. docs/sdk.md says what to do about each.
 */
export const SDK_ERROR_CODES = [
  // Enrolment
  "ERR_NOT_ENROLLED",
  "ERR_ALREADY_ENROLLED",
  "ERR_ENROLMENT_CODE_INVALID",
  // Grant requests and approval
  "ERR_ACCESS_DENIED",
  "ERR_REQUEST_EXPIRED",
  "ERR_REQUEST_INVALID",
  // Tokens
  "ERR_NO_GRANT",
  "ERR_GRANT_AMBIGUOUS",
  "ERR_GRANT_INVALID",
  "ERR_CLIENT_REJECTED",
  // Calls to service providers
  "ERR_TOKEN_REJECTED",
  "ERR_DPOP_REJECTED",
  "ERR_NONCE_REJECTED",
  "ERR_INSUFFICIENT_CAPABILITY",
  "ERR_STEP_UP_REQUIRED",
  "ERR_RATE_LIMITED",
  // Per-task tokens
  "ERR_TASK_REVOKED",
  "ERR_TASK_EXPIRED",
  // Transport
  "ERR_UNAVAILABLE",
  "ERR_TIMEOUT",
  "ERR_ABORTED",
  "ERR_PROTOCOL",
  // Local storage
  "ERR_KEY_STORE",
  "ERR_GRANT_STORAGE",
] as const;

export type SdkErrorCode = (typeof SDK_ERROR_CODES)[number];

/**
 * A step-up: the request needs a fresh approval by the human — a new grant that covers it,
 * asked for with `agent.requestGrant`. Each member is there when the service provider said it.
 */
export interface StepUp {
  /** Amounts strictly above this need the fresh approval (the envelope's `step_up_above`). */
  readonly above?: Money;
  /** The action that was refused, as the service provider checked it (`{type, resource, amount}`). */
  readonly action?: Readonly<Record<string, unknown>>;
  /** The registry to ask (its issuer identifier). */
  readonly authorizationServer?: string;
  /** Its CIBA backchannel endpoint. */
  readonly approvalEndpoint?: string;
}

/** Machine-readable context of an {@link AgentAuthSdkError}; never a token, key or proof. */
export interface SdkErrorDetails {
  /** The HTTP status of the answer that caused the error. */
  readonly status?: number;
  /** The OAuth / RFC 6750 error code the server sent (`access_denied`, `invalid_token`…). */
  readonly oauthError?: string;
  /** The verifier's reason, when the service provider passed it on (`token_revoked`…). */
  readonly reason?: string;
  /** The service provider the call or token was for. */
  readonly serviceProvider?: string;
  /** For `ERR_ACCESS_DENIED`: the reason the human gave, as the registry passed it on. */
  readonly denialReason?: string;
  /** The CIBA `auth_req_id` of the grant request concerned. */
  readonly requestId?: string;
  /** Seconds to wait before trying again (`Retry-After`). */
  readonly retryAfterSeconds?: number;
  /** For `ERR_STEP_UP_REQUIRED`: what the service provider said is needed next. */
  readonly stepUp?: StepUp;
  /** For `ERR_KEY_STORE` and `ERR_GRANT_STORAGE`: the key or grant file concerned. */
  readonly path?: string;
}

export interface AgentAuthSdkErrorOptions extends SdkErrorDetails {
  readonly cause?: unknown;
}

/** The one coded error type of `@agentauth/sdk`. */
export class AgentAuthSdkError extends Error implements SdkErrorDetails {
  override readonly name = "AgentAuthSdkError";
  readonly code: SdkErrorCode;
  declare readonly status?: number;
  declare readonly oauthError?: string;
  declare readonly reason?: string;
  declare readonly serviceProvider?: string;
  declare readonly denialReason?: string;
  declare readonly requestId?: string;
  declare readonly retryAfterSeconds?: number;
  declare readonly stepUp?: StepUp;
  declare readonly path?: string;

  constructor(code: SdkErrorCode, message: string, options: AgentAuthSdkErrorOptions = {}) {
    const { cause, ...details } = options;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    // Only what is known: an error for a denied request has no `retryAfterSeconds` at all.
    for (const [key, value] of Object.entries(details)) {
      if (value !== undefined) Object.assign(this, { [key]: value });
    }
  }
}

/** Narrowing helper: `isAgentAuthSdkError(error, "ERR_STEP_UP_REQUIRED")`. */
export function isAgentAuthSdkError(
  error: unknown,
  code?: SdkErrorCode,
): error is AgentAuthSdkError {
  return error instanceof AgentAuthSdkError && (code === undefined || error.code === code);
}
