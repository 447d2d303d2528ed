import { computeJwkThumbprint, createWebCryptoDpopKey, type PublicJwk } from "@agentauth/core";
import { dpopFetch } from "./calls/dpop-fetch.js";
import { AgentAuthSdkError } from "./errors.js";
import {
  assertServiceProvider,
  type GrantRequest,
  type RequestGrantOptions,
  requestGrant,
} from "./grants/grant-request.js";
import { type HttpDeps, throwIfAborted } from "./http/http-client.js";
import { NonceStore } from "./http/nonce-store.js";
import { type CreateAgentOptions, parseAgentOptions } from "./options.js";
import { createRegistryClient } from "./registry/registry-client.js";
import { openTask, type Task, type TaskOptions } from "./tasks/task.js";
import { type GrantInfo, GrantStore } from "./tokens/grant-store.js";

/** `fetch`'s options, plus the service provider whose grant to use. */
export interface AgentRequestInit extends RequestInit {
  /**
   * The service provider's id at the registry (the token audience). Default: the origin of the
   * request URL, for providers whose id is their https origin.
   */
  readonly serviceProvider?: string;
}

export interface SignalOption {
  readonly signal?: AbortSignal;
}

/** An AgentAuth agent: its key, its enrolment, and the grants it holds. */
export interface Agent {
  /** The agent id at the registry; `undefined` until enrolled. */
  readonly id: string | undefined;
  /** The RFC 7638 thumbprint of the agent's public key: its identity for token binding. */
  readonly jkt: string;
  readonly publicJwk: PublicJwk;
  readonly registryUrl: string;

  /**
   * Enrols the agent with a one-time code its human created in the approval app, proving
   * possession of its key; the agent id is saved in the key store.
   */
  enroll(code: string, options?: SignalOption): Promise<{ readonly agentId: string }>;
  /** Asks the human for a grant; show them the answer's `approvalUri` and `userCode`. */
  requestGrant(options: RequestGrantOptions): Promise<GrantRequest>;
  /** What the agent holds for `serviceProvider`, if anything. */
  grant(serviceProvider: string): GrantInfo | undefined;
  /** A valid access token for `serviceProvider`, refreshed before it expires. */
  getToken(serviceProvider: string, options?: SignalOption): Promise<string>;
  /** `fetch` to a service provider with the grant's DPoP-bound token (see docs/sdk.md). */
  fetch(input: RequestInfo | URL, init?: AgentRequestInit): Promise<Response>;
  /** A narrowed, short-lived token for one task, revoked when the task ends. */
  task(options: TaskOptions): Promise<Task>;
  /** Revokes the grant for `serviceProvider` at the registry (its refresh and access tokens). */
  revokeGrant(serviceProvider: string, options?: SignalOption): Promise<void>;
}

/**
 * Creates an agent: loads (or generates) its key from the key store and validates every
 * option once (`TypeError` for bad ones).
 *
 * @example
 * const agent = await createAgent({ registryUrl: "https://agentauth.example.com", keyStore });
 * await agent.enroll(code);
 */
export async function createAgent(options: CreateAgentOptions): Promise<Agent> {
  const config = parseAgentOptions(options);
  const stored = await config.keyStore.loadOrCreate();
  const key = await createWebCryptoDpopKey(stored.keyPair);
  const jkt = await computeJwkThumbprint(key.publicJwk);
  let agentId = stored.agentId;

  const http: HttpDeps = {
    fetch: config.fetch,
    clock: config.clock,
    timeoutMs: config.timeoutMs,
    retry: config.retry,
    nonces: new NonceStore(),
    logger: config.logger,
    random: Math.random,
  };
  const registry = createRegistryClient({
    http,
    registryUrl: config.registryUrl,
    key,
    jkt,
    agentId: () => agentId,
  });
  const grants = new GrantStore({
    registry,
    clock: config.clock,
    refreshBeforeExpirySeconds: config.refreshBeforeExpirySeconds,
    logger: config.logger,
  });
  const calls = { http, key };

  return {
    get id() {
      return agentId;
    },
    jkt,
    publicJwk: key.publicJwk,
    registryUrl: config.registryUrl,

    async enroll(code, enrolOptions = {}) {
      if (typeof code !== "string" || code === "") {
        throw new TypeError("enroll: code must be the enrolment code the human created");
      }
      if (agentId !== undefined) {
        throw new AgentAuthSdkError(
          "ERR_ALREADY_ENROLLED",
          `This key is already enrolled as agent ${agentId}`,
        );
      }
      const enrolled = await registry.enroll(code, enrolOptions.signal);
      await config.keyStore.saveAgentId(enrolled.agentId);
      agentId = enrolled.agentId;
      return enrolled;
    },

    requestGrant: (grantOptions) =>
      requestGrant({ registry, grants, clock: config.clock, logger: config.logger }, grantOptions),

    grant: (serviceProvider) => grants.info(serviceProvider),

    async getToken(serviceProvider, tokenOptions = {}) {
      assertServiceProvider(serviceProvider, "getToken");
      throwIfAborted(tokenOptions.signal);
      return grants.token(serviceProvider, tokenOptions.signal);
    },

    async fetch(input, init) {
      const { serviceProvider, ...requestInit } = init ?? {};
      const target = serviceProvider ?? defaultServiceProvider(input);
      assertServiceProvider(target, "fetch");
      return dpopFetch(
        calls,
        {
          serviceProvider: target,
          token: (signal) => grants.token(target, signal),
          renew: (rejected, signal) => grants.renew(target, rejected, signal),
        },
        input,
        requestInit,
      );
    },

    task: (taskOptions) =>
      openTask({ ...calls, registry, grants, logger: config.logger }, taskOptions),

    async revokeGrant(serviceProvider, revokeOptions = {}) {
      assertServiceProvider(serviceProvider, "revokeGrant");
      const held = grants.forget(serviceProvider);
      // Revoking the refresh token revokes the grant's access tokens too (RFC 7009 §2.1).
      if (held?.refreshToken !== undefined) {
        await registry.revoke(held.refreshToken, "refresh_token", revokeOptions.signal);
      }
    },
  } satisfies Agent;
}

function defaultServiceProvider(input: RequestInfo | URL): string {
  const url = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
  try {
    return new URL(url).origin;
  } catch {
    throw new TypeError("fetch: the request URL must be absolute");
  }
}
