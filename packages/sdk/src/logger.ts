/**
 * Where the SDK reports what it does (retries, nonce retries, refreshes), in pino's argument
 * order, so a pino logger can be passed as is. Fields never hold a token, key, proof or query
 * string: URLs are reduced to origin and path.
 */
export interface SdkLogger {
  debug(fields: Readonly<Record<string, unknown>>, message: string): void;
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
}

/** Whether `value` has the shape of an {@link SdkLogger} (for option validation). */
export function isSdkLogger(value: unknown): value is SdkLogger {
  if (typeof value !== "object" || value === null) return false;
  const logger = value as Record<string, unknown>;
  return typeof logger.debug === "function" && typeof logger.warn === "function";
}

/** A URL as it may be logged: origin and path, no query or fragment. */
export function loggableUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
