import { RegistryError } from "../errors.js";

/** Why a token signer could not be set up or could not sign. Stable strings, in `details.reason`. */
export type SigningFailureReason =
  /** The key file is readable or writable by group or others. */
  | "KEY_FILE_INSECURE"
  /** The key file is not a P-256 private key in PEM. */
  | "KEY_FILE_INVALID"
  /** There is no key file where one must already exist (rotation). */
  | "KEY_FILE_MISSING"
  /** The key file or its directory could not be read or written. */
  | "KEY_FILE_IO"
  | "KMS_KEY_NOT_FOUND"
  /** Disabled, pending deletion, or otherwise not usable in its current state. */
  | "KMS_KEY_DISABLED"
  /** Not an enabled `ECC_NIST_P256` / `SIGN_VERIFY` key that signs with `ECDSA_SHA_256`. */
  | "KMS_KEY_UNSUITABLE"
  | "KMS_ACCESS_DENIED"
  | "KMS_THROTTLED"
  /** KMS could not be reached, timed out, failed, or answered something unexpected. */
  | "KMS_UNAVAILABLE";

/**
 * A signer failure as the registry's coded error: the registry cannot issue tokens without it,
 * so it is `ERR_UNAVAILABLE` (503), with the precise reason in `details.reason`. Messages name
 * files and key ids (the operator's own configuration) but never key material or AWS request
 * details.
 */
export function signingError(
  reason: SigningFailureReason,
  message: string,
  details: Readonly<Record<string, string>> = {},
): RegistryError {
  return new RegistryError("ERR_UNAVAILABLE", message, { details: { reason, ...details } });
}
