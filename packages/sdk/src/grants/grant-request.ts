import type { Capability } from "@agentauth/core";
import type { Clock } from "../clock.js";
import { AgentAuthSdkError } from "../errors.js";
import { sleep, throwIfAborted } from "../http/http-client.js";
import type { SdkLogger } from "../logger.js";
import type { RegistryClient } from "../registry/registry-client.js";
import type { GrantInfo, GrantStore } from "../tokens/grant-store.js";
import { authorizationDetailsParameter, type EnvelopeInput } from "./authorization-input.js";

/** The OpenID CIBA grant type (CIBA §10.1). */
export const CIBA_GRANT_TYPE = "urn:openid:params:grant-type:ciba";
/** CIBA §11: after `slow_down`, every later poll waits this much longer. */
const SLOW_DOWN_SECONDS = 5;

export interface RequestGrantOptions {
  /** The service provider's id at the registry (the tokens' audience). */
  readonly serviceProvider: string;
  /** What the agent asks to do (protocol.md §2.1). */
  readonly capabilities: readonly Capability[];
  /** The limits it proposes (protocol.md §2.2); the human may tighten them. */
  readonly envelope?: EnvelopeInput;
  /** Shown to the human beside the request: at most 100 characters of plain text on one line. */
  readonly bindingMessage?: string;
  /** Seconds the grant should last once approved (60 s to 90 days; the registry's default: 1 day). */
  readonly lifetime?: number;
  /** Seconds the request stays open for the human (60 to 3600; default 600). */
  readonly requestExpiry?: number;
  readonly signal?: AbortSignal;
}

export interface WaitForApprovalOptions {
  readonly signal?: AbortSignal;
  /** Milliseconds to wait at most (`ERR_TIMEOUT`; the request stays open and can be awaited again). */
  readonly timeout?: number;
}

/** A grant request waiting for the human: show them `approvalUri` and `userCode`. */
export interface GrantRequest {
  /** The CIBA `auth_req_id`. */
  readonly requestId: string;
  /** Where the human reviews and approves the request. */
  readonly approvalUri: string;
  /** The code the human matches against the one the approval app shows, e.g. `BDFG-HJKL`. */
  readonly userCode: string;
  /** When the request expires unless the human decides. */
  readonly expiresAt: Date;
  /** Seconds between polls, as the registry asked (longer after a `slow_down`). */
  readonly interval: number;
  readonly serviceProvider: string;
  /**
   * Polls the registry until the human decides, honouring `interval` and `slow_down`. Resolves
   * with the grant once the agent holds it and the grant storage, if any, has saved it (called
   * again, it answers the same grant without asking the registry), or rejects with
   * `ERR_ACCESS_DENIED` (with the human's reason), `ERR_REQUEST_EXPIRED`, `ERR_TIMEOUT`,
   * `ERR_ABORTED`, or `ERR_GRANT_STORAGE` when the save failed (the agent holds the grant all the
   * same; called again, it tries the save again).
   */
  waitForApproval(options?: WaitForApprovalOptions): Promise<GrantInfo>;
}

export interface GrantRequestDeps {
  readonly registry: RegistryClient;
  readonly grants: GrantStore;
  readonly clock: Clock;
  readonly logger: SdkLogger | undefined;
}

/** Sends a CIBA backchannel request for a grant (protocol.md, registry.md step 4). */
export async function requestGrant(
  deps: GrantRequestDeps,
  options: RequestGrantOptions,
): Promise<GrantRequest> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("requestGrant needs an options object");
  }
  const { serviceProvider, bindingMessage, lifetime, requestExpiry, signal } = options;
  assertServiceProvider(serviceProvider, "requestGrant");
  if (bindingMessage !== undefined && typeof bindingMessage !== "string") {
    throw new TypeError("requestGrant: bindingMessage must be a string");
  }
  assertSeconds(lifetime, 60, 90 * 86_400, "requestGrant: lifetime");
  assertSeconds(requestExpiry, 60, 3600, "requestGrant: requestExpiry");
  const { json } = authorizationDetailsParameter(
    options.capabilities,
    options.envelope,
    "requestGrant",
  );
  throwIfAborted(signal);
  const form: Record<string, string> = { authorization_details: json, resource: serviceProvider };
  if (bindingMessage !== undefined) form.binding_message = bindingMessage;
  if (lifetime !== undefined) form.grant_lifetime = String(lifetime);
  if (requestExpiry !== undefined) form.requested_expiry = String(requestExpiry);
  const answer = await deps.registry.requestGrant(form, signal);
  const requestId = answer.authReqId;

  let interval = answer.interval;
  let waiting = false;
  // An auth_req_id is redeemed once: asked again, the request answers the grant it gave.
  let granted: GrantInfo | undefined;
  // Whether the grant storage (if any) has it: until then, asked again, the save is tried again.
  let saved = false;
  const request: GrantRequest = {
    requestId,
    approvalUri: answer.approvalUri,
    userCode: answer.userCode,
    expiresAt: new Date(deps.clock.now().getTime() + answer.expiresIn * 1000),
    get interval() {
      return interval;
    },
    serviceProvider,
    async waitForApproval(waitOptions = {}) {
      if (waiting) throw new TypeError("waitForApproval is already waiting for this request");
      const timeout = waitOptions.timeout;
      if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) {
        throw new TypeError("waitForApproval: timeout must be a positive number of milliseconds");
      }
      if (granted !== undefined && saved) return granted;
      waiting = true;
      try {
        granted ??= await poll(deps, request, waitOptions.signal, timeout, (seconds) => {
          interval += seconds;
        });
        await saveApproved(deps, granted, requestId);
        saved = true;
        return granted;
      } finally {
        waiting = false;
      }
    },
  };
  return request;
}

/** Saves the grants once `granted` is held; a failure is the caller's to hear of (docs/sdk.md). */
async function saveApproved(
  deps: GrantRequestDeps,
  granted: GrantInfo,
  requestId: string,
): Promise<void> {
  try {
    await deps.grants.save();
  } catch (error) {
    const { serviceProvider, grantId } = granted;
    const cause = error as AgentAuthSdkError;
    throw new AgentAuthSdkError(
      "ERR_GRANT_STORAGE",
      `Grant ${grantId} was approved and the agent holds it, but saving it failed (${cause.message}): ` +
        "a restart would lose it. Wait for the approval again to retry the save",
      { serviceProvider, requestId, path: cause.path, cause },
    );
  }
}

async function poll(
  deps: GrantRequestDeps,
  request: GrantRequest,
  signal: AbortSignal | undefined,
  timeout: number | undefined,
  slowDown: (seconds: number) => void,
): Promise<GrantInfo> {
  const deadline = timeout === undefined ? undefined : deps.clock.now().getTime() + timeout;
  const { requestId, serviceProvider } = request;
  for (;;) {
    const wait = request.interval * 1000;
    if (deadline !== undefined) {
      const left = deadline - deps.clock.now().getTime();
      if (left < wait) {
        await sleep(deps.clock, Math.max(0, left), signal);
        throw new AgentAuthSdkError(
          "ERR_TIMEOUT",
          `The human has not decided on request ${requestId} within ${timeout} ms; it is still open until ${request.expiresAt.toISOString()}`,
          { requestId, serviceProvider },
        );
      }
    }
    await sleep(deps.clock, wait, signal);
    const result = await deps.registry.token(
      { grant_type: CIBA_GRANT_TYPE, auth_req_id: requestId },
      {
        signal,
        retry: true,
        what: `Request ${requestId} was not granted`,
        requestId,
        serviceProvider,
      },
    );
    if (result.kind === "token") return deps.grants.hold(serviceProvider, result.token);
    if (result.slowDown) {
      slowDown(SLOW_DOWN_SECONDS);
      deps.logger?.debug(
        { requestId, interval: request.interval },
        "agentauth: the registry asked to poll more slowly",
      );
    }
  }
}

/** Throws `TypeError` unless `value` is a service provider id. */
export function assertServiceProvider(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string" || value === "" || value.length > 200) {
    throw new TypeError(
      `${what}: serviceProvider must be the service provider's id (1 to 200 characters)`,
    );
  }
}

/** Throws `TypeError` unless `value` is absent or a whole number of seconds in range. */
export function assertSeconds(value: unknown, min: number, max: number, what: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(`${what} must be a whole number of seconds from ${min} to ${max}`);
  }
}
