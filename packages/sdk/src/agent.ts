import {
  computeJwkThumbprint,
  createWebCryptoDpopKey,
  type DpopKey,
  type PublicJwk,
} from "@agentauth/core";
import { dpopFetch } from "./calls/dpop-fetch.js";
import { AgentAuthSdkError, isAgentAuthSdkError } from "./errors.js";
import {
  assertServiceProvider,
  type GrantRequest,
  type RequestGrantOptions,
  requestGrant,
} from "./grants/grant-request.js";
import { type HttpDeps, raceAbort, throwIfAborted } from "./http/http-client.js";
import { NonceStore } from "./http/nonce-store.js";
import { type CreateAgentOptions, parseAgentOptions } from "./options.js";
import { createRegistryClient } from "./registry/registry-client.js";
import { openTask, type Task, type TaskOptions } from "./tasks/task.js";
import { type GrantInfo, GrantStore } from "./tokens/grant-store.js";

/** `fetch`'s options, plus the grant to use: its service provider, or its id. */
export interface AgentRequestInit extends RequestInit {
  /**
   * The service provider's id at the registry (the token audience). Default: the grant's, when
   * `grantId` is given; else the origin of the request URL, for providers whose id is their https
   * origin.
   */
  readonly serviceProvider?: string;
  /** Which grant to use; needed when the agent holds several for the service provider. */
  readonly grantId?: string;
}

export interface SignalOption {
  readonly signal?: AbortSignal;
}

/** Which of the agent's grants for a service provider: needed when it holds several. */
export interface GrantOption {
  readonly grantId?: string;
}

/** An AgentAuth agent: its key, its enrolment, and the grants it holds. */
export interface Agent {
  /** The agent id at the registry; `undefined` until enrolled. */
  readonly id: string | undefined;
  /**
   * The RFC 7638 thumbprint of the agent's public key: its identity for token binding. It
   * changes with {@link Agent.rotateKey}.
   */
  readonly jkt: string;
  /** The agent's current public key. */
  readonly publicJwk: PublicJwk;
  readonly registryUrl: string;

  /**
   * Enrols the agent with a one-time code its human created in the approval app, proving
   * possession of its key; the agent id is saved in the key store.
   */
  enroll(code: string, options?: SignalOption): Promise<{ readonly agentId: string }>;
  /** Asks the human for a grant; show them the answer's `approvalUri` and `userCode`. */
  requestGrant(options: RequestGrantOptions): Promise<GrantRequest>;
  /**
   * The grant calls to `serviceProvider` use (`options.grantId`'s, or the only one held), or
   * `undefined` when none is held; `ERR_GRANT_AMBIGUOUS` when several are and no id says which.
   */
  grant(serviceProvider: string, options?: GrantOption): GrantInfo | undefined;
  /**
   * Every grant the agent holds (for `serviceProvider`, if given), in the order approved; with a
   * grant storage, those restored from it first.
   */
  grants(serviceProvider?: string): readonly GrantInfo[];
  /** A valid access token of the grant for `serviceProvider`, refreshed before it expires. */
  getToken(serviceProvider: string, options?: SignalOption & GrantOption): Promise<string>;
  /** `fetch` to a service provider with the grant's DPoP-bound token (see docs/sdk.md). */
  fetch(input: RequestInfo | URL, init?: AgentRequestInit): Promise<Response>;
  /** A narrowed, short-lived token for one task, revoked when the task ends. */
  task(options: TaskOptions): Promise<Task>;
  /**
   * Revokes at the registry (its refresh and access tokens) the grant `options.grantId`, or
   * every grant the agent holds for `serviceProvider`, and forgets them (in the grant storage
   * too).
   */
  revokeGrant(serviceProvider: string, options?: SignalOption & GrantOption): Promise<void>;
  /**
   * Replaces the agent's key with a new one at the registry, without a new approval: the grants
   * and their refresh tokens stay (they now need the new key), the access tokens held are
   * forgotten (the registry revoked them), and the key store and grant storage follow. Crash
   * safe: the next key is staged in the key store first, so calling it again after a failure or
   * a crash — also when `createAgent` comes up with a staged key — completes the same rotation.
   * See docs/sdk.md for the errors.
   */
  rotateKey(options?: SignalOption): Promise<{ readonly jkt: string }>;
}

/**
 * Creates an agent: loads (or generates) its key from the key store, and the grants saved in the
 * grant storage if one is given, and validates every option once (`TypeError` for bad ones).
 * Saved grants of another key are refused (`ERR_GRANT_STORAGE`).
 *
 * @example
 * const agent = await createAgent({ registryUrl: "https://agentauth.example.com", keyStore });
 * await agent.enroll(code);
 */
export async function createAgent(options: CreateAgentOptions): Promise<Agent> {
  const config = parseAgentOptions(options);
  const stored = await config.keyStore.loadOrCreate();
  let current = await signingKey(stored.keyPair);
  let agentId = stored.agentId;
  // A next key staged and not promoted: a rotation under way, or one a crash interrupted.
  let rotationPending = stored.nextKeyPair !== undefined;
  let rotating: Promise<{ readonly jkt: string }> | undefined;

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
    key: () => current.key,
    jkt: () => current.jkt,
    agentId: () => agentId,
  });
  const grants = new GrantStore({
    registry,
    clock: config.clock,
    refreshBeforeExpirySeconds: config.refreshBeforeExpirySeconds,
    logger: config.logger,
    storage: config.grantStorage,
    jkt: () => current.jkt,
    rotationPending: () => rotationPending,
  });
  await grants.load(
    stored.nextKeyPair === undefined ? undefined : (await signingKey(stored.nextKeyPair)).jkt,
  );
  const calls = {
    http,
    get key() {
      return current.key;
    },
  };

  /** The rotation itself; `agent.rotateKey` runs one at a time. */
  const rotate = async (signal: AbortSignal | undefined): Promise<{ readonly jkt: string }> => {
    if (agentId === undefined) {
      throw new AgentAuthSdkError("ERR_NOT_ENROLLED", "Enrol the agent before rotating its key");
    }
    const next = await signingKey(await config.keyStore.stageNextKey());
    rotationPending = true;
    // Equal: the registry swapped the key and this agent switched, but the promotion failed.
    if (next.jkt !== current.jkt) {
      await swapAtRegistry(next, signal);
      current = next;
      grants.forgetAccessTokens();
      config.logger?.debug({ agentId, jkt: next.jkt }, "agentauth: the agent key was rotated");
    }
    await grants.save();
    const promoted = await config.keyStore.promoteNextKey();
    if ((await signingKey(promoted.keyPair)).jkt !== next.jkt) {
      throw new AgentAuthSdkError(
        "ERR_KEY_STORE",
        "The key store promoted another key than the one staged",
      );
    }
    rotationPending = false;
    return { jkt: next.jkt };
  };

  /**
   * `POST /agents/rotate-key`. Refused as an unknown client while the next key is staged: the
   * registry most likely swapped the key already (an answer lost, or a crash before the
   * promotion), which a call authenticated by the next key shows.
   */
  const swapAtRegistry = async (next: SigningKey, signal: AbortSignal | undefined) => {
    try {
      await registry.rotateKey(next.key, next.jkt, signal);
    } catch (error) {
      if (!isAgentAuthSdkError(error, "ERR_CLIENT_REJECTED")) throw error;
      try {
        await registry.proveKey(next.key, signal);
      } catch (proof) {
        if (!isAgentAuthSdkError(proof, "ERR_CLIENT_REJECTED")) throw proof;
        throw new AgentAuthSdkError(
          "ERR_CLIENT_REJECTED",
          "The registry refused the key rotation: no enabled agent holds the current key or the " +
            "staged next key (was the agent disabled?)",
          { status: error.status, cause: error },
        );
      }
      config.logger?.debug({ agentId }, "agentauth: the registry holds the staged key already");
    }
  };

  return {
    get id() {
      return agentId;
    },
    get jkt() {
      return current.jkt;
    },
    get publicJwk() {
      return current.key.publicJwk;
    },
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

    grant(serviceProvider, grantOptions = {}) {
      assertServiceProvider(serviceProvider, "grant");
      return grants.info(serviceProvider, grantIdOption(grantOptions, "grant"));
    },

    grants(serviceProvider) {
      if (serviceProvider !== undefined) assertServiceProvider(serviceProvider, "grants");
      return grants.list(serviceProvider);
    },

    async getToken(serviceProvider, tokenOptions = {}) {
      assertServiceProvider(serviceProvider, "getToken");
      const grant = grants.select(serviceProvider, grantIdOption(tokenOptions, "getToken"));
      throwIfAborted(tokenOptions.signal);
      return grants.token(grant, tokenOptions.signal);
    },

    async fetch(input, init) {
      const { serviceProvider, grantId, ...requestInit } = init ?? {};
      const id = grantIdOption({ grantId }, "fetch");
      const target =
        serviceProvider ?? (id === undefined ? defaultServiceProvider(input) : undefined);
      if (target !== undefined) assertServiceProvider(target, "fetch");
      // Chosen once: a renewal is of the grant the call started with.
      const grant = grants.select(target, id);
      return dpopFetch(
        calls,
        {
          serviceProvider: grant.serviceProvider,
          token: (signal) => grants.token(grant, signal),
          renew: (rejected, signal) => grants.renew(grant, rejected, signal),
        },
        input,
        requestInit,
      );
    },

    task: (taskOptions) =>
      openTask({ ...calls, registry, grants, logger: config.logger }, taskOptions),

    async revokeGrant(serviceProvider, revokeOptions = {}) {
      assertServiceProvider(serviceProvider, "revokeGrant");
      const forgotten = grants.forget(serviceProvider, grantIdOption(revokeOptions, "revokeGrant"));
      if (forgotten.length === 0) return;
      const saving = grants.saveOrWarn();
      // Revoking the refresh token revokes the grant's access tokens too (RFC 7009 §2.1).
      const revocations = await Promise.allSettled(
        forgotten
          .map((held) => held.refreshToken)
          .filter((token) => token !== undefined)
          .map((token) => registry.revoke(token, "refresh_token", revokeOptions.signal)),
      );
      await saving;
      const failed = revocations.find((result) => result.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    },

    async rotateKey(rotateOptions = {}) {
      throwIfAborted(rotateOptions.signal);
      rotating ??= rotate(rotateOptions.signal).finally(() => {
        rotating = undefined;
      });
      return raceAbort(rotating, rotateOptions.signal);
    },
  } satisfies Agent;
}

interface SigningKey {
  readonly key: DpopKey;
  readonly jkt: string;
}

async function signingKey(keyPair: CryptoKeyPair): Promise<SigningKey> {
  const key = await createWebCryptoDpopKey(keyPair);
  return { key, jkt: await computeJwkThumbprint(key.publicJwk) };
}

/** `options.grantId`, checked: absent, or a grant id. */
function grantIdOption(options: GrantOption, what: string): string | undefined {
  const { grantId } = options;
  if (grantId === undefined) return undefined;
  if (typeof grantId !== "string" || grantId === "" || grantId.length > 200) {
    throw new TypeError(`${what}: grantId must be the id of a grant the agent holds`);
  }
  return grantId;
}

function defaultServiceProvider(input: RequestInfo | URL): string {
  const url = input instanceof Request ? input.url : input instanceof URL ? input.href : input;
  try {
    return new URL(url).origin;
  } catch {
    throw new TypeError("fetch: the request URL must be absolute");
  }
}
