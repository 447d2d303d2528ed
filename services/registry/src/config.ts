import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { findBuiltApprovalApp } from "./approval-app/approval-app-routes.js";

export type SignerConfig =
  | { readonly kind: "file"; readonly path: string }
  | {
      readonly kind: "kms";
      readonly keyId: string;
      readonly region: string;
      readonly endpoint: string | undefined;
    };

/** Registry configuration, parsed once from the environment by `main.ts`. */
export interface RegistryConfig {
  readonly port: number;
  readonly host: string;
  /** Public base URL: the OAuth issuer, WebAuthn origin and the base of every link. */
  readonly publicUrl: string;
  /** WebAuthn relying-party id: the public URL's host name unless set. */
  readonly rpId: string;
  readonly rpName: string;
  /** Postgres connection string; unset means embedded PGlite under `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** Redis URL; unset means the in-process adapters (one process only). */
  readonly redisUrl: string | undefined;
  readonly dataDir: string;
  readonly signer: SignerConfig;
  /** HMAC secret for stateless DPoP nonces; at least 32 bytes. */
  readonly dpopNonceSecret: Uint8Array | undefined;
  readonly accessTokenLifetimeSeconds: number;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  readonly trustProxy: boolean;
  /** The built approval app served on the registry's origin; `undefined` serves no app. */
  readonly approvalAppDir: string | undefined;
}

const booleanString = z
  .enum(["true", "false", "1", "0"])
  .transform((value) => value === "true" || value === "1");

const schema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
    HOST: z.string().min(1).default("127.0.0.1"),
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    WEBAUTHN_RP_ID: z.string().min(1).optional(),
    WEBAUTHN_RP_NAME: z.string().min(1).default("AgentAuth"),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    AGENTAUTH_DATA_DIR: z.string().min(1).default(".data"),
    SIGNER: z.enum(["file", "kms"]).default("file"),
    SIGNING_KEY_FILE: z.string().min(1).optional(),
    KMS_KEY_ID: z.string().min(1).optional(),
    AWS_REGION: z.string().min(1).optional(),
    KMS_ENDPOINT: z.url().optional(),
    DPOP_NONCE_SECRET: z
      .string()
      .regex(/^[0-9a-f]{64,}$/, "must be at least 64 lower-case hex characters (32 bytes)")
      .optional(),
    ACCESS_TOKEN_LIFETIME_SECONDS: z.coerce.number().int().min(30).max(900).default(600),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
    TRUST_PROXY: booleanString.default(false),
    AGENTAUTH_APPROVAL_APP_DIR: z
      .string()
      .min(1)
      .refine((dir) => existsSync(join(dir, "index.html")), {
        error: "has no index.html (build the approval app with `npm run build`)",
      })
      .optional(),
  })
  .superRefine((env, context) => {
    if (env.SIGNER === "kms") {
      for (const key of ["KMS_KEY_ID", "AWS_REGION"] as const) {
        if (env[key] === undefined)
          context.addIssue({ code: "custom", path: [key], message: "is required when SIGNER=kms" });
      }
    }
  });

/** Thrown by {@link parseConfig}, listing every bad variable at once. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parses the registry's environment once: documented defaults, every problem reported together,
 * a frozen result. See docs/registry.md for each variable.
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): RegistryConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `  ${issue.path.join(".")}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid registry configuration:\n${problems.join("\n")}`);
  }
  const e = result.data;
  const port = e.PORT;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/+$/, "");
  const dataDir = e.AGENTAUTH_DATA_DIR;
  const signer: SignerConfig =
    e.SIGNER === "kms"
      ? {
          kind: "kms",
          keyId: e.KMS_KEY_ID as string,
          region: e.AWS_REGION as string,
          endpoint: e.KMS_ENDPOINT,
        }
      : { kind: "file", path: e.SIGNING_KEY_FILE ?? `${dataDir}/registry/signing-key.pem` };
  return Object.freeze({
    port,
    host: e.HOST,
    publicUrl,
    rpId: e.WEBAUTHN_RP_ID ?? new URL(publicUrl).hostname,
    rpName: e.WEBAUTHN_RP_NAME,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    dataDir,
    signer,
    dpopNonceSecret:
      e.DPOP_NONCE_SECRET === undefined
        ? undefined
        : Uint8Array.from(Buffer.from(e.DPOP_NONCE_SECRET, "hex")),
    accessTokenLifetimeSeconds: e.ACCESS_TOKEN_LIFETIME_SECONDS,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY,
    approvalAppDir: e.AGENTAUTH_APPROVAL_APP_DIR ?? findBuiltApprovalApp(),
  });
}
