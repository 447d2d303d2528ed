/**
 * Every failure core reports to a caller about *input* (a proof, a token, a capability, an
 * envelope) is an {@link AgentAuthError} with one of these stable codes. Programmer errors (bad
 * options) throw `TypeError` instead.
 */
export const ERROR_CODES = [
  // Generic input
  "ERR_JSON_NOT_CANONICALIZABLE",
  "ERR_JWS_MALFORMED",
  "ERR_JWK_INVALID",
  "ERR_JWK_PRIVATE",
  // Capabilities, envelopes, grants
  "ERR_CAPABILITY_INVALID",
  "ERR_ENVELOPE_INVALID",
  "ERR_GRANT_WIDENED",
  // DPoP proofs (RFC 9449 §4.3)
  "ERR_DPOP_MISSING",
  "ERR_DPOP_MULTIPLE",
  "ERR_DPOP_MALFORMED",
  "ERR_DPOP_TYP_INVALID",
  "ERR_DPOP_ALG_NOT_ALLOWED",
  "ERR_DPOP_JWK_INVALID",
  "ERR_DPOP_JWK_PRIVATE",
  "ERR_DPOP_CLAIMS_INVALID",
  "ERR_DPOP_SIGNATURE_INVALID",
  "ERR_DPOP_HTM_MISMATCH",
  "ERR_DPOP_HTU_MISMATCH",
  "ERR_DPOP_IAT_OUT_OF_WINDOW",
  "ERR_DPOP_JTI_INVALID",
  "ERR_DPOP_JTI_REPLAYED",
  "ERR_DPOP_NONCE_REQUIRED",
  "ERR_DPOP_NONCE_INVALID",
  "ERR_DPOP_ATH_MISSING",
  "ERR_DPOP_ATH_MISMATCH",
  "ERR_DPOP_JKT_MISMATCH",
  // Access tokens (RFC 9068)
  "ERR_TOKEN_MALFORMED",
  "ERR_TOKEN_TYP_INVALID",
  "ERR_TOKEN_ALG_NOT_ALLOWED",
  "ERR_TOKEN_KID_UNKNOWN",
  "ERR_TOKEN_SIGNATURE_INVALID",
  "ERR_TOKEN_ISSUER_MISMATCH",
  "ERR_TOKEN_AUDIENCE_MISMATCH",
  "ERR_TOKEN_EXPIRED",
  "ERR_TOKEN_NOT_YET_VALID",
  "ERR_TOKEN_LIFETIME_TOO_LONG",
  "ERR_TOKEN_CLAIMS_INVALID",
  // OAuth client authentication (RFC 7523 private_key_jwt)
  "ERR_CLIENT_ASSERTION_INVALID",
  "ERR_CLIENT_UNKNOWN",
  "ERR_CLIENT_ASSERTION_SIGNATURE_INVALID",
  "ERR_CLIENT_ASSERTION_AUDIENCE_MISMATCH",
  "ERR_CLIENT_ASSERTION_EXPIRED",
  "ERR_CLIENT_ASSERTION_REPLAYED",
  // Audit hash chain
  "ERR_AUDIT_CHAIN_BROKEN",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AgentAuthErrorOptions {
  cause?: unknown;
  /** Machine-readable detail safe to show to the caller (never secrets). */
  details?: Readonly<Record<string, unknown>>;
}

/** The one coded error type of `@agentauth/core`. */
export class AgentAuthError extends Error {
  override readonly name = "AgentAuthError";
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: AgentAuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** Narrowing helper: `isAgentAuthError(e, "ERR_DPOP_HTM_MISMATCH")`. */
export function isAgentAuthError(error: unknown, code?: ErrorCode): error is AgentAuthError {
  return error instanceof AgentAuthError && (code === undefined || error.code === code);
}
