import { createHash, randomBytes } from "node:crypto";

const DATA_TOKEN = /^dt_[A-Za-z0-9_-]{43}$/;

/** A new data token, `dt_<256 random bits>`: shown once to its publisher, stored only hashed. */
export function createDataToken(): string {
  return `dt_${randomBytes(32).toString("base64url")}`;
}

export function isDataToken(value: unknown): value is string {
  return typeof value === "string" && DATA_TOKEN.test(value);
}

/** SHA-256 hex: what the store keys a payload by. */
export function hashDataToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
