import { randomBytes } from "node:crypto";
import { createDpopNonceSource, createKeyCache, type JsonWebKeySet } from "@agentauth/core";
import {
  type AdmissionStore,
  createRedisAdmissionStore,
  createRedisDecisionLog,
  createRedisRevocationBus,
  type DecisionLog,
  pingRedis,
  type RevocationBus,
  type RevocationKind,
  RevocationSet,
  type RevocationSubscription,
  type StateError,
} from "@agentauth/state";
import type { Redis } from "ioredis";
import { type Clock, systemClock } from "../clock.js";
import { type AllowAuditMode, createDecisionRecorder } from "../decisions/decision-recorder.js";
import { createJwksCache, type JwksSource } from "../tokens/jwks-cache.js";
import { createTokenVerifier } from "../tokens/token-verifier.js";
import { introspectToken } from "../verification/introspect-token.js";
import {
  type RevocationView,
  type VerifyAnswer,
  verifyRequest,
} from "../verification/verify-request.js";
import {
  type CheckedVerifyRequest,
  checkVerifyRequest,
  type VerifyRequest,
} from "../verification/verify-request-shape.js";

/** What verification engines of one deployment share: Redis in production, in-process otherwise. */
export interface VerificationState {
  /** DPoP `jti` marks and the envelopes' counters, judged in one atomic step. */
  readonly admissionStore: AdmissionStore;
  /** The registry's revocations: published by it, followed by every engine. */
  readonly revocationBus: RevocationBus;
  /** Where decisions worth auditing go, for the registry's audit chain; none are kept without. */
  readonly decisionLog?: DecisionLog;
}

/** Shared state on one Redis client, which the engine uses but does not close. */
export interface RedisVerificationState {
  readonly redis: Redis;
  /** Prefix of every key. Default "agentauth:", as the registry's. */
  readonly keyPrefix?: string;
}

/** Told of what the engine does in the background, and of each token check (metrics, logs). */
export interface VerificationEngineEvents {
  /** An access token was checked: `cached` when its signature had been verified before. */
  onTokenChecked?(cached: boolean): void;
  /** A fetch of the registry's key set ended so. */
  onJwksFetch?(outcome: "changed" | "unchanged" | "failed", error?: unknown): void;
  /** A revocation arrived from the registry. */
  onRevocation?(kind: RevocationKind): void;
  /** The whole revocation set was (re)loaded: at subscription and every reconnection. */
  onRevocationReload?(): void;
  /** The open revocation subscription has a problem (it reconnects on its own). */
  onRevocationError?(error: StateError): void;
  /** Opening the revocation subscription failed; it is tried again a second later. */
  onRevocationSubscribeFailed?(error: unknown): void;
  /** Appending decisions to the decision log failed; they are kept and retried. */
  onDecisionLogFailure?(error: unknown): void;
  /** Decisions dropped because the buffer was full while the decision log was unreachable. */
  onDecisionsDropped?(count: number): void;
}

export interface VerificationEngineOptions {
  /** The registry's issuer identifier (tokens' `iss`). */
  readonly issuer: string;
  /** The registry's `jwks_uri`, or another source of its key set. */
  readonly jwks: string | JwksSource;
  /** Shared state: a Redis client, or adapters of your choice (in-process ones for one process). */
  readonly state: RedisVerificationState | VerificationState;
  /**
   * HMAC secret of the DPoP server nonces, at least 32 bytes, the same for every engine of a
   * deployment so each accepts the others' nonces. Default a random one: one process only.
   */
  readonly dpopNonceSecret?: Uint8Array;
  /** Demand a server nonce in every DPoP proof (RFC 9449 §9). Default true. */
  readonly requireDpopNonce?: boolean;
  /** Tolerated clock difference for token and proof times, in seconds. Default 5. */
  readonly clockSkewSeconds?: number;
  /** Verified access tokens remembered by their exact text (0 disables). Default 10,000. */
  readonly tokenCacheSize?: number;
  /** Which allows reach the decision log: "all", "aggregate" (default) or "none". */
  readonly auditAllows?: AllowAuditMode;
  /** The engine's only source of time. Default the system clock. */
  readonly clock?: Clock;
  /** Readiness checks of other dependencies; each rejects when its dependency is down. */
  readonly readinessChecks?: Readonly<Record<string, () => Promise<unknown>>>;
  /** Fetches the JWKS URL. Default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  readonly events?: VerificationEngineEvents;
}

/**
 * The verifier's checks as a library: what `POST /v1/verify` decides, for a process that verifies
 * its agents' requests itself (the verifier service is built on it).
 */
export interface VerificationEngine {
  /**
   * Decides one agent request for service provider `serviceProviderId` (the tokens' `aud`):
   * resolves to exactly the answer `POST /v1/verify` gives — an allow, or a denial with its
   * reason and what to answer the agent. Rejects with a `StateError` when shared state is
   * unavailable (answer 503: nothing is allowed that was not checked), and with a `TypeError`
   * for a request of the wrong shape.
   */
  verify(serviceProviderId: string, request: VerifyRequest): Promise<VerifyAnswer>;
  /** RFC 7662 introspection of `token` for `serviceProviderId` (`{ active: false }` if not). */
  introspect(serviceProviderId: string, token: string): Promise<Record<string, unknown>>;
  /**
   * Once the first fetch of the registry's keys and the revocation subscription have been tried:
   * whether the engine can decide now (keys known, revocation list current, every readiness
   * check passing). Not ready, `verify` refuses or fails closed; it recovers on its own.
   */
  ready(): Promise<boolean>;
  /** Each readiness check by name, after the first attempts as for {@link ready}. */
  readiness(): Promise<Record<string, boolean>>;
  /** Stops background work and sends the decisions still buffered. Idempotent. */
  close(): Promise<void>;
  /** Decision records waiting to reach the decision log. */
  readonly bufferedDecisions: number;
}

/** What the verifier service needs of an engine beyond its public surface. */
export interface InternalVerificationEngine extends VerificationEngine {
  /** {@link VerificationEngine.verify} for a request whose shape was already checked. */
  verifyChecked(serviceProviderId: string, request: CheckedVerifyRequest): Promise<VerifyAnswer>;
}

const RESUBSCRIBE_MS = 1_000;

/**
 * Creates a verification engine and starts its background work: fetching the registry's keys
 * (refreshed every 5 minutes; an unknown `kid` refetches, at most once per 10 s; kept while the
 * registry is unreachable), following its revocations (reloaded on every reconnection), and
 * sending decision records to the decision log every second. Close it when done.
 *
 * @example
 * const engine = createVerificationEngine({
 *   issuer: "https://registry.example.com",
 *   jwks: "https://registry.example.com/.well-known/jwks.json",
 *   state: { redis: createRedisClient(process.env.REDIS_URL) },
 *   dpopNonceSecret: Buffer.from(process.env.DPOP_NONCE_SECRET, "hex"),
 * });
 * await engine.ready();
 * const answer = await engine.verify("https://payments.example.com", {
 *   authorization: req.headers.authorization, dpop: req.headers.dpop,
 *   method: req.method, url: "https://payments.example.com/v1/payments",
 *   action: { type: "transact", resource: "merchant/acme", amount: { amount: "12.50", currency: "EUR" } },
 * });
 */
export function createVerificationEngine(options: VerificationEngineOptions): VerificationEngine {
  return createInternalVerificationEngine(options);
}

/** {@link createVerificationEngine}, with what the verifier service needs of it. */
export function createInternalVerificationEngine(
  options: VerificationEngineOptions,
): InternalVerificationEngine {
  const clock = options.clock ?? systemClock;
  const events = options.events ?? {};
  const clockSkewSeconds = options.clockSkewSeconds ?? 5;
  if (!Number.isSafeInteger(clockSkewSeconds) || clockSkewSeconds < 0)
    throw new TypeError("clockSkewSeconds must be a whole number of seconds");
  const { state, readinessChecks } = resolveState(options.state, options.readinessChecks);

  const keyCache = createKeyCache();
  const jwks = createJwksCache({
    url: options.jwks,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    onFetch: (outcome, error) => events.onJwksFetch?.(outcome, error),
  });
  const tokenVerifier = createTokenVerifier({
    jwks,
    issuer: options.issuer,
    clockSkewSeconds,
    keyCache,
    cacheSize: options.tokenCacheSize ?? 10_000,
  });
  const tokens = {
    verify: async (token: string, audience: string, now: Date) => {
      const verified = await tokenVerifier.verify(token, audience, now);
      events.onTokenChecked?.(verified.cached);
      return verified;
    },
    has: (token: string) => tokenVerifier.has(token),
    get size() {
      return tokenVerifier.size;
    },
  };

  const revocationSet = new RevocationSet();
  let revocationsCurrent = false;
  const revocations: RevocationView = { set: revocationSet, isCurrent: () => revocationsCurrent };
  let subscription: RevocationSubscription | undefined;
  let closed = false;
  let resubscribeTimer: NodeJS.Timeout | undefined;
  const subscribe = async (): Promise<void> => {
    try {
      const opened = await state.revocationBus.subscribe({
        onRevocation: (record) => {
          revocationSet.apply(record);
          events.onRevocation?.(record.kind);
        },
        onReload: (records) => {
          revocationSet.replaceAll(records);
          revocationsCurrent = true;
          events.onRevocationReload?.();
        },
        onError: (error: StateError) => {
          if (error.code === "ERR_STATE_UNAVAILABLE") revocationsCurrent = false;
          events.onRevocationError?.(error);
        },
      });
      // Closed while it was opening (a retry): `close` could not close it.
      if (closed) await opened.close();
      else subscription = opened;
    } catch (error) {
      events.onRevocationSubscribeFailed?.(error);
      if (!closed) {
        resubscribeTimer = setTimeout(() => void subscribe(), RESUBSCRIBE_MS);
        resubscribeTimer.unref();
      }
    }
  };

  const recorder =
    state.decisionLog === undefined
      ? undefined
      : createDecisionRecorder({
          log: state.decisionLog,
          allows: options.auditAllows ?? "aggregate",
          onError: (error) => events.onDecisionLogFailure?.(error),
          onDropped: (count) => events.onDecisionsDropped?.(count),
        });

  const nonceSource = createDpopNonceSource({
    secret: options.dpopNonceSecret ?? Uint8Array.from(randomBytes(32)),
  });
  const verifyDeps = {
    clock,
    tokens,
    revocations,
    admissions: state.admissionStore,
    keyCache,
    nonceSource: options.requireDpopNonce === false ? undefined : nonceSource,
    clockSkewSeconds,
  };

  const started = Promise.all([jwks.start(), subscribe()]).then(() => recorder?.start());
  let closing: Promise<void> | undefined;

  const readiness = async (): Promise<Record<string, boolean>> => {
    await started;
    const extra = Object.entries(readinessChecks);
    const results = await Promise.all(
      extra.map(([name, check]) =>
        check().then(
          () => [name, true] as const,
          () => [name, false] as const,
        ),
      ),
    );
    return {
      jwks: jwks.current() !== undefined,
      revocations: revocationsCurrent,
      ...Object.fromEntries(results),
    };
  };

  const verifyChecked = async (serviceProviderId: string, request: CheckedVerifyRequest) => {
    const answer = await verifyRequest(verifyDeps, serviceProviderId, request);
    recorder?.record(serviceProviderId, request.action, answer, clock.now());
    return answer;
  };

  return {
    verifyChecked,
    async verify(serviceProviderId, request) {
      if (typeof serviceProviderId !== "string" || serviceProviderId === "")
        throw new TypeError("serviceProviderId must be a non-empty string");
      const checked = checkVerifyRequest(request);
      if (!checked.ok)
        throw new TypeError(`Invalid verify request: ${checked.problems.join("; ")}`);
      return verifyChecked(serviceProviderId, checked.request);
    },
    introspect: (serviceProviderId, token) =>
      introspectToken({ clock, tokens, revocations }, serviceProviderId, token),
    readiness,
    async ready() {
      return Object.values(await readiness()).every(Boolean);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        clearTimeout(resubscribeTimer);
        jwks.stop();
        await started;
        await subscription?.close();
        await recorder?.stop();
      })();
      return closing;
    },
    get bufferedDecisions() {
      return recorder?.buffered ?? 0;
    },
  };
}

export type { JsonWebKeySet, JwksSource };

function resolveState(
  state: RedisVerificationState | VerificationState,
  readinessChecks: Readonly<Record<string, () => Promise<unknown>>> = {},
): { state: VerificationState; readinessChecks: Readonly<Record<string, () => Promise<unknown>>> } {
  if (!("redis" in state)) return { state, readinessChecks };
  const { redis } = state;
  const keyPrefix = state.keyPrefix === undefined ? {} : { keyPrefix: state.keyPrefix };
  return {
    state: {
      admissionStore: createRedisAdmissionStore(redis, keyPrefix),
      revocationBus: createRedisRevocationBus(redis, keyPrefix),
      decisionLog: createRedisDecisionLog(redis, keyPrefix),
    },
    readinessChecks: { redis: () => pingRedis(redis), ...readinessChecks },
  };
}
