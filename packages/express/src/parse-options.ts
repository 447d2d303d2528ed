import { z } from "zod";

/**
 * Parses a factory's options once, throwing a `TypeError` that names every bad option (never
 * its value: an API key must not end up in a start-up log).
 */
export function parseOptions<Schema extends z.ZodType>(
  schema: Schema,
  options: unknown,
  factory: string,
): z.output<Schema> {
  const parsed = schema.safeParse(options);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join(".") || "options"}: ${issue.message}`,
  );
  throw new TypeError(`${factory}: invalid options (${problems.join("; ")})`);
}

/** An option that must be an object with the methods `verify` and `close` (a port's adapter). */
export function verifierLike<T>(message: string) {
  return z.custom<T>((value) => {
    if (typeof value !== "object" || value === null) return false;
    const candidate = value as Record<string, unknown>;
    return typeof candidate.verify === "function" && typeof candidate.close === "function";
  }, message);
}

/** The id a service provider has at the registry (its tokens' `aud`). */
export const serviceProviderId = z.string().min(1).max(2048);
