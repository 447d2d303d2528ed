import { z } from "zod";
import { type Clock, systemClock } from "./clock.js";
import { type GrantStorage, isGrantStorage } from "./grants/grant-storage.js";
import type { RetryPolicy } from "./http/backoff.js";
import { isCredentialUrl } from "./http/secure-url.js";
import { isKeyStore, KEY_STORE_METHODS, type KeyStore } from "./keys/key-store.js";
import { createMemoryKeyStore } from "./keys/memory-key-store.js";
import { isSdkLogger, type SdkLogger } from "./logger.js";

/** Options of {@link createAgent}; see docs/sdk.md for each. */
export interface CreateAgentOptions {
  /** The registry's issuer identifier, e.g. `https://agentauth.example.com`. */
  readonly registryUrl: string;
  /** Where the key and agent id live; default a memory store (a new key every process). */
  readonly keyStore?: KeyStore;
  /**
   * Where the grants the human approved are saved, so a restarted agent holds them again;
   * default none (grants live in the agent object only).
   */
  readonly grantStorage?: GrantStorage;
  /** Milliseconds an HTTP exchange may take (until the headers, or the body the SDK reads). */
  readonly timeout?: number;
  /** Seconds before an access token's expiry to refresh it (at most half its lifetime). */
  readonly refreshBeforeExpiry?: number;
  /** Retrying requests that are safe to repeat. */
  readonly retry?: {
    /** Retries after the first attempt; 0 turns retrying off. Default 3. */
    readonly retries?: number;
    /** Milliseconds: the first retry waits between half of this and this. Default 250. */
    readonly minDelay?: number;
    /** Milliseconds no computed wait exceeds. Default 8000. */
    readonly maxDelay?: number;
    /** Seconds: a longer `Retry-After` is not waited for, the error surfaces. Default 30. */
    readonly maxRetryAfter?: number;
  };
  /** A pino-style logger (`debug(fields, message)`, `warn(fields, message)`); default none. */
  readonly logger?: SdkLogger;
  /** The `fetch` to use; default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Time and waiting; default the system clock. */
  readonly clock?: Clock;
}

/** {@link CreateAgentOptions} validated, with every default applied. */
export interface AgentConfig {
  readonly registryUrl: string;
  readonly keyStore: KeyStore;
  readonly grantStorage: GrantStorage | undefined;
  readonly timeoutMs: number;
  readonly refreshBeforeExpirySeconds: number;
  readonly retry: RetryPolicy;
  readonly logger: SdkLogger | undefined;
  readonly fetch: typeof globalThis.fetch;
  readonly clock: Clock;
}

const integer = (min: number, max: number, unit: string) =>
  z
    .number({ error: `must be a number of ${unit}` })
    .int({ error: `must be a whole number of ${unit}` })
    .min(min, { error: `must be at least ${min} ${unit}` })
    .max(max, { error: `must be at most ${max} ${unit}` });

const isClock = (value: unknown): value is Clock =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as Clock).now === "function" &&
  typeof (value as Clock).sleep === "function";

const optionsSchema = z.strictObject({
  registryUrl: z.custom<string>(isCredentialUrl, {
    error:
      "must be the registry's https URL (http only on localhost), without credentials, query or fragment",
  }),
  keyStore: z
    .custom<KeyStore>(isKeyStore, {
      error: `must be a KeyStore (${KEY_STORE_METHODS.join(", ")})`,
    })
    .optional(),
  grantStorage: z
    .custom<GrantStorage>(isGrantStorage, { error: "must be a GrantStorage (load, save)" })
    .optional(),
  timeout: integer(1, 600_000, "milliseconds").default(10_000),
  refreshBeforeExpiry: integer(0, 600, "seconds").default(60),
  retry: z
    .strictObject({
      retries: integer(0, 10, "retries").default(3),
      minDelay: integer(1, 60_000, "milliseconds").default(250),
      maxDelay: integer(1, 600_000, "milliseconds").default(8000),
      maxRetryAfter: integer(0, 3600, "seconds").default(30),
    })
    .default({ retries: 3, minDelay: 250, maxDelay: 8000, maxRetryAfter: 30 })
    .refine((retry) => retry.minDelay <= retry.maxDelay, {
      error: "minDelay must not exceed maxDelay",
    }),
  logger: z
    .custom<SdkLogger>(isSdkLogger, {
      error: "must have debug(fields, message) and warn(fields, message)",
    })
    .optional(),
  fetch: z
    .custom<typeof globalThis.fetch>((value) => typeof value === "function", {
      error: "must be a fetch function",
    })
    .optional(),
  clock: z.custom<Clock>(isClock, { error: "must have now() and sleep(ms, signal)" }).optional(),
});

/**
 * Validates {@link CreateAgentOptions} once and applies the defaults. Throws one `TypeError`
 * naming every bad option (never echoing a value).
 */
export function parseAgentOptions(options: CreateAgentOptions): AgentConfig {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.join(".");
      return issue.code === "unrecognized_keys"
        ? `unknown option${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`
        : `${path === "" ? "options" : path} ${issue.message}`;
    });
    throw new TypeError(`Invalid AgentAuth SDK options: ${problems.join("; ")}`);
  }
  const { data } = parsed;
  if (data.fetch === undefined && typeof globalThis.fetch !== "function") {
    throw new TypeError(
      "Invalid AgentAuth SDK options: fetch is required where there is no global fetch",
    );
  }
  return Object.freeze({
    registryUrl: data.registryUrl,
    keyStore: data.keyStore ?? createMemoryKeyStore(),
    grantStorage: data.grantStorage,
    timeoutMs: data.timeout,
    refreshBeforeExpirySeconds: data.refreshBeforeExpiry,
    retry: Object.freeze({
      retries: data.retry.retries,
      minDelayMs: data.retry.minDelay,
      maxDelayMs: data.retry.maxDelay,
      maxRetryAfterSeconds: data.retry.maxRetryAfter,
    }),
    logger: data.logger,
    // Called unbound, a browser's fetch throws "Illegal invocation".
    fetch: data.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    clock: data.clock ?? systemClock,
  });
}
