// @agentauth/registry — for a process that hosts the registry itself (an embedded verifier
// beside it, sharing its in-process key directory, decision log and revocation bus), wiring it as
// `main.ts` does.

export type { Clock } from "./clock.js";
export { systemClock } from "./clock.js";
export type { RegistryConfig, SignerConfig } from "./config.js";
export { ConfigError, parseConfig } from "./config.js";
export type { Registry, RegistryDeps } from "./create-registry.js";
export { createRegistry } from "./create-registry.js";
export type { CreateDatabaseOptions, RegistryDatabase } from "./db/create-database.js";
export { createDatabase } from "./db/create-database.js";
export { findMigrationsDir, migrateToLatest } from "./db/migrate.js";
export { ensureFirstHumanInvitation } from "./humans/invitations.js";
export { createFileSigner } from "./signing/file-signer.js";
export type { JwkSigner } from "./signing/jwk-signer.js";
export { createKmsSigner } from "./signing/kms-signer.js";
export { createPgSigningKeyStore } from "./signing/pg-signing-key-store.js";
export type { SigningKeyRing } from "./signing/signing-key-ring.js";
export { createSigningKeyRing } from "./signing/signing-key-ring.js";
