// `@agentauth/embedded-platform/testing`: the examples' end-to-end test platform — the real
// co-hosting process (`startPlatform`: registry and verifier sharing state) on a fresh data
// directory, its first human enrolled with a software passkey through the printed link, the
// demo service providers provisioned. PGlite and in-process state by default; a Postgres schema
// and a Redis key prefix of its own when DATABASE_URL and REDIS_URL are set. Test-only (Vitest).
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { type DemoServiceProvider, readApiKeyFile } from "@agentauth/examples-kit";
import {
  type AgentAuth,
  createAgentAuth,
  createRemoteVerification,
  type Verification,
} from "@agentauth/express";
import { createDatabase } from "@agentauth/registry";
import {
  approve,
  createHumanClient,
  createSoftwareAuthenticator,
  type HumanClient,
} from "@agentauth/registry/testing";
import {
  type Agent,
  type Clock,
  type CreateAgentOptions,
  createAgent,
  type RequestGrantOptions,
} from "@agentauth/sdk";
import { connectTestRedis, deleteKeys, uniqueKeyPrefix } from "@agentauth/state/testing";
import { sql } from "kysely";
import { pino } from "pino";
import { expect } from "vitest";
import { parsePlatformConfig } from "../src/platform-config.js";
import { type Platform, startPlatform } from "../src/start-platform.js";

/** Where the test platform keeps its data. */
export interface TestBackend {
  readonly name: string;
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
}

/** PGlite and in-process state; Postgres and Redis when DATABASE_URL and REDIS_URL are set. */
export function testBackend(): TestBackend {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  return databaseUrl && redisUrl
    ? { name: "Postgres, Redis", databaseUrl, redisUrl }
    : { name: "PGlite, in-process state" };
}

/**
 * Simulated time shared by the registry, the verifier and the agents of a test: real time plus
 * an offset; a wait does not wait, it moves the offset (so polling every 5 s takes no time).
 */
export interface TestClock extends Clock {
  advance(seconds: number): void;
}

export function createTestClock(): TestClock {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    advance(seconds) {
      offsetMs += seconds * 1000;
    },
    async sleep(ms, signal) {
      signal?.throwIfAborted();
      offsetMs += ms;
      // Let other work run, as a real wait would.
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    },
  };
}

export interface AgentWithGrant {
  readonly agent: Agent;
  readonly grantId: string;
}

export interface TestPlatform {
  readonly platform: Platform;
  /** The platform's time: simulated, unless started with `clock: "system"` (then not advanceable). */
  readonly clock: TestClock;
  readonly backend: TestBackend;
  readonly registryUrl: string;
  readonly verifierUrl: string;
  readonly dataDir: string;
  readonly ports: { readonly registry: number; readonly verifier: number };
  /** The first human (an admin), enrolled with a software passkey. */
  readonly admin: HumanClient;
  /** The demo service providers' verifier API keys, by service provider id. */
  readonly apiKeys: Readonly<Record<string, string>>;
  /** A fresh agent enrolment code from the admin. */
  enrolmentCode(agentName?: string): Promise<string>;
  /** The admin approves the grant request (optionally narrowed) with their passkey. */
  approve(requestId: string, details?: unknown): Promise<{ grantId: string }>;
  deny(requestId: string, reason: string): Promise<void>;
  revokeGrant(grantId: string): Promise<void>;
  /** A new agent (memory key store, the platform's clock), enrolled, holding an approved grant. */
  agentWithGrant(
    request: Omit<RequestGrantOptions, "bindingMessage">,
    agentOptions?: Partial<CreateAgentOptions>,
  ): Promise<AgentWithGrant>;
  close(): Promise<void>;
}

/** A service provider of a test, guarded by `@agentauth/express` over the platform's verifier. */
export interface GuardedServiceProvider {
  readonly url: string;
  readonly server: Server;
  readonly agentAuth: AgentAuth;
  close(): Promise<void>;
}

export interface StartGuardedServiceProviderOptions {
  /** Another verifier URL (e.g. one nobody listens on); default the platform's. */
  readonly verifierUrl?: string;
  /** Wraps the remote verification (e.g. to count the decisions asked for). */
  readonly wrapVerification?: (verification: Verification) => Verification;
}

/**
 * Serves `build(agentAuth)` on a port of its own as service provider `provider`, with its
 * demo API key, asking the platform's verifier over HTTP as the examples do.
 */
export async function startGuardedServiceProvider(
  test: TestPlatform,
  provider: DemoServiceProvider,
  build: (agentAuth: AgentAuth) => RequestListener,
  options: StartGuardedServiceProviderOptions = {},
): Promise<GuardedServiceProvider> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://localhost:${(server.address() as AddressInfo).port}`;
  const remote = createRemoteVerification({
    verifierUrl: options.verifierUrl ?? test.verifierUrl,
    apiKey: test.apiKeys[provider.id] as string,
    timeoutMs: 2000,
  });
  const agentAuth = createAgentAuth({
    verification: options.wrapVerification?.(remote) ?? remote,
    serviceProvider: provider.id,
    authorizationServer: test.registryUrl,
    publicUrl: url,
  });
  server.on("request", build(agentAuth));
  return {
    url,
    server,
    agentAuth,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agentAuth.close();
    },
  };
}

/** A port that was free a moment ago (the registry's public URL must name it before it listens). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface StartTestPlatformOptions {
  /** An existing data directory (to test restarts); default a fresh temporary one. */
  readonly dataDir?: string;
  /** Enrol the first human and wait for the demo service providers (default true). */
  readonly enrolFirstHuman?: boolean;
  /** "system" for agents in other processes (real time); default simulated time. */
  readonly clock?: "simulated" | "system";
  /** Embedded defaults even when DATABASE_URL and REDIS_URL are set (restart tests). */
  readonly embedded?: boolean;
  /** The registry's and verifier's ports (a restart keeps them); default free ones. */
  readonly ports?: { readonly registry: number; readonly verifier: number };
}

let bindingMessages = 0;

export async function startTestPlatform(
  options: StartTestPlatformOptions = {},
): Promise<TestPlatform> {
  const backend: TestBackend =
    options.embedded === true ? { name: "PGlite, in-process state" } : testBackend();
  const clock: TestClock =
    options.clock === "system"
      ? {
          now: () => new Date(),
          sleep: (ms, signal) => delay(ms, undefined, { signal }),
          advance() {
            throw new TypeError("The system clock cannot be advanced");
          },
        }
      : createTestClock();
  const cleanups: Array<() => Promise<unknown>> = [];
  const runCleanups = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  try {
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "agentauth-platform-")));
    if (options.dataDir === undefined)
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = {
      PORT: String(options.ports?.registry ?? (await freePort())),
      VERIFIER_PORT: String(options.ports?.verifier ?? (await freePort())),
      AGENTAUTH_DATA_DIR: dataDir,
      LOG_LEVEL: "silent",
    };
    let redisKeyPrefix: string | undefined;
    if (backend.databaseUrl !== undefined && backend.redisUrl !== undefined) {
      env.DATABASE_URL = await createTestSchema(backend.databaseUrl, cleanups);
      env.REDIS_URL = backend.redisUrl;
      const prefix = uniqueKeyPrefix();
      redisKeyPrefix = prefix;
      cleanups.push(async () => {
        const client = await connectTestRedis({}, backend.redisUrl);
        await deleteKeys(client, prefix);
        client.disconnect();
      });
    }
    const platform = await startPlatform({
      config: parsePlatformConfig(env),
      createLogger: () => pino({ level: "silent" }),
      provisioningIntervalMs: 50,
      clock,
      ...(redisKeyPrefix === undefined ? {} : { redisKeyPrefix }),
    });
    cleanups.push(() => platform.close());

    const admin = createHumanClient(platform.registry.app, {
      authenticator: createSoftwareAuthenticator({
        rpId: "localhost",
        origin: platform.registryUrl,
      }),
    });
    const apiKeys: Record<string, string> = {};
    if (options.enrolFirstHuman !== false) {
      const link = platform.firstHumanInvitation;
      if (link === undefined) throw new Error("expected the first human's enrolment link");
      await admin.enrol(link, { displayName: "Ada" });
      const provisioned = await platform.demoServiceProviders?.provisioned;
      for (const provider of provisioned ?? []) {
        const key = await readApiKeyFile(provider.keyFile);
        if (key !== undefined) apiKeys[provider.id] = key;
      }
    }

    let approvals: Promise<unknown> = Promise.resolve();
    const testPlatform: TestPlatform = {
      platform,
      clock,
      backend,
      registryUrl: platform.registryUrl,
      verifierUrl: platform.verifierUrl,
      dataDir,
      ports: { registry: Number(env.PORT), verifier: Number(env.VERIFIER_PORT) },
      admin,
      apiKeys,
      async enrolmentCode(agentName = "demo agent") {
        const response = await admin.post("/api/agent-enrolment-codes", { name: agentName });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
        return response.body.code as string;
      },
      approve(requestId, details) {
        // One ceremony at a time: the passkey's signature counter must reach the registry in
        // the order the authenticator counted.
        const approval = approvals.then(async () => {
          const response = await approve(
            admin,
            requestId,
            details === undefined ? {} : { details },
          );
          expect(response.status, JSON.stringify(response.body)).toBe(201);
          return { grantId: response.body.id as string };
        });
        approvals = approval.catch(() => {});
        return approval;
      },
      async deny(requestId, reason) {
        const response = await admin.post(`/api/grant-requests/${requestId}/deny`, { reason });
        expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
      },
      async revokeGrant(grantId) {
        const response = await admin.post(`/api/grants/${grantId}/revoke`);
        expect(response.status, JSON.stringify(response.body)).toBe(204);
      },
      async agentWithGrant(request, agentOptions = {}) {
        const agent = await createAgent({
          registryUrl: platform.registryUrl,
          clock,
          ...agentOptions,
        });
        await agent.enroll(await testPlatform.enrolmentCode());
        bindingMessages += 1;
        const pending = await agent.requestGrant({
          ...request,
          bindingMessage: `Test request ${bindingMessages}`,
        });
        const { grantId } = await testPlatform.approve(pending.requestId);
        await pending.waitForApproval();
        return { agent, grantId };
      },
      close: runCleanups,
    };
    return testPlatform;
  } catch (error) {
    await runCleanups();
    throw error;
  }
}

/** A schema of its own on the suites' Postgres, dropped at the end; answers its URL. */
async function createTestSchema(
  databaseUrl: string,
  cleanups: Array<() => Promise<unknown>>,
): Promise<string> {
  const schema = `examples_test_${randomBytes(8).toString("hex")}`;
  const admin = await createDatabase({ databaseUrl });
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(admin.db);
  await admin.close();
  cleanups.push(async () => {
    const dropper = await createDatabase({ databaseUrl });
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(dropper.db);
    await dropper.close();
  });
  const url = new URL(databaseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return url.href;
}
