import type { Capability } from "./capability.js";
import { validateAuthorizationDetails } from "./validate-authorization-details.js";
import { throwValidationError } from "./validation-issues.js";

/**
 * Validates a non-empty array of capability entries (no envelope), throwing
 * `ERR_CAPABILITY_INVALID` with every problem in `details.issues`.
 */
export function parseCapabilities(value: unknown): Capability[] {
  const result = validateAuthorizationDetails(value, {
    root: "capabilities",
    allowEnvelope: false,
  });
  if (!result.ok) return throwValidationError(result.code, result.issues);
  return result.capabilities;
}
