import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createDatabase,
  findMigrationsDir,
  migrateToLatest,
  type RegistryDatabase,
} from "@agentauth/registry";
import {
  createPaymentsProvider,
  startTestRegistryServer,
  type TestRegistry,
  type TestRegistryState,
} from "@agentauth/registry/testing";
import {
  type AdmissionStore,
  createMemoryAdmissionStore,
  createMemoryDecisionLog,
  createMemoryRevocationBus,
  createMemoryServiceProviderKeyDirectory,
  createRedisAdmissionStore,
  createRedisDecisionLog,
  createRedisRevocationBus,
  createRedisServiceProviderKeyDirectory,
  StateError,
} from "@agentauth/state";
import { connectTestRedis, deleteKeys, uniqueKeyPrefix } from "@agentauth/state/testing";
import { createVerifier, type VerifierState } from "@agentauth/verifier";
import type { Redis } from "ioredis";
import { sql } from "kysely";
import { pino } from "pino";

/** The registry the tokens come from, and a verifier over the same shared state. */
export interface TestPlatform {
  readonly test: TestRegistry;
  /** The registry's issuer identifier (tokens' `iss`), its public URL. */
  readonly issuer: string;
  /** Where the registry listens: its public URL, so every endpoint is reachable over HTTP. */
  readonly registryUrl: string;
  /** Where the verifier listens. */
  readonly verifierUrl: string;
  /** The payments provider's verifier API key. */
  readonly apiKey: string;
  /** The verifiers' state: Redis adapters with REDIS_URL, in-process ones otherwise. */
  readonly state: VerifierState;
  /** The verifiers' DPoP nonce secret, which the in-process engine shares. */
  readonly nonceSecret: Uint8Array;
  /** Makes every admission (DPoP replay mark and envelope counters) fail as a Redis outage would. */
  setStateOutage(down: boolean): void;
  close(): Promise<void>;
}

/** Where this run's data lives: PGlite and in-process state unless DATABASE_URL / REDIS_URL. */
export const backends = {
  database: process.env.DATABASE_URL ? "Postgres" : "PGlite",
  state: process.env.REDIS_URL ? "Redis" : "in-process",
};

/**
 * A real registry (a human approving with a software passkey) on its own socket, at its public
 * URL, and a real `@agentauth/verifier` served on another, sharing the registry's revocations,
 * API keys and decision log — through Redis when REDIS_URL is set, and on Postgres when
 * DATABASE_URL is.
 */
export async function startTestPlatform(): Promise<TestPlatform> {
  const cleanups: Array<() => Promise<void>> = [];
  const shared = await sharedState(cleanups);
  const databaseUrl = process.env.DATABASE_URL;
  const test = await startTestRegistryServer({
    ...shared.registry,
    ...(databaseUrl ? { db: await openSchema(databaseUrl, cleanups) } : {}),
  });
  cleanups.push(() => test.close());
  const { apiKey } = await createPaymentsProvider(test.admin);
  const registryUrl = test.url;

  let outage = false;
  const admissionStore: AdmissionStore = {
    admit(request) {
      if (outage)
        return Promise.reject(new StateError("ERR_STATE_UNAVAILABLE", "Redis is unreachable"));
      return shared.admissionStore.admit(request);
    },
  };
  const state: VerifierState = { ...shared.registry, admissionStore };
  const nonceSecret = randomBytes(32);
  const verifier = createVerifier({
    logger: pino({ level: "silent" }),
    clock: test.clock,
    issuer: test.publicUrl,
    jwksUrl: `${registryUrl}/.well-known/jwks.json`,
    state,
    dpopNonceSecret: nonceSecret,
    requireDpopNonce: true,
    clockSkewSeconds: 5,
    apiKeyCacheSeconds: 5,
    tokenCacheSize: 1000,
    auditAllows: "all",
  });
  await verifier.start();
  const verifierServer = await listen(verifier.handler);

  return {
    test,
    issuer: test.publicUrl,
    registryUrl,
    verifierUrl: urlOf(verifierServer),
    apiKey,
    state,
    nonceSecret,
    setStateOutage(down) {
      outage = down;
    },
    async close() {
      await close(verifierServer);
      await verifier.stop();
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}

interface SharedState {
  readonly registry: Required<TestRegistryState>;
  readonly admissionStore: AdmissionStore;
}

async function sharedState(cleanups: Array<() => Promise<void>>): Promise<SharedState> {
  if (!process.env.REDIS_URL) {
    return {
      registry: {
        revocationBus: createMemoryRevocationBus(),
        keyDirectory: createMemoryServiceProviderKeyDirectory(),
        decisionLog: createMemoryDecisionLog(),
      },
      admissionStore: createMemoryAdmissionStore(),
    };
  }
  const keyPrefix = uniqueKeyPrefix();
  const client: Redis = await connectTestRedis();
  cleanups.push(async () => {
    await deleteKeys(client, keyPrefix);
    client.disconnect();
  });
  return {
    registry: {
      revocationBus: createRedisRevocationBus(client, { keyPrefix }),
      keyDirectory: createRedisServiceProviderKeyDirectory(client, { keyPrefix }),
      decisionLog: createRedisDecisionLog(client, { keyPrefix }),
    },
    admissionStore: createRedisAdmissionStore(client, { keyPrefix }),
  };
}

// A schema of this run's own on the Postgres at `databaseUrl`, migrated; dropped at the end.
async function openSchema(
  databaseUrl: string,
  cleanups: Array<() => Promise<void>>,
): Promise<RegistryDatabase["db"]> {
  const schema = `test_express_${randomBytes(6).toString("hex")}`;
  const url = new URL(databaseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  const database: RegistryDatabase = await createDatabase({ databaseUrl: url.href });
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(database.db);
  cleanups.push(async () => {
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
    await database.close();
  });
  await migrateToLatest(database.db, { migrationsDir: findMigrationsDir() });
  return database.db;
}

/** Serves `listener` on an ephemeral port of 127.0.0.1. */
export async function listen(listener: RequestListener): Promise<Server> {
  const server = createServer(listener);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

export function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function close(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  server.close();
  await once(server, "close");
}
