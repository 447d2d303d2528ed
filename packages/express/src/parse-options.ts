import type { z } from "zod";

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
