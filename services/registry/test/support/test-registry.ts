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
  type RevocationBus,
  type ServiceProviderKeyDirectory,
} from "@agentauth/state";
import type { Kysely } from "kysely";
import { pino } from "pino";
import request from "supertest";
import type { Clock } from "../../src/clock.js";
import { createRegistry, type Registry } from "../../src/create-registry.js";
import type { Database } from "../../src/db/database.js";
import { ensureFirstHumanInvitation } from "../../src/humans/invitations.js";
import { createFileSigner } from "../../src/signing/file-signer.js";
import { createPgSigningKeyStore } from "../../src/signing/pg-signing-key-store.js";
import { createSigningKeyRing, type SigningKeyRing } from "../../src/signing/signing-key-ring.js";
import { createTestAgent, type TestAgent } from "../kit/agent-client.js";
import { createHumanClient, type HumanClient } from "../kit/human-client.js";
import { createSoftwareAuthenticator } from "../kit/software-authenticator.js";

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

/**
 * The whole registry on `db` with in-process state (or `state`'s adapters), a real key file and
 * a first admin.
 */
export async function createTestRegistry(
  db: Kysely<Database>,
  state: TestRegistryState = {},
): Promise<TestRegistry> {
  const clock = createOffsetClock();
  const signingKeyFile = join(
    await mkdtemp(join(tmpdir(), "agentauth-registry-")),
    "signing-key.pem",
  );
  const keyRing = createSigningKeyRing({
    signer: await createFileSigner(signingKeyFile),
    reloadSigner: () => createFileSigner(signingKeyFile),
    store: createPgSigningKeyStore(db),
    now: () => clock.now(),
  });
  await keyRing.activate();
  const revocationBus = state.revocationBus ?? createMemoryRevocationBus();
  const keyDirectory = state.keyDirectory ?? createMemoryServiceProviderKeyDirectory();
  const decisionLog = state.decisionLog ?? createMemoryDecisionLog();
  const registry = createRegistry({
    db,
    clock,
    logger: pino({ level: "silent" }),
    publicUrl: PUBLIC_URL,
    rpId: "localhost",
    rpName: "AgentAuth tests",
    keyRing,
    replayStore: createMemoryReplayStore(),
    revocationBus,
    limiter: createMemoryFixedWindowLimiter(),
    keyDirectory,
    decisionLog,
    dpopNonceSecret: randomBytes(32),
    accessTokenLifetimeSeconds: 600,
    readinessChecks: {},
  });
  const invitation = await ensureFirstHumanInvitation(db, {
    publicUrl: PUBLIC_URL,
    now: clock.now(),
  });
  if (invitation === undefined) throw new Error("expected an empty database");
  const admin = createHumanClient(registry.app, {
    authenticator: createSoftwareAuthenticator({ rpId: "localhost", origin: PUBLIC_URL }),
  });
  await admin.enrol(invitation, { displayName: "Ada" });
  return {
    registry,
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

/** A new agent of `human`, enrolled with a fresh code and key. */
export async function enrolAgent(
  test: TestRegistry,
  human: HumanClient = test.admin,
): Promise<TestAgent> {
  const { body } = await human
    .post("/api/agent-enrolment-codes", { name: "travel bot" })
    .expect(201);
  const agent = await createTestAgent(test.registry.app, PUBLIC_URL, test.clock);
  const enrolled = await request(test.registry.app)
    .post("/agents/enroll")
    .set("DPoP", await agent.proof("POST", "/agents/enroll"))
    .send({ code: body.code })
    .expect(201);
  agent.id = enrolled.body.agent_id as string;
  return agent;
}
