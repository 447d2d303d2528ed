import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createDatabase,
  createFileSigner,
  createPgSigningKeyStore,
  createRegistry,
  createSigningKeyRing,
  ensureFirstHumanInvitation,
  findMigrationsDir,
  migrateToLatest,
  type Registry,
  type RegistryDatabase,
} from "@agentauth/registry";
import {
  createMemoryDecisionLog,
  createMemoryFixedWindowLimiter,
  createMemoryQuotaStore,
  createMemoryReplayStore,
  createMemoryRevocationBus,
  createMemoryServiceProviderKeyDirectory,
} from "@agentauth/state";
import { createVerifier } from "@agentauth/verifier";
import { sql } from "kysely";
import { pino } from "pino";

export interface E2eRegistry {
  /** `http://localhost:<port>`: issuer, WebAuthn origin (RP ID `localhost`), the app's origin. */
  readonly publicUrl: string;
  readonly registry: Registry;
  /** A verifier sharing the registry's in-process state (API keys, revocations, decisions). */
  readonly verifierUrl: string;
  readonly database: "postgres" | "pglite";
  /** The one-time link for enrolling the first human, as `npm start` prints it. */
  readonly invitationUrl: string;
  close(): Promise<void>;
}

/**
 * The real registry listening on a free port of 127.0.0.1 and serving the built approval app,
 * on its own schema of `DATABASE_URL` when set (CI), else on an in-memory PGlite, and a real
 * verifier beside it; in-process state adapters shared by both, as `npm start` wires them on
 * embedded defaults. No human exists yet.
 */
export async function startE2eRegistry(options: { approvalAppDir: string }): Promise<E2eRegistry> {
  const server = await listenOnFreePort(createServer());
  const publicUrl = `http://localhost:${portOf(server)}`;

  const { database, dropSchema } = await openDatabase();
  await migrateToLatest(database.db, { migrationsDir: findMigrationsDir() });
  const keyDir = await mkdtemp(join(tmpdir(), "agentauth-approval-e2e-"));
  const keyFile = join(keyDir, "signing-key.pem");
  const clock = { now: () => new Date() };
  const keyRing = createSigningKeyRing({
    signer: await createFileSigner(keyFile),
    store: createPgSigningKeyStore(database.db),
    now: () => clock.now(),
  });
  await keyRing.activate();
  const revocationBus = createMemoryRevocationBus();
  const keyDirectory = createMemoryServiceProviderKeyDirectory();
  const decisionLog = createMemoryDecisionLog();
  const registry = createRegistry({
    db: database.db,
    clock,
    logger: pino({ level: "silent" }),
    publicUrl,
    rpId: "localhost",
    rpName: "AgentAuth e2e",
    keyRing,
    replayStore: createMemoryReplayStore(),
    revocationBus,
    keyDirectory,
    decisionLog,
    limiter: createMemoryFixedWindowLimiter(),
    dpopNonceSecret: randomBytes(32),
    accessTokenLifetimeSeconds: 600,
    readinessChecks: {},
    approvalAppDir: options.approvalAppDir,
  });
  registry.start();
  server.on("request", registry.app);
  const invitationUrl = await ensureFirstHumanInvitation(database.db, {
    publicUrl,
    now: clock.now(),
  });
  if (invitationUrl === undefined) throw new Error("expected no human yet");

  const verifier = createVerifier({
    logger: pino({ level: "silent" }),
    clock,
    issuer: publicUrl,
    jwksUrl: `http://127.0.0.1:${portOf(server)}/.well-known/jwks.json`,
    state: {
      replayStore: createMemoryReplayStore(),
      quotaStore: createMemoryQuotaStore(),
      revocationBus,
      keyDirectory,
      decisionLog,
    },
    dpopNonceSecret: randomBytes(32),
    requireDpopNonce: false,
    clockSkewSeconds: 5,
    apiKeyCacheSeconds: 1,
    tokenCacheSize: 100,
    auditAllows: "all",
  });
  await verifier.start();
  const verifierServer = await listenOnFreePort(createServer(verifier.handler));

  return {
    publicUrl,
    registry,
    verifierUrl: `http://127.0.0.1:${portOf(verifierServer)}`,
    database: database.kind,
    invitationUrl,
    async close() {
      await closeServer(verifierServer);
      await verifier.stop();
      await closeServer(server);
      await registry.stop();
      await dropSchema();
      await database.close();
      await rm(keyDir, { recursive: true, force: true });
    },
  };
}

async function openDatabase(): Promise<{
  database: RegistryDatabase;
  dropSchema: () => Promise<void>;
}> {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl === undefined || databaseUrl === "") {
    return { database: await createDatabase({}), dropSchema: async () => undefined };
  }
  // A schema of our own: other suites use the same database at the same time.
  const schema = `e2e_${randomBytes(8).toString("hex")}`;
  const url = new URL(databaseUrl);
  url.searchParams.set(
    "options",
    `${url.searchParams.get("options") ?? ""} -c search_path=${schema}`.trim(),
  );
  const database = await createDatabase({ databaseUrl: url.href });
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(database.db);
  return {
    database,
    dropSchema: async () => {
      await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
    },
  };
}

async function listenOnFreePort(server: Server): Promise<Server> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
