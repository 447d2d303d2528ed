import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createDpopProof, type DpopKey, parseServiceProviderApiKey } from "@agentauth/core";
import {
  createEmbeddedTestRegistry,
  createPaymentsProvider,
  enrolAgent,
  type ObtainedToken,
  obtainToken,
  PAYMENTS,
  PUBLIC_URL,
  type TestAgent,
  type TestRegistry,
  type TestRegistryState,
} from "@agentauth/registry/testing";
import { createMemoryAdmissionStore, type ServiceProviderKeyDirectory } from "@agentauth/state";
import { pino } from "pino";
import type { AllowAuditMode } from "../../src/config.js";
import {
  createVerifier,
  type Verifier,
  type VerifierDeps,
  type VerifierState,
} from "../../src/create-verifier.js";
import type { VerifyAnswer } from "../../src/verification/verify-request.js";

/** Where the payments provider's agents send requests; proofs name these URLs. */
export const PAY_URL = `${PAYMENTS}/v1/payments`;

export interface VerifierHarnessOptions {
  /** The registry's revocation bus, key directory and decision log; default in-process ones. */
  readonly registry?: TestRegistryState;
  /** Every verifier's state, over the registry's (and in-process replay and quota stores). */
  readonly state?: Partial<VerifierState>;
}

/** A registry (tokens, JWKS, revocations) and verifiers wired to it, all in this process. */
export interface VerifierHarness {
  readonly test: TestRegistry & { close(): Promise<void> };
  /** The state every verifier starts with. */
  readonly state: VerifierState;
  /** The payments provider's verifier API key. */
  readonly apiKey: string;
  readonly registryUrl: string;
  /** Starts one more verifier; state defaults to the harness's in-process adapters. */
  startVerifier(options?: StartVerifierOptions): Promise<RunningVerifier>;
  close(): Promise<void>;
}

/** `POST /v1/verify`'s HTTP status and its JSON answer. */
export interface VerifyResponse {
  readonly status: number;
  readonly body: VerifyAnswer;
}

export interface StartVerifierOptions {
  readonly state?: Partial<VerifierState>;
  readonly requireDpopNonce?: boolean;
  readonly auditAllows?: AllowAuditMode;
  readonly apiKeyCacheSeconds?: number;
  readonly jwksUrl?: string;
  readonly dpopNonceSecret?: Uint8Array;
  readonly readinessChecks?: VerifierDeps["readinessChecks"];
}

export interface RunningVerifier {
  readonly verifier: Verifier;
  readonly url: string;
  readonly state: VerifierState;
  /** POSTs to /v1/verify with the payments provider's key (or `apiKey`). */
  verify(body: unknown, apiKey?: string): Promise<VerifyResponse>;
  stop(): Promise<void>;
}

/** Publishes an API key's record the way the registry does, for a verifier to find it. */
export async function publishApiKey(
  directory: ServiceProviderKeyDirectory,
  apiKey: string,
  serviceProviderId = PAYMENTS,
  revoked = false,
): Promise<void> {
  const parts = parseServiceProviderApiKey(apiKey);
  if (parts === undefined) throw new Error("not an API key");
  await directory.put([
    {
      prefix: parts.prefix,
      serviceProviderId,
      secretHash: createHash("sha256").update(parts.secret).digest("hex"),
      revoked,
    },
  ]);
}

/**
 * A registry in-process on the state of the test's choosing (default in-process; Redis for the
 * replica tests) and verifiers sharing it: they find the API keys it publishes, hear its
 * revocations and feed its audit log, unless a test overrides their state.
 */
export async function createVerifierHarness(
  options: VerifierHarnessOptions = {},
): Promise<VerifierHarness> {
  const test = await createEmbeddedTestRegistry(options.registry);
  test.registry.start();
  const { apiKey } = await createPaymentsProvider(test.admin);
  const registryServer = await listen(createServer(test.registry.app));
  const registryUrl = urlOf(registryServer);
  const state: VerifierState = {
    admissionStore: createMemoryAdmissionStore(),
    revocationBus: test.revocationBus,
    keyDirectory: test.keyDirectory,
    decisionLog: test.decisionLog,
    ...options.state,
  };
  const nonceSecret = randomBytes(32);
  const running = new Set<RunningVerifier>();

  return {
    test,
    apiKey,
    registryUrl,
    state,
    async startVerifier(start = {}) {
      const verifierState = { ...state, ...start.state };
      const verifier = createVerifier({
        logger: pino({ level: "silent" }),
        clock: test.clock,
        issuer: PUBLIC_URL,
        jwksUrl: start.jwksUrl ?? `${registryUrl}/.well-known/jwks.json`,
        state: verifierState,
        dpopNonceSecret: start.dpopNonceSecret ?? nonceSecret,
        requireDpopNonce: start.requireDpopNonce ?? true,
        clockSkewSeconds: 5,
        apiKeyCacheSeconds: start.apiKeyCacheSeconds ?? 5,
        tokenCacheSize: 1000,
        auditAllows: start.auditAllows ?? "all",
        ...(start.readinessChecks === undefined ? {} : { readinessChecks: start.readinessChecks }),
      });
      await verifier.start();
      const server = await listen(createServer(verifier.handler));
      const url = urlOf(server);
      let stopped: Promise<void> | undefined;
      const handle: RunningVerifier = {
        verifier,
        url,
        state: verifierState,
        async verify(body, key = apiKey) {
          const response = await fetch(`${url}/v1/verify`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          return { status: response.status, body: (await response.json()) as VerifyAnswer };
        },
        stop() {
          stopped ??= (async () => {
            running.delete(handle);
            server.closeAllConnections();
            server.close();
            await verifier.stop();
          })();
          return stopped;
        },
      };
      running.add(handle);
      return handle;
    },
    async close() {
      await Promise.all([...running].map((verifier) => verifier.stop()));
      registryServer.closeAllConnections();
      registryServer.close();
      await test.close();
    },
  };
}

/**
 * An agent of the harness's admin holding a token (of a new grant) for the payments provider:
 * `agent` when given, else a newly enrolled one (the registry rate-limits enrolment: reuse).
 */
export async function agentWithToken(
  harness: VerifierHarness,
  requestDetails?: unknown,
  existing?: TestAgent,
): Promise<{ agent: TestAgent; token: ObtainedToken }> {
  const agent = existing ?? (await enrolAgent(harness.test));
  const token = await obtainToken(harness.test, agent, {
    ...(requestDetails === undefined ? {} : { requestDetails }),
  });
  return { agent, token };
}

export interface AgentCall {
  readonly method?: string;
  readonly url?: string;
  readonly action?: Record<string, unknown>;
  readonly nonce?: string;
  /** The proof's own method, URL and time when they differ from the request's. */
  readonly proofMethod?: string;
  readonly proofUrl?: string;
  readonly proofNow?: Date;
  /** The key that signs the proof; default the agent's. */
  readonly proofKey?: DpopKey;
  /** The access token the proof's `ath` hashes; default `accessToken`. */
  readonly athToken?: string;
}

/** What a service provider forwards for one agent request, with a fresh proof. */
export async function verifyBody(
  agent: { readonly key: DpopKey },
  accessToken: string,
  call: AgentCall = {},
): Promise<Record<string, unknown>> {
  const method = call.method ?? "POST";
  const url = call.url ?? PAY_URL;
  const dpop = await createDpopProof({
    key: call.proofKey ?? agent.key,
    method: call.proofMethod ?? method,
    url: call.proofUrl ?? url,
    now: call.proofNow ?? new Date(),
    jti: randomBytes(24).toString("base64url"),
    accessToken: call.athToken ?? accessToken,
    ...(call.nonce === undefined ? {} : { nonce: call.nonce }),
  });
  return {
    authorization: `DPoP ${accessToken}`,
    dpop,
    method,
    url,
    action: call.action ?? {
      type: "transact",
      resource: "merchant/acme",
      amount: { amount: "10.00", currency: "EUR" },
    },
  };
}

/** Asks once without a nonce to learn the verifier's current one (as an agent would). */
export async function learnNonce(verifier: RunningVerifier, agent: TestAgent, accessToken: string) {
  const answer = await verifier.verify(await verifyBody(agent, accessToken));
  const nonce = answer.body.respond.headers["DPoP-Nonce"];
  if (typeof nonce !== "string") throw new Error(`no nonce in ${JSON.stringify(answer.body)}`);
  return nonce;
}

/** Listens on an ephemeral port of 127.0.0.1. */
export async function listen(server: Server): Promise<Server> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

export function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
