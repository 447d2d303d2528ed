import type { AuthorizationDetails, Capability } from "@agentauth/core";
import { type DpopFetchDeps, dpopFetch } from "../calls/dpop-fetch.js";
import { AgentAuthSdkError } from "../errors.js";
import {
  authorizationDetailsParameter,
  type EnvelopeInput,
} from "../grants/authorization-input.js";
import { assertSeconds, assertServiceProvider } from "../grants/grant-request.js";
import { throwIfAborted } from "../http/http-client.js";
import type { SdkLogger } from "../logger.js";
import type { RegistryClient } from "../registry/registry-client.js";
import type { GrantStore } from "../tokens/grant-store.js";

/** RFC 8693 §2.1 token exchange, and the token type exchanged and issued (§3). */
export const TOKEN_EXCHANGE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

export interface TaskOptions {
  /** The service provider of the grant the task works under. */
  readonly serviceProvider: string;
  /** Which of the agent's grants for it; needed when it holds several. */
  readonly grantId?: string;
  /** What the task may do: at most what the grant allows. Default: the grant's capabilities. */
  readonly capabilities?: readonly Capability[];
  /** Limits for the task, no looser than the grant's. Default: the grant's envelope. */
  readonly envelope?: EnvelopeInput;
  /** Seconds the task token lives at most (1 to 900). */
  readonly ttl: number;
  readonly signal?: AbortSignal;
}

/**
 * A per-task token: narrower and shorter-lived than the grant it comes from, revoked at the
 * registry (RFC 7009) when the task ends — `await using task = await agent.task(…)` revokes it
 * when the block exits, normally or by an exception.
 */
export interface Task extends AsyncDisposable {
  readonly serviceProvider: string;
  /** What the task token allows. */
  readonly authorization: AuthorizationDetails;
  readonly expiresAt: Date;
  /** Whether the task has ended (revoked, or revoking). */
  readonly revoked: boolean;
  /** Like `agent.fetch`, with the task's token; `ERR_TASK_REVOKED` once the task has ended. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * Ends the task: the token is refused locally at once and revoked at the registry. Calling it
   * again is harmless (and tries the revocation again if it failed).
   */
  revoke(options?: { readonly signal?: AbortSignal }): Promise<void>;
}

export interface TaskDeps extends DpopFetchDeps {
  readonly registry: RegistryClient;
  readonly grants: GrantStore;
  readonly logger: SdkLogger | undefined;
}

/** Exchanges the grant's access token for a task token (RFC 8693) and wraps it as a {@link Task}. */
export async function openTask(deps: TaskDeps, options: TaskOptions): Promise<Task> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("task needs an options object");
  }
  const { serviceProvider, grantId, ttl, signal } = options;
  assertServiceProvider(serviceProvider, "task");
  if (grantId !== undefined && (typeof grantId !== "string" || grantId === "")) {
    throw new TypeError("task: grantId must be the id of a grant the agent holds");
  }
  if (ttl === undefined) throw new TypeError("task: ttl is required (seconds, 1 to 900)");
  assertSeconds(ttl, 1, 900, "task: ttl");
  const form: Record<string, string> = {
    grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
    resource: serviceProvider,
    requested_expiry: String(ttl),
  };
  const grant = deps.grants.select(serviceProvider, grantId);
  if (options.capabilities !== undefined || options.envelope !== undefined) {
    form.authorization_details = authorizationDetailsParameter(
      options.capabilities ?? grant.authorization.capabilities,
      options.envelope,
      "task",
    ).json;
  }
  throwIfAborted(signal);
  form.subject_token = await deps.grants.token(grant, signal);
  // Not repeated on failure: a lost answer would leave a token nobody can revoke.
  const result = await deps.registry.token(form, {
    signal,
    retry: false,
    what: `The task token for ${serviceProvider} was refused`,
    serviceProvider,
  });
  if (result.kind !== "token") {
    throw new AgentAuthSdkError(
      "ERR_PROTOCOL",
      "The registry answered a token exchange as pending",
    );
  }
  const { accessToken, authorization, expiresIn } = result.token;
  const expiresAt = new Date(deps.http.clock.now().getTime() + expiresIn * 1000);
  let revoked = false;
  let revoking: Promise<void> | undefined;

  const source = {
    serviceProvider,
    async token() {
      if (revoked) {
        throw new AgentAuthSdkError(
          "ERR_TASK_REVOKED",
          "The task has ended: its token was revoked",
          {
            serviceProvider,
          },
        );
      }
      if (deps.http.clock.now() >= expiresAt) {
        throw new AgentAuthSdkError(
          "ERR_TASK_EXPIRED",
          `The task token expired at ${expiresAt.toISOString()}: start a new task`,
          { serviceProvider },
        );
      }
      return accessToken;
    },
  };

  const revoke = (revokeOptions: { readonly signal?: AbortSignal } = {}): Promise<void> => {
    revoked = true;
    revoking ??= deps.registry.revoke(accessToken, "access_token", revokeOptions.signal).then(
      () => deps.logger?.debug({ serviceProvider }, "agentauth: task token revoked"),
      (error: unknown) => {
        revoking = undefined;
        throw error;
      },
    );
    return revoking;
  };

  return {
    serviceProvider,
    authorization,
    expiresAt,
    get revoked() {
      return revoked;
    },
    fetch: (input, init) => dpopFetch(deps, source, input, init),
    revoke,
    [Symbol.asyncDispose]: () => revoke(),
  };
}
