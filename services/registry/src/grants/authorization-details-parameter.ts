import { type AuthorizationDetails, parseAuthorizationDetails } from "@agentauth/core";
import { RegistryError } from "../errors.js";

const MAX_AUTHORIZATION_DETAILS_LENGTH = 32_768;

/**
 * Parses a form's `authorization_details` parameter (RFC 9396 §5: a JSON array) and validates
 * it with core; every failure is `ERR_INVALID_AUTHORIZATION_DETAILS`.
 */
export function parseAuthorizationDetailsParameter(text: string): AuthorizationDetails {
  if (text.length > MAX_AUTHORIZATION_DETAILS_LENGTH) {
    throw new RegistryError(
      "ERR_INVALID_AUTHORIZATION_DETAILS",
      `authorization_details must be at most ${MAX_AUTHORIZATION_DETAILS_LENGTH} characters`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RegistryError(
      "ERR_INVALID_AUTHORIZATION_DETAILS",
      "authorization_details must be a JSON array",
    );
  }
  return parseAuthorizationDetails(value);
}
