import { canonicalizeJson } from "../encoding/canonical-json.js";
import type { Envelope } from "../envelope/envelope.js";
import { validateEnvelope } from "../envelope/envelope-schema.js";
import type { ErrorCode } from "../errors.js";
import { CAPABILITY_TYPES, type Capability } from "./capability.js";
import { validateCapability } from "./capability-schema.js";
import type { ValidationIssue } from "./validation-issues.js";

export interface ValidateAuthorizationDetailsOptions {
  /** Name of the array in messages: `authorization_details`, `capabilities`. */
  root: string;
  /** Whether one `{ "type": "envelope" }` entry may appear. */
  allowEnvelope: boolean;
}

export type ValidateAuthorizationDetailsResult =
  | { ok: true; capabilities: Capability[]; envelope: Envelope | undefined }
  | { ok: false; code: ErrorCode; issues: ValidationIssue[] };

// Bounds the work of validating, matching and narrowing (which compares every pair).
const MAX_ENTRIES = 64;

/**
 * Validates an `authorization_details` array: at least one capability, at most one envelope,
 * no entry twice. The error code follows the first problem: envelope or capability.
 */
export function validateAuthorizationDetails(
  value: unknown,
  { root, allowEnvelope }: ValidateAuthorizationDetailsOptions,
): ValidateAuthorizationDetailsResult {
  const fail = (message: string): ValidateAuthorizationDetailsResult => ({
    ok: false,
    code: "ERR_CAPABILITY_INVALID",
    issues: [{ path: root, message }],
  });
  if (!Array.isArray(value)) return fail("must be an array");
  if (value.length > MAX_ENTRIES) return fail(`must have at most ${MAX_ENTRIES} entries`);

  const allowedTypes = allowEnvelope ? [...CAPABILITY_TYPES, "envelope"] : CAPABILITY_TYPES;
  const capabilities: Capability[] = [];
  const canonicalEntries = new Map<string, number>();
  const issues: ValidationIssue[] = [];
  let code: ErrorCode | undefined;
  const report = (entryCode: ErrorCode, entryIssues: readonly ValidationIssue[]) => {
    code ??= entryCode;
    issues.push(...entryIssues);
  };
  let envelope: Envelope | undefined;
  let envelopeIndex = -1;

  for (const [index, entry] of value.entries()) {
    const path = `${root}[${index}]`;
    if (allowEnvelope && isEnvelopeEntry(entry)) {
      const result = validateEnvelope(entry, path);
      if (!result.ok) {
        report("ERR_ENVELOPE_INVALID", result.issues);
      } else if (envelope !== undefined) {
        report("ERR_ENVELOPE_INVALID", [
          { path, message: `is a second envelope (the first is ${root}[${envelopeIndex}])` },
        ]);
      } else {
        envelope = result.value;
        envelopeIndex = index;
      }
      continue;
    }
    const result = validateCapability(entry, path, allowedTypes);
    if (!result.ok) {
      report("ERR_CAPABILITY_INVALID", result.issues);
      continue;
    }
    // Entries are compared in canonical form: member order and spelling do not hide a repeat.
    const canonical = canonicalizeJson(result.value);
    const first = canonicalEntries.get(canonical);
    if (first !== undefined) {
      report("ERR_CAPABILITY_INVALID", [{ path, message: `repeats ${root}[${first}]` }]);
      continue;
    }
    canonicalEntries.set(canonical, index);
    capabilities.push(result.value);
  }

  if (code !== undefined) return { ok: false, code, issues };
  if (capabilities.length === 0) return fail("must contain at least one capability");
  return { ok: true, capabilities, envelope };
}

function isEnvelopeEntry(entry: unknown): boolean {
  return (
    typeof entry === "object" && entry !== null && (entry as { type?: unknown }).type === "envelope"
  );
}
