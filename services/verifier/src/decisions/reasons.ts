import type { EnvelopeDenyReason, ErrorCode } from "@agentauth/core";

/**
 * Why a request was refused: stable strings service providers can branch on and that the audit
 * log records. A failed token or DPoP check is named after core's error code
 * (`ERR_DPOP_HTU_MISMATCH` → `dpop_htu_mismatch`).
 */
export type DenyReason =
  | "token_missing"
  | "dpop_scheme_required"
  | TokenCheckReason
  | "token_revoked"
  | "grant_revoked"
  | "agent_revoked"
  | "capability_not_granted"
  | EnvelopeDenyReason
  | "step_up_required";

type TokenCheckReason = Lowercase<
  Extract<ErrorCode, `ERR_TOKEN_${string}` | `ERR_DPOP_${string}`> extends `ERR_${infer Rest}`
    ? Rest
    : never
>;

/** RFC 6750 §3.1 / RFC 9449 §7.1 error codes for `WWW-Authenticate: DPoP error="…"`. */
export type ChallengeError =
  | "invalid_token"
  | "invalid_dpop_proof"
  | "use_dpop_nonce"
  | "insufficient_scope";

/** What the service provider should answer the agent with, for each reason. */
export interface ReasonResponse {
  readonly status: 401 | 403 | 429;
  /** Absent for `token_missing`: RFC 6750 §3.1 says to send no error code then. */
  readonly error?: ChallengeError;
}

/** Maps a core token/DPoP error code to its reason, or `undefined` for any other code. */
export function reasonForCoreError(code: ErrorCode): DenyReason | undefined {
  if (!code.startsWith("ERR_TOKEN_") && !code.startsWith("ERR_DPOP_")) return undefined;
  return code.slice(4).toLowerCase() as DenyReason;
}

export function responseForReason(reason: DenyReason): ReasonResponse {
  if (reason === "token_missing" || reason === "dpop_scheme_required") return { status: 401 };
  if (reason === "dpop_nonce_required" || reason === "dpop_nonce_invalid")
    return { status: 401, error: "use_dpop_nonce" };
  if (reason.startsWith("dpop_")) return { status: 401, error: "invalid_dpop_proof" };
  if (reason.startsWith("token_") || reason === "grant_revoked" || reason === "agent_revoked")
    return { status: 401, error: "invalid_token" };
  if (reason === "rate_limited" || reason === "burst_limited") return { status: 429 };
  return { status: 403, error: "insufficient_scope" };
}
