import { constantTimeEqual } from "@agentauth/core";
import type { Db } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { createSecret, hashSecret } from "../ids.js";

const KEY_PATTERN = /^aask_([A-Za-z0-9_-]{11})_([A-Za-z0-9_-]{43})$/;

/** A new verifier API key: `aask_<lookup prefix>_<256-bit secret>`. Only its hash is stored. */
export function createServiceProviderKey(): { key: string; prefix: string; secretHash: string } {
  const prefix = createSecret(8);
  const secret = createSecret(32);
  return { key: `aask_${prefix}_${secret}`, prefix, secretHash: hashSecret(secret) };
}

/**
 * The enabled service provider an API key belongs to: found by its prefix, then the secret's
 * hash compared in constant time. Any failure is the same 401, so nothing is learnt from it.
 */
export async function authenticateServiceProvider(
  db: Db,
  apiKey: string | undefined,
): Promise<{ id: string }> {
  const match = apiKey === undefined ? null : KEY_PATTERN.exec(apiKey);
  const row =
    match === null
      ? undefined
      : await db
          .selectFrom("service_provider_keys as k")
          .innerJoin("service_providers as sp", "sp.id", "k.service_provider_id")
          .select(["k.secret_hash", "sp.id"])
          .where("k.prefix", "=", match[1] as string)
          .where("k.revoked_at", "is", null)
          .where("sp.disabled_at", "is", null)
          .executeTakeFirst();
  if (
    row === undefined ||
    match === null ||
    !constantTimeEqual(row.secret_hash, hashSecret(match[2] as string))
  ) {
    throw new RegistryError("ERR_INVALID_CLIENT", "Invalid or revoked service provider API key");
  }
  return { id: row.id };
}

/** The API key from `Authorization: Bearer <key>`. */
export function bearerCredential(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^Bearer ([^\s]+)$/i.exec(authorization);
  return match?.[1];
}
