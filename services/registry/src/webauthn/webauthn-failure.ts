import { RegistryError } from "../errors.js";

/**
 * Why a WebAuthn ceremony failed. Stable strings: clients and tests read them from the
 * problem's `reason` member, so one defect can never pass for another.
 */
export type WebauthnFailureReason =
  | "response_malformed"
  | "challenge_invalid"
  | "challenge_mismatch"
  | "type_mismatch"
  | "origin_mismatch"
  | "cross_origin"
  | "rp_id_mismatch"
  | "user_not_present"
  | "user_not_verified"
  | "algorithm_not_allowed"
  | "credential_not_discoverable"
  | "credential_unknown"
  | "credential_not_owned"
  | "user_handle_mismatch"
  | "human_disabled"
  | "counter_not_increased"
  | "counter_conflict"
  | "signature_invalid"
  | "verification_failed";

/** The `ERR_WEBAUTHN_FAILED` error for `reason`; `cause` (never shown to clients) is kept for logs. */
export function webauthnFailed(
  reason: WebauthnFailureReason,
  message: string,
  cause?: unknown,
): RegistryError {
  return new RegistryError("ERR_WEBAUTHN_FAILED", message, {
    details: { reason },
    ...(cause === undefined ? {} : { cause }),
  });
}
