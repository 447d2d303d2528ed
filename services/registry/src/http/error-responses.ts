import type { RegistryErrorCode } from "../errors.js";

interface ErrorResponse {
  readonly status: number;
  /** The OAuth `error` value, for OAuth endpoints. */
  readonly oauth: string;
  /** RFC 9457 problem title, for everything else. */
  readonly title: string;
}

/** The one table from error code to HTTP answer. Exhaustive: a new code must be placed here. */
export const ERROR_RESPONSES: Readonly<Record<RegistryErrorCode, ErrorResponse>> = {
  ERR_VALIDATION: { status: 400, oauth: "invalid_request", title: "Invalid request" },
  ERR_NOT_FOUND: { status: 404, oauth: "invalid_request", title: "Not found" },
  ERR_UNAUTHENTICATED: { status: 401, oauth: "invalid_client", title: "Sign-in required" },
  ERR_FORBIDDEN: { status: 403, oauth: "access_denied", title: "Forbidden" },
  ERR_ORIGIN_MISMATCH: {
    status: 403,
    oauth: "invalid_request",
    title: "Cross-origin request refused",
  },
  ERR_CONFLICT: { status: 409, oauth: "invalid_request", title: "Conflict" },
  // Not `slow_down`: that is a token-endpoint poll answer meaning "keep polling, 5 s slower"
  // (RFC 8628 §3.5, CIBA §11), which waiting would not fix here. OAuth has no rate-limit error
  // code; 429 with `Retry-After` is what tells a client when to come back.
  ERR_RATE_LIMITED: { status: 429, oauth: "invalid_request", title: "Too many requests" },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, oauth: "invalid_request", title: "Request body too large" },
  ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    oauth: "invalid_request",
    title: "Unsupported media type",
  },
  ERR_UNAVAILABLE: {
    status: 503,
    oauth: "temporarily_unavailable",
    title: "Temporarily unavailable",
  },
  ERR_INVALID_REQUEST: { status: 400, oauth: "invalid_request", title: "Invalid request" },
  ERR_INVALID_CLIENT: {
    status: 401,
    oauth: "invalid_client",
    title: "Client authentication failed",
  },
  ERR_INVALID_GRANT: { status: 400, oauth: "invalid_grant", title: "Invalid grant" },
  ERR_UNSUPPORTED_GRANT_TYPE: {
    status: 400,
    oauth: "unsupported_grant_type",
    title: "Unsupported grant type",
  },
  ERR_UNAUTHORIZED_CLIENT: {
    status: 400,
    oauth: "unauthorized_client",
    title: "Client not allowed",
  },
  ERR_INVALID_TARGET: { status: 400, oauth: "invalid_target", title: "Unknown service provider" },
  ERR_INVALID_AUTHORIZATION_DETAILS: {
    status: 400,
    oauth: "invalid_authorization_details",
    title: "Invalid authorization details",
  },
  ERR_INVALID_BINDING_MESSAGE: {
    status: 400,
    oauth: "invalid_binding_message",
    title: "Invalid binding message",
  },
  ERR_AUTHORIZATION_PENDING: {
    status: 400,
    oauth: "authorization_pending",
    title: "Approval pending",
  },
  ERR_SLOW_DOWN: { status: 400, oauth: "slow_down", title: "Polling too fast" },
  ERR_EXPIRED_TOKEN: { status: 400, oauth: "expired_token", title: "Request expired" },
  ERR_ACCESS_DENIED: { status: 400, oauth: "access_denied", title: "Denied" },
  ERR_INVALID_DPOP_PROOF: { status: 400, oauth: "invalid_dpop_proof", title: "Invalid DPoP proof" },
  ERR_USE_DPOP_NONCE: { status: 400, oauth: "use_dpop_nonce", title: "DPoP nonce required" },
  ERR_ENROLMENT_CODE_INVALID: {
    status: 400,
    oauth: "invalid_grant",
    title: "Invalid enrolment code",
  },
  ERR_INVITATION_INVALID: {
    status: 400,
    oauth: "invalid_grant",
    title: "Invalid or used invitation",
  },
  ERR_WEBAUTHN_FAILED: {
    status: 400,
    oauth: "invalid_request",
    title: "Passkey verification failed",
  },
  ERR_REQUEST_NOT_PENDING: {
    status: 409,
    oauth: "invalid_request",
    title: "Request already decided",
  },
  ERR_REQUEST_EXPIRED: { status: 410, oauth: "expired_token", title: "Request expired" },
  ERR_GRANT_WIDENED: {
    status: 400,
    oauth: "invalid_authorization_details",
    title: "Widening refused",
  },
};
