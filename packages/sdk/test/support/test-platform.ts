import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import {
  createDatabase,
  findMigrationsDir,
  migrateToLatest,
  type Registry,
} from "@agentauth/registry";
import {
  approve,
  createPaymentsProvider,
  type HumanClient,
  PAYMENTS,
  startTestRegistryServer,
} from "@agentauth/registry/testing";
import {
  createMemoryAdmissionStore,
  createMemoryDecisionLog,
  createMemoryFixedWindowLimiter,
  createMemoryReplayStore,
  createMemoryRevocationBus,
  createMemoryServiceProviderKeyDirectory,
  createRedisAdmissionStore,
  createRedisDecisionLog,
  createRedisFixedWindowLimiter,
  createRedisReplayStore,
  createRedisRevocationBus,
  createRedisServiceProviderKeyDirectory,
} from "@agentauth/state";
import { connectTestRedis, deleteKeys, uniqueKeyPrefix } from "@agentauth/state/testing";
import { createVerifier, type Verifier } from "@agentauth/verifier";
import { sql } from "kysely";
import { pino } from "pino";
import { describe, expect } from "vitest";
import { type Agent, createAgent } from "../../src/agent.js";
import type { CreateAgentOptions } from "../../src/options.js";
import { createRecordingFetch, type RecordingFetch } from "./recording-fetch.js";
import { createTestClock, type TestClock } from "./test-clock.js";
import {
  close,
  listen,
  startTestServiceProvider,
  type TestServiceProvider,
} from "./test-service-provider.js";

/** Where the platform keeps its state: embedded defaults, or the suites' Postgres and Redis. */
export interface Backend {
  readonly name: string;
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
}

/**
 * The real platform, each part on its own HTTP socket: the registry (its public URL is its
 * socket, so DPoP `htu` checks are the production ones), a verifier fetching its JWKS and
 * hearing its revocations, and a test service provider asking that verifier. A human (the first
 * admin) approves with a software passkey. Time is simulated and shared by all of them.
 */
export interface TestPlatform {
  readonly backend: Backend;
  readonly registryUrl: string;
  readonly registry: Registry;
  readonly clock: TestClock;
  readonly admin: HumanClient;
  /** The payments service provider's id at the registry (`https://payments.example.com`). */
  readonly serviceProviderId: string;
  readonly serviceProvider: TestServiceProvider;
  /** The payments provider's verifier API key. */
  readonly apiKey: string;
  readonly verifierUrl: string;
  /** A fresh enrolment code from the admin. */
  enrolmentCode(name?: string): Promise<string>;
  /** An agent on this platform (with a recording fetch), not enrolled yet. */
  createAgent(
    options?: Partial<CreateAgentOptions>,
  ): Promise<{ agent: Agent; fetch: RecordingFetch }>;
  /** An enrolled agent holding an approved grant for the payments provider. */
  agentWithGrant(
    options?: Partial<CreateAgentOptions> & { details?: GrantDetails },
  ): Promise<{ agent: Agent; fetch: RecordingFetch }>;
  /** The admin approves `requestId` with their passkey (optionally narrowing it). */
  approve(requestId: string, details?: unknown): Promise<{ grantId: string }>;
  deny(requestId: string, reason: string): Promise<void>;
  /** The admin revokes a grant in the approval app. */
  revokeGrant(grantId: string): Promise<void>;
  close(): Promise<void>;
}

export interface GrantDetails {
  readonly capabilities: Array<Record<string, unknown>>;
  readonly envelope?: Record<string, unknown>;
}

/** What the payments provider is asked for by default: pay ACME up to 50 EUR, 200 EUR a day. */
export const PAYMENT_GRANT: GrantDetails = {
  capabilities: [
    { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
    { type: "read", resource: "balance" },
  ],
  envelope: { spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }] },
};

/** The embedded defaults, and the suites' Postgres and/or Redis when `DATABASE_URL` / `REDIS_URL` are set. */
export function backends(): Backend[] {
  const list: Backend[] = [{ name: "PGlite, in-process state" }];
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const redisUrl = process.env.REDIS_URL || undefined;
  if (databaseUrl !== undefined || redisUrl !== undefined) {
    list.push({
      name: `${databaseUrl === undefined ? "PGlite" : "Postgres"}, ${redisUrl === undefined ? "in-process state" : "Redis"}`,
      ...(databaseUrl === undefined ? {} : { databaseUrl }),
      ...(redisUrl === undefined ? {} : { redisUrl }),
    });
  }
  return list;
}

/** Declares `suite` once per {@link backends} entry. */
export function describeEachBackend(title: string, suite: (backend: Backend) => void): void {
  for (const backend of backends()) describe(`${title} (${backend.name})`, () => suite(backend));
}

/** Pays ACME 5 EUR at the payments provider, with the agent's grant for it. */
export function payAcme(platform: TestPlatform, agent: Agent): Promise<Response> {
  return agent.fetch(`${platform.serviceProvider.url}/payments`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ merchant: "acme", amount: "5.00", currency: "EUR" }),
    serviceProvider: platform.serviceProviderId,
  });
}

let bindingMessages = 0;
/** A binding message no other request of the run has, so requests are never de-duplicated. */
export function uniqueBindingMessage(): string {
  bindingMessages += 1;
  return `Order ${bindingMessages}`;
}

export async function startTestPlatform(backend: Backend): Promise<TestPlatform> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const clock = createTestClock();
  try {
    const database = await openDatabase(backend, cleanups);
    const state = await openState(backend, cleanups);

    // The registry's public URL is its socket, so DPoP `htu` checks are the production ones.
    const test = await startTestRegistryServer({
      db: database,
      clock,
      replayStore: state.registryReplayStore,
      limiter: state.limiter,
      revocationBus: state.revocationBus,
      keyDirectory: state.keyDirectory,
      decisionLog: state.decisionLog,
    });
    cleanups.push(() => test.close());
    const { registry, admin, url: registryUrl } = test;
    const { apiKey } = await createPaymentsProvider(admin);

    const verifier: Verifier = createVerifier({
      logger: pino({ level: "silent" }),
      clock,
      issuer: registryUrl,
      jwksUrl: `${registryUrl}/.well-known/jwks.json`,
      state: {
        admissionStore: state.admissionStore,
        revocationBus: state.revocationBus,
        keyDirectory: state.keyDirectory,
        decisionLog: state.decisionLog,
      },
      dpopNonceSecret: randomBytes(32),
      requireDpopNonce: true,
      clockSkewSeconds: 5,
      apiKeyCacheSeconds: 5,
      tokenCacheSize: 1000,
      auditAllows: "all",
    });
    await verifier.start();
    cleanups.push(() => verifier.stop());
    const verifierServer: Server = createServer(verifier.handler);
    const verifierUrl = await listen(verifierServer);
    cleanups.push(() => close(verifierServer));
    const serviceProvider = await startTestServiceProvider({ verifierUrl, apiKey });
    cleanups.push(() => serviceProvider.close());

    const platform: TestPlatform = {
      backend,
      registryUrl,
      registry,
      clock,
      admin,
      serviceProviderId: PAYMENTS,
      serviceProvider,
      apiKey,
      verifierUrl,
      async enrolmentCode(name = "travel bot") {
        const response = await admin.post("/api/agent-enrolment-codes", { name });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
        return response.body.code as string;
      },
      async createAgent(options = {}) {
        const recording = createRecordingFetch();
        const agent = await createAgent({
          registryUrl,
          clock,
          fetch: recording.fetch,
          ...options,
        });
        return { agent, fetch: recording };
      },
      async agentWithGrant(options = {}) {
        const { details = PAYMENT_GRANT, ...agentOptions } = options;
        const created = await platform.createAgent(agentOptions);
        await created.agent.enroll(await platform.enrolmentCode());
        const request = await created.agent.requestGrant({
          serviceProvider: PAYMENTS,
          capabilities: details.capabilities as never,
          ...(details.envelope === undefined ? {} : { envelope: details.envelope as never }),
          bindingMessage: uniqueBindingMessage(),
        });
        await platform.approve(request.requestId);
        await request.waitForApproval();
        return created;
      },
      async approve(requestId, details) {
        const response = await approve(admin, requestId, details === undefined ? {} : { details });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
        return { grantId: response.body.id as string };
      },
      async deny(requestId, reason) {
        const response = await admin.post(`/api/grant-requests/${requestId}/deny`, { reason });
        expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
      },
      async revokeGrant(grantId) {
        const response = await admin.post(`/api/grants/${grantId}/revoke`);
        expect(response.status, JSON.stringify(response.body)).toBe(204);
      },
      async close() {
        await runCleanups(cleanups);
      },
    };
    return platform;
  } catch (error) {
    await runCleanups(cleanups);
    throw error;
  }
}

async function runCleanups(cleanups: Array<() => Promise<unknown>>): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch(() => {});
  }
}

// One in-memory PGlite per test worker (a fresh one costs seconds and hundreds of MB); each
// platform gets a schema of its own on it, dropped when it closes. It goes with the worker.
let sharedPglite: ReturnType<typeof createDatabase> | undefined;

/** A schema of its own, migrated: on the worker's PGlite, or on the suites' Postgres. */
async function openDatabase(backend: Backend, cleanups: Array<() => Promise<unknown>>) {
  const schema = `sdk_test_${randomBytes(8).toString("hex")}`;
  if (backend.databaseUrl === undefined) {
    sharedPglite ??= createDatabase({});
    const { db } = await sharedPglite;
    await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(db);
    await sql`SET search_path TO ${sql.id(schema)}`.execute(db);
    cleanups.push(async () => {
      await sql`RESET search_path`.execute(db);
      await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(db);
    });
    await migrateToLatest(db, { migrationsDir: findMigrationsDir() });
    return db;
  }
  // Every connection of the pool resolves unqualified names in the schema only.
  const url = new URL(backend.databaseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  const database = await createDatabase({ databaseUrl: url.href });
  cleanups.push(async () => {
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
    await database.close();
  });
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(database.db);
  await migrateToLatest(database.db, { migrationsDir: findMigrationsDir() });
  return database.db;
}

/** In-process state shared by registry and verifier, or Redis under a key prefix of its own. */
async function openState(backend: Backend, cleanups: Array<() => Promise<unknown>>) {
  if (backend.redisUrl === undefined) {
    return {
      registryReplayStore: createMemoryReplayStore(),
      admissionStore: createMemoryAdmissionStore(),
      revocationBus: createMemoryRevocationBus(),
      limiter: createMemoryFixedWindowLimiter(),
      keyDirectory: createMemoryServiceProviderKeyDirectory(),
      decisionLog: createMemoryDecisionLog(),
    };
  }
  const client = await connectTestRedis({}, backend.redisUrl);
  const keyPrefix = uniqueKeyPrefix();
  cleanups.push(async () => {
    await deleteKeys(client, keyPrefix);
    client.disconnect();
  });
  const decisionLog = createRedisDecisionLog(client, { keyPrefix });
  cleanups.push(() => decisionLog.close());
  return {
    registryReplayStore: createRedisReplayStore(client, { keyPrefix }),
    admissionStore: createRedisAdmissionStore(client, { keyPrefix }),
    revocationBus: createRedisRevocationBus(client, { keyPrefix }),
    limiter: createRedisFixedWindowLimiter(client, { keyPrefix }),
    keyDirectory: createRedisServiceProviderKeyDirectory(client, { keyPrefix }),
    decisionLog,
  };
}
