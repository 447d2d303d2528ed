/**
 * Why the middleware could not get a decision, or could not use one. None is ever the agent's
 * fault except `ERR_INVALID_ACTION` and `ERR_REQUEST_URL_UNKNOWN`; none is ever an allow.
 */
export const ERROR_CODES = [
  /** The verifier could not be reached, answered 5xx, or its shared state is down. */
  "ERR_VERIFIER_UNAVAILABLE",
  /** The verifier did not answer within `timeoutMs`. */
  "ERR_VERIFIER_TIMEOUT",
  /** The verifier answered something that is not a decision. */
  "ERR_VERIFIER_INVALID_ANSWER",
  /** The verifier refused the call itself: a wrong or revoked API key, or a refused body. */
  "ERR_VERIFIER_REJECTED",
  /** The action the route computed from the request cannot be checked (empty resource, …). */
  "ERR_INVALID_ACTION",
  /** `trustForwardedHeaders` is on and the request lacks usable `X-Forwarded-*` headers. */
  "ERR_REQUEST_URL_UNKNOWN",
  /** A second `requireCapability` on a request already verified (its proof is used up). */
  "ERR_ALREADY_VERIFIED",
  /** `getAgentAuth` on a request no `requireCapability` allowed. */
  "ERR_NOT_VERIFIED",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AgentAuthExpressErrorOptions {
  readonly cause?: unknown;
  /** Seconds after which asking again may work (from the verifier's `Retry-After`). */
  readonly retryAfterSeconds?: number;
}

/** The one error type of `@agentauth/express`. Messages never contain a token or an API key. */
export class AgentAuthExpressError extends Error {
  override readonly name = "AgentAuthExpressError";
  readonly code: ErrorCode;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: AgentAuthExpressErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Whether `value` is an {@link AgentAuthExpressError} (optionally with `code`). */
export function isAgentAuthExpressError(
  value: unknown,
  code?: ErrorCode,
): value is AgentAuthExpressError {
  return value instanceof AgentAuthExpressError && (code === undefined || value.code === code);
}
