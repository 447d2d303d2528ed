import { hash } from "node:crypto";
import { constantTimeEqual, parseServiceProviderApiKey } from "@agentauth/core";
import type { ServiceProviderKeyDirectory, ServiceProviderKeyRecord } from "@agentauth/state";

export interface ApiKeyAuthenticatorOptions {
  readonly directory: ServiceProviderKeyDirectory;
  /** How long a lookup (found or not) is trusted: a revoked key stops working within this. */
  readonly cacheMs: number;
  readonly now?: () => number;
}

/**
 * Authenticates service providers by the verifier API keys the registry issued: the key's
 * prefix finds its record in the key directory (cached briefly), then the secret's SHA-256 is
 * compared with the stored hash in constant time. Directory failures propagate (the caller
 * answers 503); a wrong, unknown or revoked key is `undefined`, all alike.
 */
export interface ApiKeyAuthenticator {
  /** The service provider id for `Authorization: Bearer <key>`, or `undefined`. */
  authenticate(authorization: string | undefined): Promise<string | undefined>;
}

interface CachedLookup {
  readonly record: Promise<ServiceProviderKeyRecord | undefined>;
  readonly fetchedAt: number;
}

const MAX_CACHED_PREFIXES = 10_000;
const BEARER = /^Bearer $/i;

export function createApiKeyAuthenticator(
  options: ApiKeyAuthenticatorOptions,
): ApiKeyAuthenticator {
  const now = options.now ?? Date.now;
  const lookups = new Map<string, CachedLookup>();

  const lookUp = (prefix: string): Promise<ServiceProviderKeyRecord | undefined> => {
    const cached = lookups.get(prefix);
    if (cached !== undefined && now() - cached.fetchedAt < options.cacheMs) return cached.record;
    const record = options.directory.get(prefix);
    // Concurrent requests share one lookup; a failed one is not remembered.
    lookups.set(prefix, { record, fetchedAt: now() });
    record.catch(() => lookups.delete(prefix));
    if (lookups.size > MAX_CACHED_PREFIXES) lookups.delete(lookups.keys().next().value as string);
    return record;
  };

  return {
    async authenticate(authorization) {
      // "Bearer " in any case, then the key (whose format admits no blank).
      if (authorization === undefined || !BEARER.test(authorization.slice(0, 7))) return undefined;
      const parts = parseServiceProviderApiKey(authorization.slice(7));
      if (parts === undefined) return undefined;
      const record = await lookUp(parts.prefix);
      if (record === undefined || record.revoked) return undefined;
      const secretHash = hash("sha256", parts.secret, "hex");
      return constantTimeEqual(record.secretHash, secretHash)
        ? record.serviceProviderId
        : undefined;
    },
  };
}
