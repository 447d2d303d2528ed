import type { ErrorCode as CoreErrorCode } from "@agentauth/core";

/** Stable codes of registry failures. Each maps to one HTTP answer in `http/error-responses.ts`. */
export const REGISTRY_ERROR_CODES = [
  "ERR_VALIDATION",
  "ERR_NOT_FOUND",
  "ERR_UNAUTHENTICATED",
  "ERR_FORBIDDEN",
  "ERR_ORIGIN_MISMATCH",
  "ERR_CONFLICT",
  "ERR_RATE_LIMITED",
  "ERR_PAYLOAD_TOO_LARGE",
  "ERR_UNSUPPORTED_MEDIA_TYPE",
  "ERR_UNAVAILABLE",
  // OAuth (RFC 6749, CIBA, RFC 9449, RFC 9396, RFC 8707)
  "ERR_INVALID_REQUEST",
  "ERR_INVALID_CLIENT",
  "ERR_INVALID_GRANT",
  "ERR_UNSUPPORTED_GRANT_TYPE",
  "ERR_UNAUTHORIZED_CLIENT",
  "ERR_INVALID_TARGET",
  "ERR_INVALID_AUTHORIZATION_DETAILS",
  "ERR_INVALID_BINDING_MESSAGE",
  "ERR_AUTHORIZATION_PENDING",
  "ERR_SLOW_DOWN",
  "ERR_EXPIRED_TOKEN",
  "ERR_ACCESS_DENIED",
  "ERR_INVALID_DPOP_PROOF",
  "ERR_USE_DPOP_NONCE",
  // Enrolment and approval
  "ERR_ENROLMENT_CODE_INVALID",
  "ERR_INVITATION_INVALID",
  "ERR_WEBAUTHN_FAILED",
  "ERR_REQUEST_NOT_PENDING",
  "ERR_REQUEST_EXPIRED",
  "ERR_GRANT_WIDENED",
] as const;

export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number];

export interface RegistryErrorOptions {
  cause?: unknown;
  /** Safe, machine-readable detail for the client. */
  details?: Readonly<Record<string, unknown>>;
  /** Extra response headers (e.g. `Retry-After`, `DPoP-Nonce`). */
  headers?: Readonly<Record<string, string>>;
}

/** The one coded error type of the registry. The message is shown to clients: no secrets. */
export class RegistryError extends Error {
  override readonly name = "RegistryError";
  readonly code: RegistryErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: RegistryErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }
}

/** How a core error surfaces from the registry. */
export function registryCodeForCoreError(code: CoreErrorCode): RegistryErrorCode {
  switch (code) {
    case "ERR_DPOP_NONCE_REQUIRED":
    case "ERR_DPOP_NONCE_INVALID":
      return "ERR_USE_DPOP_NONCE";
    case "ERR_DPOP_MISSING":
    case "ERR_DPOP_MULTIPLE":
    case "ERR_DPOP_MALFORMED":
    case "ERR_DPOP_TYP_INVALID":
    case "ERR_DPOP_ALG_NOT_ALLOWED":
    case "ERR_DPOP_JWK_INVALID":
    case "ERR_DPOP_JWK_PRIVATE":
    case "ERR_DPOP_CLAIMS_INVALID":
    case "ERR_DPOP_SIGNATURE_INVALID":
    case "ERR_DPOP_HTM_MISMATCH":
    case "ERR_DPOP_HTU_MISMATCH":
    case "ERR_DPOP_IAT_OUT_OF_WINDOW":
    case "ERR_DPOP_JTI_INVALID":
    case "ERR_DPOP_JTI_REPLAYED":
    case "ERR_DPOP_ATH_MISSING":
    case "ERR_DPOP_ATH_MISMATCH":
    case "ERR_DPOP_JKT_MISMATCH":
      return "ERR_INVALID_DPOP_PROOF";
    case "ERR_CAPABILITY_INVALID":
    case "ERR_ENVELOPE_INVALID":
      return "ERR_INVALID_AUTHORIZATION_DETAILS";
    case "ERR_GRANT_WIDENED":
      return "ERR_GRANT_WIDENED";
    case "ERR_TOKEN_MALFORMED":
    case "ERR_TOKEN_TYP_INVALID":
    case "ERR_TOKEN_ALG_NOT_ALLOWED":
    case "ERR_TOKEN_KID_UNKNOWN":
    case "ERR_TOKEN_SIGNATURE_INVALID":
    case "ERR_TOKEN_ISSUER_MISMATCH":
    case "ERR_TOKEN_AUDIENCE_MISMATCH":
    case "ERR_TOKEN_EXPIRED":
    case "ERR_TOKEN_NOT_YET_VALID":
    case "ERR_TOKEN_LIFETIME_TOO_LONG":
    case "ERR_TOKEN_CLAIMS_INVALID":
      return "ERR_INVALID_GRANT";
    case "ERR_CLIENT_ASSERTION_INVALID":
    case "ERR_CLIENT_UNKNOWN":
    case "ERR_CLIENT_ASSERTION_SIGNATURE_INVALID":
    case "ERR_CLIENT_ASSERTION_AUDIENCE_MISMATCH":
    case "ERR_CLIENT_ASSERTION_EXPIRED":
    case "ERR_CLIENT_ASSERTION_REPLAYED":
      return "ERR_INVALID_CLIENT";
    case "ERR_JSON_NOT_CANONICALIZABLE":
    case "ERR_JWS_MALFORMED":
    case "ERR_JWK_INVALID":
    case "ERR_JWK_PRIVATE":
      return "ERR_VALIDATION";
    case "ERR_AUDIT_CHAIN_BROKEN":
      // Verification reports a broken chain as a result, never as a request error.
      return "ERR_CONFLICT";
  }
}
