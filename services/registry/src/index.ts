// @agentauth/registry — for a process that hosts the registry itself (an embedded verifier
// beside it, sharing its in-process key directory, decision log and revocation bus), wiring it as
// `main.ts` does, and registering service providers without an admin's session (as the system).

export type { AuditActor } from "./audit/audit-actor.js";
export type { Clock } from "./clock.js";
export { systemClock } from "./clock.js";
export type { RegistryConfig, SignerConfig } from "./config.js";
export { ConfigError, parseConfig } from "./config.js";
export type { Registry, RegistryDeps } from "./create-registry.js";
export { createRegistry } from "./create-registry.js";
export type { CreateDatabaseOptions, RegistryDatabase } from "./db/create-database.js";
export { createDatabase } from "./db/create-database.js";
export { findMigrationsDir, migrateToLatest } from "./db/migrate.js";
export type { RegistryErrorCode } from "./errors.js";
export { RegistryError } from "./errors.js";
export { ensureFirstHumanInvitation } from "./humans/invitations.js";
export type {
  IssuedServiceProviderKey,
  IssueServiceProviderKeyInput,
} from "./service-providers/issue-service-provider-key.js";
export { issueServiceProviderKey } from "./service-providers/issue-service-provider-key.js";
export type {
  RegisteredServiceProvider,
  RegisterServiceProviderInput,
} from "./service-providers/register-service-provider.js";
export { registerServiceProvider } from "./service-providers/register-service-provider.js";
export type {
  CreateServiceProviderKeyPublisherOptions,
  PublishedKeys,
  ServiceProviderKeyPublisher,
} from "./service-providers/service-provider-key-publisher.js";
export { createServiceProviderKeyPublisher } from "./service-providers/service-provider-key-publisher.js";
export type { FoundServiceProviderKey } from "./service-providers/service-provider-keys.js";
export { findServiceProviderKey } from "./service-providers/service-provider-keys.js";
export type { CreateSigningKeyRingFromConfigOptions } from "./signing/create-signing-key-ring-from-config.js";
export { createSigningKeyRingFromConfig } from "./signing/create-signing-key-ring-from-config.js";
export { createFileSigner } from "./signing/file-signer.js";
export type { JwkSigner } from "./signing/jwk-signer.js";
export { createKmsSigner } from "./signing/kms-signer.js";
export type { LoadOrCreateSecretOptions } from "./signing/load-or-create-secret.js";
export { loadOrCreateSecret } from "./signing/load-or-create-secret.js";
export { createPgSigningKeyStore } from "./signing/pg-signing-key-store.js";
export type { SigningKeyRing } from "./signing/signing-key-ring.js";
export { createSigningKeyRing } from "./signing/signing-key-ring.js";
