import { createHash, randomBytes } from "node:crypto";

/** A new opaque identifier such as `agt_3q2Vb…` (128 random bits). */
export function createId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString("base64url")}`;
}

/** A new secret of `bytes` random bytes, base64url. */
export function createSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** SHA-256 hex of a secret: how one-time codes, sessions and API keys are stored. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}
