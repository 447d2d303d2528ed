import type { z } from "zod";

/** A bad configuration: every bad variable listed at once. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parses `input` with `schema`, or throws one {@link ConfigError} naming every bad variable
 * (`names` maps a schema key to the environment variable it came from).
 */
export function parseEnvironment<T extends z.ZodType>(
  schema: T,
  input: Readonly<Record<string, string | undefined>>,
  what: string,
  names: Readonly<Record<string, string>> = {},
): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join(".");
    return `  ${names[key] ?? key}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid ${what} configuration:\n${problems.join("\n")}`);
}
