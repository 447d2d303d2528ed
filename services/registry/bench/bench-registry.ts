import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BenchmarkScope,
  freePort,
  type ServiceProcess,
  startServiceProcess,
} from "@agentauth/bench-kit";
import { sql } from "kysely";
import { createDatabase } from "../src/db/create-database.js";
import { findMigrationsDir, migrateToLatest } from "../src/db/migrate.js";

const MAIN_JS = fileURLToPath(new URL("../src/main.js", import.meta.url));
const INVITATION = /(https?:\/\/\S+\/enrol#\S+)/;

export interface StartBenchRegistryOptions {
  /** The Postgres server; the registry gets a fresh schema of it, dropped at the end. */
  readonly databaseUrl: string;
  /** Redis for the replay store, limiter and revocation bus; unset: in-process state. */
  readonly redisUrl: string | undefined;
  /** How many processes it may run: their ports are chosen now. */
  readonly maxProcesses: number;
  /** When set, the registry processes run with `--cpu-prof` and write their profiles there. */
  readonly cpuProfileDir?: string | undefined;
  /** `ACCESS_TOKEN_LIFETIME_SECONDS`; default the registry's. */
  readonly accessTokenLifetimeSeconds?: number;
}

/** A registry started for a benchmark: one process at first, more on demand. */
export interface BenchRegistry {
  readonly schema: string;
  /** The `PUBLIC_URL` every process serves, as replicas behind one load balancer do. */
  readonly publicUrl: string;
  /** The first-human enrolment link the first process printed. */
  readonly invitationUrl: string;
  /** The processes running, in the order they started. */
  readonly processes: readonly ServiceProcess[];
  /** Starts one more process (at most `maxProcesses`). */
  startProcess(): Promise<ServiceProcess>;
  /** The Postgres processes that work for this run: its connections' backends and the server's own. */
  postgresPids(): Promise<ReadonlySet<number>>;
}

/**
 * Starts the registry for real (`dist/src/main.js`, wired as in production: a `pg` pool on a
 * fresh, migrated schema of `databaseUrl`, the file signer and key ring, Redis state when
 * `redisUrl` is set). Everything is removed when the benchmark ends.
 */
export async function startBenchRegistry(
  scope: BenchmarkScope,
  options: StartBenchRegistryOptions,
): Promise<BenchRegistry> {
  // A fresh schema: every connection of every pool resolves unqualified names in it only.
  const schema = `bench_${randomBytes(6).toString("hex")}`;
  const schemaUrl = new URL(options.databaseUrl);
  schemaUrl.searchParams.set(
    "options",
    `${schemaUrl.searchParams.get("options") ?? ""} -c search_path=${schema}`.trim(),
  );
  // Names the registry's connections, so their Postgres backends can be told from other clients'.
  schemaUrl.searchParams.set("application_name", schema);
  const admin = await createDatabase({ databaseUrl: options.databaseUrl });
  scope.defer(() => admin.close());
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(admin.db);
  scope.defer(async () => {
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(admin.db);
  });
  const migrator = await createDatabase({ databaseUrl: schemaUrl.href, poolSize: 1 });
  try {
    await migrateToLatest(migrator.db, { migrationsDir: findMigrationsDir() });
  } finally {
    await migrator.close();
  }

  const dataDir = await mkdtemp(join(tmpdir(), "agentauth-bench-"));
  scope.defer(() => rm(dataDir, { recursive: true, force: true }));
  const ports = await Promise.all(Array.from({ length: options.maxProcesses }, () => freePort()));
  const publicUrl = `http://localhost:${ports[0]}`;
  const env = registryEnvironment({
    databaseUrl: schemaUrl.href,
    redisUrl: options.redisUrl,
    publicUrl,
    dataDir,
    // Shared by the processes, as replicas share it in production.
    dpopNonceSecret: randomBytes(32).toString("hex"),
    accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds,
  });

  const processes: ServiceProcess[] = [];
  const startProcess = async (): Promise<ServiceProcess> => {
    const port = ports[processes.length];
    if (port === undefined) throw new Error(`at most ${options.maxProcesses} registry processes`);
    const first = processes.length === 0;
    const started = await startServiceProcess(scope, {
      name: "registry",
      mainJs: MAIN_JS,
      env: { ...env, PORT: String(port) },
      baseUrl: `http://127.0.0.1:${port}`,
      cpuProfileDir: options.cpuProfileDir,
      ...(first ? { startedWhen: (output: string) => INVITATION.test(output) } : {}),
    });
    processes.push(started);
    return started;
  };
  const first = await startProcess();
  const invitationUrl = INVITATION.exec(first.output)?.[1];
  if (invitationUrl === undefined) throw new Error("the registry printed no invitation");

  return {
    schema,
    publicUrl,
    invitationUrl,
    processes,
    startProcess,
    async postgresPids() {
      const { rows } = await sql<{ pid: number }>`
        SELECT pid FROM pg_stat_activity
        WHERE application_name = ${schema} OR backend_type <> 'client backend'
      `.execute(admin.db);
      return new Set(rows.map((row) => Number(row.pid)));
    },
  };
}

/** The registry's environment: ours, less its own settings, plus the bench's. */
function registryEnvironment(values: {
  databaseUrl: string;
  redisUrl: string | undefined;
  publicUrl: string;
  dataDir: string;
  dpopNonceSecret: string;
  accessTokenLifetimeSeconds: number | undefined;
}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of [
    "PORT",
    "HOST",
    "PUBLIC_URL",
    "WEBAUTHN_RP_ID",
    "WEBAUTHN_RP_NAME",
    "DATABASE_URL",
    "REDIS_URL",
    "AGENTAUTH_DATA_DIR",
    "SIGNER",
    "SIGNING_KEY_FILE",
    "KMS_KEY_ID",
    "KMS_ENDPOINT",
    "DPOP_NONCE_SECRET",
    "ACCESS_TOKEN_LIFETIME_SECONDS",
    "LOG_LEVEL",
    "TRUST_PROXY",
  ]) {
    delete env[key];
  }
  return {
    ...env,
    HOST: "127.0.0.1",
    PUBLIC_URL: values.publicUrl,
    DATABASE_URL: values.databaseUrl,
    ...(values.redisUrl === undefined ? {} : { REDIS_URL: values.redisUrl }),
    AGENTAUTH_DATA_DIR: values.dataDir,
    SIGNER: "file",
    DPOP_NONCE_SECRET: values.dpopNonceSecret,
    ...(values.accessTokenLifetimeSeconds === undefined
      ? {}
      : { ACCESS_TOKEN_LIFETIME_SECONDS: String(values.accessTokenLifetimeSeconds) }),
    LOG_LEVEL: "info",
  };
}
