import { once } from "node:events";
import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import type { Kysely } from "kysely";
import { createDatabase } from "../../src/db/create-database.js";
import type { Database } from "../../src/db/database.js";
import { findMigrationsDir, migrateToLatest } from "../../src/db/migrate.js";
import {
  createTestRegistry,
  type TestRegistry,
  type TestRegistryOptions,
} from "./test-registry.js";

/** A test registry that owns resources: `close` frees them. */
export interface ClosableTestRegistry extends TestRegistry {
  close(): Promise<void>;
}

/** A {@link TestRegistry} on a fresh in-memory PGlite (`close` frees it), with `options`. */
export async function createEmbeddedTestRegistry(
  options: TestRegistryOptions = {},
): Promise<ClosableTestRegistry> {
  const database = await createDatabase({});
  try {
    await migrateToLatest(database.db, { migrationsDir: findMigrationsDir() });
    const test = await createTestRegistry(database.db, options);
    return {
      ...test,
      async close() {
        await test.registry.stop();
        await removeSigningKeyDir(test);
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}

export interface TestRegistryServerOptions extends Omit<TestRegistryOptions, "publicUrl"> {
  /** The registry's database, migrated; default a fresh in-memory PGlite, closed with the server. */
  readonly db?: Kysely<Database>;
}

/** A test registry served on a real socket, at its public URL. */
export interface TestRegistryServer extends ClosableTestRegistry {
  /** `http://localhost:<port>`: the registry's {@link TestRegistry.publicUrl}, where it listens. */
  readonly url: string;
}

/**
 * A {@link TestRegistry} on a real socket, for clients that are not supertest (an SDK, a
 * verifier fetching the JWKS, `oauth4webapi`, a browser): it listens on an ephemeral port of
 * 127.0.0.1 first, so `http://localhost:<port>` is its public URL (issuer, DPoP `htu`, passkey
 * origin), and runs the registry's background work (`registry.start()`: audit chaining, API keys
 * and revocations published to the shared state). `close` stops both and frees what it made.
 *
 * @example
 * const test = await startTestRegistryServer({ revocationBus, keyDirectory });
 * const as = await oauth.discoveryRequest(new URL(test.url), { algorithm: "oauth2" });
 */
export async function startTestRegistryServer(
  options: TestRegistryServerOptions = {},
): Promise<TestRegistryServer> {
  const { db, ...registryOptions } = options;
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://localhost:${(server.address() as AddressInfo).port}`;
  let test: ClosableTestRegistry;
  try {
    test =
      db === undefined
        ? await createEmbeddedTestRegistry({ ...registryOptions, publicUrl: url })
        : await createOnDatabase(db, { ...registryOptions, publicUrl: url });
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  server.on("request", test.registry.app);
  test.registry.start();
  return {
    ...test,
    url,
    async close() {
      await closeServer(server);
      await test.close();
    },
  };
}

async function createOnDatabase(
  db: Kysely<Database>,
  options: TestRegistryOptions,
): Promise<ClosableTestRegistry> {
  const test = await createTestRegistry(db, options);
  return {
    ...test,
    async close() {
      await test.registry.stop();
      await removeSigningKeyDir(test);
    },
  };
}

/** The temporary directory `createTestRegistry` made for the key file. */
function removeSigningKeyDir(test: TestRegistry): Promise<void> {
  return rm(dirname(test.signingKeyFile), { recursive: true, force: true });
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  // Clients keep connections alive; they would hold `close` open.
  server.closeAllConnections();
  server.close();
  await once(server, "close");
}
