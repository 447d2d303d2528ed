// `@agentauth/registry/testing`: the registry's test kit for other packages' tests — a real
// registry in-process (in-memory state, a real signing key, a first admin enrolled with a
// software passkey) and clients for its humans and agents. Test-only: it imports Vitest.
import { createDatabase } from "../src/db/create-database.js";
import { findMigrationsDir, migrateToLatest } from "../src/db/migrate.js";
import {
  createTestRegistry,
  type TestRegistry,
  type TestRegistryState,
} from "./support/test-registry.js";

export * from "./grants/grant-helpers.js";
export { createTestAgent, type TestAgent } from "./kit/agent-client.js";
export { createHumanClient, type HumanClient } from "./kit/human-client.js";
export { createSoftwareAuthenticator } from "./kit/software-authenticator.js";
export * from "./support/test-registry.js";

/** A {@link TestRegistry} on a fresh in-memory PGlite, with `state`'s adapters; `close` frees it. */
export async function createEmbeddedTestRegistry(
  state: TestRegistryState = {},
): Promise<TestRegistry & { close(): Promise<void> }> {
  const database = await createDatabase({});
  await migrateToLatest(database.db, { migrationsDir: findMigrationsDir() });
  const test = await createTestRegistry(database.db, state);
  return {
    ...test,
    async close() {
      await test.registry.stop();
      await database.close();
    },
  };
}
