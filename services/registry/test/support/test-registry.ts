import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createMemoryDecisionLog,
  createMemoryFixedWindowLimiter,
  createMemoryReplayStore,
  createMemoryRevocationBus,
  createMemoryServiceProviderKeyDirectory,
  type DecisionLog,
  type FixedWindowLimiter,
  type ReplayStore,
  type RevocationBus,
  type ServiceProviderKeyDirectory,
} from "@agentauth/state";
import type { Express } from "express";
import type { Kysely } from "kysely";
import { pino } from "pino";
import request from "supertest";
import type { Clock } from "../../src/clock.js";
import { createRegistry, type Registry } from "../../src/create-registry.js";
import type { Database } from "../../src/db/database.js";
import { ensureFirstHumanInvitation } from "../../src/humans/invitations.js";
import { createSigningKeyRingFromConfig } from "../../src/signing/create-signing-key-ring-from-config.js";
import type { SigningKeyRing } from "../../src/signing/signing-key-ring.js";
import {
  type CreateTestAgentOptions,
  createTestAgent,
  type TestAgent,
} from "../kit/agent-client.js";
import { createHumanClient, type HumanClient } from "../kit/human-client.js";
import { createSoftwareAuthenticator } from "../kit/software-authenticator.js";

/** The public URL of a test registry that is given none (supertest calls need no socket). */
export const PUBLIC_URL = "http://localhost:4000";

/** Real time plus an offset tests can advance (DPoP proofs are made with the same clock). */
export interface OffsetClock extends Clock {
  advance(seconds: number): void;
}

export function createOffsetClock(): OffsetClock {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    advance(seconds) {
      offsetMs += seconds * 1000;
    },
  };
}

export interface TestRegistry {
  readonly registry: Registry;
  /**
   * The registry's public URL: its issuer, the base of every DPoP `htu` it accepts, the passkey
   * origin (its host name is the RP ID). {@link PUBLIC_URL} unless `publicUrl` said otherwise.
   */
  readonly publicUrl: string;
  readonly clock: OffsetClock;
  readonly revocationBus: RevocationBus;
  /** The first human, enrolled with a passkey and signed in: an admin. */
  readonly admin: HumanClient;
  /** The file signer's key file, reloaded by the key ring as `main.ts` has it. */
  readonly signingKeyFile: string;
  /** The registry's key ring: `activate()` picks up a rotated key file at once. */
  readonly keyRing: SigningKeyRing;
  /** Where API keys are published, for a verifier in this process to share. */
  readonly keyDirectory: ServiceProviderKeyDirectory;
  /** Where verifiers append their decisions, for a verifier in this process to share. */
  readonly decisionLog: DecisionLog;
}

/** Shared state a test provides instead of the in-process default (e.g. a Redis adapter). */
export interface TestRegistryState {
  readonly revocationBus?: RevocationBus;
  readonly keyDirectory?: ServiceProviderKeyDirectory;
  readonly decisionLog?: DecisionLog;
}

/** How a test registry is built: its state, the URL it is reached at and its clock. */
export interface TestRegistryOptions extends TestRegistryState {
  /** Where the registry marks the single-use values (DPoP and assertion `jti`s) it has seen. */
  readonly replayStore?: ReplayStore;
  /** The registry's rate limits (enrolment, grant requests). */
  readonly limiter?: FixedWindowLimiter;
  /**
   * The URL the registry is reached at, without a trailing slash; default {@link PUBLIC_URL}.
   * Serve `registry.app` there (or use `startTestRegistryServer`, which does) when something
   * other than supertest calls it: the registry accepts DPoP proofs only for this URL.
   */
  readonly publicUrl?: string;
  /** The clock the registry reads and the kit's agents make proofs with; default a fresh one. */
  readonly clock?: OffsetClock;
}

/**
 * The whole registry on `db` with in-process state (or `options`' adapters), a real key file
 * and a first admin.
 */
export async function createTestRegistry(
  db: Kysely<Database>,
  options: TestRegistryOptions = {},
): Promise<TestRegistry> {
  const publicUrl = options.publicUrl ?? PUBLIC_URL;
  if (publicUrl.endsWith("/")) throw new TypeError("publicUrl must not end with a slash");
  const clock = options.clock ?? createOffsetClock();
  const signingKeyFile = join(
    await mkdtemp(join(tmpdir(), "agentauth-registry-")),
    "signing-key.pem",
  );
  // Wired as `main.ts` wires it: the file signer, reloaded at each activation.
  const keyRing = await createSigningKeyRingFromConfig({
    signer: { kind: "file", path: signingKeyFile },
    db,
    now: () => clock.now(),
  });
  await keyRing.activate();
  const revocationBus = options.revocationBus ?? createMemoryRevocationBus();
  const keyDirectory = options.keyDirectory ?? createMemoryServiceProviderKeyDirectory();
  const decisionLog = options.decisionLog ?? createMemoryDecisionLog();
  const registry = createRegistry({
    db,
    clock,
    logger: pino({ level: "silent" }),
    publicUrl,
    // As `main.ts` defaults it: the public URL's host name.
    rpId: new URL(publicUrl).hostname,
    rpName: "AgentAuth tests",
    keyRing,
    replayStore: options.replayStore ?? createMemoryReplayStore(),
    revocationBus,
    limiter: options.limiter ?? createMemoryFixedWindowLimiter(),
    keyDirectory,
    decisionLog,
    dpopNonceSecret: randomBytes(32),
    accessTokenLifetimeSeconds: 600,
    readinessChecks: {},
  });
  const invitation = await ensureFirstHumanInvitation(db, { publicUrl, now: clock.now() });
  if (invitation === undefined) throw new Error("expected an empty database");
  const admin = createBrowserHuman(registry.app, publicUrl);
  await admin.enrol(invitation, { displayName: "Ada" });
  return {
    registry,
    publicUrl,
    clock,
    revocationBus,
    admin,
    signingKeyFile,
    keyRing,
    keyDirectory,
    decisionLog,
  };
}

export const PAYMENTS = "https://payments.example.com";

/** An admin-created service provider accepting payments to merchants and reads of anything. */
export async function createPaymentsProvider(admin: HumanClient): Promise<{ apiKey: string }> {
  await admin
    .post("/api/service-providers", {
      id: PAYMENTS,
      name: "Payments",
      ceiling: [
        { type: "transact", resource: "merchant/*", max_amount: "500.00", currency: "EUR" },
        { type: "read", resource: "*" },
      ],
    })
    .expect(201);
  const key = await admin
    .post(`/api/service-providers/${encodeURIComponent(PAYMENTS)}/keys`)
    .expect(201);
  return { apiKey: key.body.key as string };
}

/** An admin-created service provider `id` (also its name) accepting reads of anything. */
export async function createReadProvider(admin: HumanClient, id: string): Promise<void> {
  await admin
    .post("/api/service-providers", { id, name: id, ceiling: [{ type: "read", resource: "*" }] })
    .expect(201);
}

/** A human in a browser at `publicUrl` (a software passkey for its host name), not enrolled. */
export function createBrowserHuman(app: Express, publicUrl: string): HumanClient {
  return createHumanClient(app, {
    authenticator: createSoftwareAuthenticator({
      rpId: new URL(publicUrl).hostname,
      origin: publicUrl,
    }),
  });
}

export interface EnrolAgentOptions extends CreateTestAgentOptions {
  /** The name the human gives the agent's enrolment code; default "travel bot". */
  readonly name?: string;
}

/**
 * A new agent of `human`, enrolled with a fresh code and its key: a fresh one, or
 * `options.keyPair` (with `options.createProof`, another library's proofs of that key).
 *
 * @example
 * const keyPair = await dpop.generateKeyPair("ES256");
 * const agent = await enrolAgent(test, test.admin, {
 *   keyPair,
 *   createProof: ({ url, method, nonce, accessToken }) =>
 *     dpop.generateProof(keyPair, url, method, nonce, accessToken),
 * });
 */
export async function enrolAgent(
  test: TestRegistry,
  human: HumanClient = test.admin,
  options: EnrolAgentOptions = {},
): Promise<TestAgent> {
  const { name = "travel bot", ...agentOptions } = options;
  const { body } = await human.post("/api/agent-enrolment-codes", { name }).expect(201);
  const agent = await createTestAgent(test.registry.app, test.publicUrl, test.clock, agentOptions);
  const enrolled = await request(test.registry.app)
    .post("/agents/enroll")
    .set("DPoP", await agent.proof("POST", "/agents/enroll"))
    .send({ code: body.code })
    .expect(201);
  // A `createProof` signing with another key than `keyPair` would enrol that other key.
  if (enrolled.body.jkt !== agent.jkt) {
    throw new Error(`The registry enrolled key ${enrolled.body.jkt}, not the agent's ${agent.jkt}`);
  }
  agent.id = enrolled.body.agent_id as string;
  return agent;
}
