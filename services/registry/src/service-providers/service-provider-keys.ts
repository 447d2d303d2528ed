import { constantTimeEqual, parseServiceProviderApiKey } from "@agentauth/core";
import type { Db } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { createSecret, hashSecret } from "../ids.js";

/** A new verifier API key: `aask_<lookup prefix>_<256-bit secret>`. Only its hash is stored. */
export function createServiceProviderKey(): { key: string; prefix: string; secretHash: string } {
  const prefix = createSecret(8);
  const secret = createSecret(32);
  return { key: `aask_${prefix}_${secret}`, prefix, secretHash: hashSecret(secret) };
}

/** A verifier API key the registry knows, as {@link findServiceProviderKey} finds it. */
export interface FoundServiceProviderKey {
  /** The key's id (`spk_…`). */
  readonly id: string;
  readonly serviceProviderId: string;
  /** Revoked by an admin. */
  readonly revoked: boolean;
  /** Its service provider is disabled (so the key is refused too). */
  readonly serviceProviderDisabled: boolean;
}

/**
 * The key `apiKey` is, found by its prefix and then the secret's hash compared in constant time;
 * `undefined` for a string that is not a key the registry issued. Revoked keys and keys of
 * disabled providers are found too, and say so: {@link authenticateServiceProvider} refuses them.
 */
export async function findServiceProviderKey(
  db: Db,
  apiKey: string,
): Promise<FoundServiceProviderKey | undefined> {
  const parts = typeof apiKey === "string" ? parseServiceProviderApiKey(apiKey) : undefined;
  if (parts === undefined) return undefined;
  const row = await db
    .selectFrom("service_provider_keys as k")
    .innerJoin("service_providers as sp", "sp.id", "k.service_provider_id")
    .select([
      "k.id",
      "k.secret_hash",
      "k.revoked_at",
      "sp.id as service_provider_id",
      "sp.disabled_at",
    ])
    .where("k.prefix", "=", parts.prefix)
    .executeTakeFirst();
  if (row === undefined || !constantTimeEqual(row.secret_hash, hashSecret(parts.secret))) {
    return undefined;
  }
  return {
    id: row.id,
    serviceProviderId: row.service_provider_id,
    revoked: row.revoked_at !== null,
    serviceProviderDisabled: row.disabled_at !== null,
  };
}

/**
 * The enabled service provider an API key belongs to. Any failure — not a key, unknown, revoked,
 * its provider disabled — is the same 401, so nothing is learnt from it.
 */
export async function authenticateServiceProvider(
  db: Db,
  apiKey: string | undefined,
): Promise<{ id: string }> {
  const found = apiKey === undefined ? undefined : await findServiceProviderKey(db, apiKey);
  if (found === undefined || found.revoked || found.serviceProviderDisabled) {
    throw new RegistryError("ERR_INVALID_CLIENT", "Invalid or revoked service provider API key");
  }
  return { id: found.serviceProviderId };
}

/** The API key from `Authorization: Bearer <key>`. */
export function bearerCredential(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^Bearer ([^\s]+)$/i.exec(authorization);
  return match?.[1];
}
