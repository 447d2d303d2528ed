import { throwValidationError } from "../capabilities/validation-issues.js";
import type { Envelope } from "./envelope.js";
import { validateEnvelope } from "./envelope-schema.js";

/**
 * Validates a behavioural envelope entry (`{ "type": "envelope", … }`), throwing
 * `ERR_ENVELOPE_INVALID` with every problem in `details.issues`.
 */
export function parseEnvelope(value: unknown): Envelope {
  const result = validateEnvelope(value, "envelope");
  if (!result.ok) return throwValidationError("ERR_ENVELOPE_INVALID", result.issues);
  return result.value;
}
