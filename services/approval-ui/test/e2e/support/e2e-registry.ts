import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createMemoryFixedWindowLimiter,
  createMemoryReplayStore,
  createMemoryRevocationBus,
} from "@agentauth/state";
import { sql } from "kysely";
import { pino } from "pino";
// The registry exposes no public surface for starting it in-process with a chosen origin and no
// enrolled human yet, which these tests need (the first human enrols in the browser): its own
// modules are used directly, as its `main.ts` wires them.
import { createRegistry, type Registry } from "../../../../registry/src/create-registry.js";
import {
  createDatabase,
  type RegistryDatabase,
} from "../../../../registry/src/db/create-database.js";
import { findMigrationsDir, migrateToLatest } from "../../../../registry/src/db/migrate.js";
import { ensureFirstHumanInvitation } from "../../../../registry/src/humans/invitations.js";
import { createFileSigner } from "../../../../registry/src/signing/file-signer.js";
import { createPgSigningKeyStore } from "../../../../registry/src/signing/pg-signing-key-store.js";
import { createSigningKeyRing } from "../../../../registry/src/signing/signing-key-ring.js";

export interface E2eRegistry {
  /** `http://localhost:<port>`: issuer, WebAuthn origin (RP ID `localhost`), the app's origin. */
  readonly publicUrl: string;
  readonly registry: Registry;
  readonly database: "postgres" | "pglite";
  /** The one-time link for enrolling the first human, as `npm start` prints it. */
  readonly invitationUrl: string;
  close(): Promise<void>;
}

/**
 * The real registry listening on a free port of 127.0.0.1 and serving the built approval app,
 * on its own schema of `DATABASE_URL` when set (CI), else on an in-memory PGlite; in-process
 * state adapters. No human exists yet.
 */
export async function startE2eRegistry(options: { approvalAppDir: string }): Promise<E2eRegistry> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const publicUrl = `http://localhost:${address.port}`;

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
  const registry = createRegistry({
    db: database.db,
    clock,
    logger: pino({ level: "silent" }),
    publicUrl,
    rpId: "localhost",
    rpName: "AgentAuth e2e",
    keyRing,
    replayStore: createMemoryReplayStore(),
    revocationBus: createMemoryRevocationBus(),
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

  return {
    publicUrl,
    registry,
    database: database.kind,
    invitationUrl,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
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
