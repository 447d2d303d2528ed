import type { z } from "zod";
import { AgentAuthError, type ErrorCode } from "../errors.js";

/** One problem in an input, e.g. `authorization_details[1].max_amount` + `must be at most …`. */
export interface ValidationIssue {
  path: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

// Enough for a human to fix their input; the rest would only bloat error responses.
const MAX_REPORTED_ISSUES = 20;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Appends keys to a path: `joinPath("envelope", ["spend_caps", 0])` is `envelope.spend_caps[0]`. */
export function joinPath(root: string, keys: readonly PropertyKey[]): string {
  let path = root;
  for (const key of keys) {
    if (typeof key === "number") path += `[${key}]`;
    else if (typeof key === "string" && PLAIN_KEY.test(key)) path += `.${key}`;
    // Unknown members are attacker-chosen: quote them and keep messages short.
    else path += `[${JSON.stringify(String(key).slice(0, 64))}]`;
  }
  return path;
}

/** Runs a zod schema and turns its issues into path-named {@link ValidationIssue}s. */
export function validateWithSchema<T>(
  schema: z.ZodType<T>,
  value: unknown,
  root: string,
): ValidationResult<T> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.flatMap((issue): ValidationIssue[] =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          path: joinPath(root, [...issue.path, key]),
          message: "is not an allowed member",
        }))
      : [{ path: joinPath(root, issue.path), message: issue.message }],
  );
  return { ok: false, issues };
}

/** Throws the coded error for a failed validation: the first issue in the message, all in details. */
export function throwValidationError(code: ErrorCode, issues: readonly ValidationIssue[]): never {
  const [first] = issues;
  const summary = first === undefined ? "is invalid" : `${first.path}: ${first.message}`;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  throw new AgentAuthError(code, `${summary}${more}`, {
    details: { issues: issues.slice(0, MAX_REPORTED_ISSUES) },
  });
}
