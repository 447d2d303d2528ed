import { z } from "zod";
import type { AllowAuditMode } from "./decisions/decision-recorder.js";

export type { AllowAuditMode };

/** Verifier configuration, parsed once from the environment by `main.ts`. */
export interface VerifierConfig {
  readonly port: number;
  readonly host: string;
  /** The registry's issuer URL: tokens' `iss`, and where its metadata and JWKS are found. */
  readonly registryUrl: string;
  /** The registry's JWKS; default `<registryUrl>/.well-known/jwks.json`. */
  readonly jwksUrl: string;
  /** Redis URL; unset means in-process adapters, which share nothing with other processes. */
  readonly redisUrl: string | undefined;
  /** HMAC secret for stateless DPoP nonces, shared by every replica; random per process if unset. */
  readonly dpopNonceSecret: Uint8Array | undefined;
  /** Demand server nonces in DPoP proofs (RFC 9449 §9). */
  readonly requireDpopNonce: boolean;
  readonly clockSkewSeconds: number;
  /** How long an API key lookup is trusted before asking the key directory again. */
  readonly apiKeyCacheSeconds: number;
  /** Verified tokens remembered (by their exact text) so a warm token costs no signature check. */
  readonly tokenCacheSize: number;
  readonly auditAllows: AllowAuditMode;
  /** Worker processes (Node cluster); more than one needs Redis. */
  readonly workers: number;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
}

const booleanString = z
  .enum(["true", "false", "1", "0"])
  .transform((value) => value === "true" || value === "1");

// Digits only: `z.coerce.number()` would read an empty (or blank) variable as 0 — a random port, no
// clock skew, no caches — where the operator meant the default or made a mistake.
const wholeNumber = (max: number) =>
  z.string().regex(/^\d+$/, "must be a whole number").transform(Number).pipe(z.number().max(max));

const schema = z
  .object({
    VERIFIER_PORT: wholeNumber(65_535).default(4100),
    VERIFIER_HOST: z.string().min(1).default("127.0.0.1"),
    AGENTAUTH_REGISTRY_URL: z.url({ protocol: /^https?$/ }).default("http://localhost:4000"),
    VERIFIER_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    VERIFIER_DPOP_NONCE_SECRET: z
      .string()
      .regex(/^[0-9a-f]{64,}$/, "must be at least 64 lower-case hex characters (32 bytes)")
      .optional(),
    VERIFIER_REQUIRE_DPOP_NONCE: booleanString.default(true),
    VERIFIER_CLOCK_SKEW_SECONDS: wholeNumber(60).default(5),
    VERIFIER_API_KEY_CACHE_SECONDS: wholeNumber(60).default(5),
    VERIFIER_TOKEN_CACHE_SIZE: wholeNumber(1_000_000).default(10_000),
    VERIFIER_AUDIT_ALLOWS: z.enum(["all", "aggregate", "none"]).default("aggregate"),
    VERIFIER_WORKERS: wholeNumber(64).pipe(z.number().min(1)).default(1),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
  })
  .superRefine((env, context) => {
    if (env.VERIFIER_WORKERS > 1 && env.REDIS_URL === undefined) {
      context.addIssue({
        code: "custom",
        path: ["VERIFIER_WORKERS"],
        message: "more than one worker needs REDIS_URL: in-process state is not shared",
      });
    }
    if (env.VERIFIER_WORKERS > 1 && env.VERIFIER_DPOP_NONCE_SECRET === undefined) {
      context.addIssue({
        code: "custom",
        path: ["VERIFIER_DPOP_NONCE_SECRET"],
        message: "is required with more than one worker, so every worker accepts the same nonces",
      });
    }
  });

/** Thrown by {@link parseConfig}, listing every bad variable at once. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parses the verifier's environment once: documented defaults, every problem reported together,
 * a frozen result. See docs/verifier.md for each variable.
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): VerifierConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `  ${issue.path.join(".")}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid verifier configuration:\n${problems.join("\n")}`);
  }
  const e = result.data;
  const registryUrl = e.AGENTAUTH_REGISTRY_URL.replace(/\/+$/, "");
  return Object.freeze({
    port: e.VERIFIER_PORT,
    host: e.VERIFIER_HOST,
    registryUrl,
    jwksUrl: e.VERIFIER_JWKS_URL ?? `${registryUrl}/.well-known/jwks.json`,
    redisUrl: e.REDIS_URL,
    dpopNonceSecret:
      e.VERIFIER_DPOP_NONCE_SECRET === undefined
        ? undefined
        : Uint8Array.from(Buffer.from(e.VERIFIER_DPOP_NONCE_SECRET, "hex")),
    requireDpopNonce: e.VERIFIER_REQUIRE_DPOP_NONCE,
    clockSkewSeconds: e.VERIFIER_CLOCK_SKEW_SECONDS,
    apiKeyCacheSeconds: e.VERIFIER_API_KEY_CACHE_SECONDS,
    tokenCacheSize: e.VERIFIER_TOKEN_CACHE_SIZE,
    auditAllows: e.VERIFIER_AUDIT_ALLOWS,
    workers: e.VERIFIER_WORKERS,
    logLevel: e.LOG_LEVEL,
  });
}
