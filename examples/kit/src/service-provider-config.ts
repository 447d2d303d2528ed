import { parseServiceProviderApiKey } from "@agentauth/core";
import { z } from "zod";
import { parseEnvironment } from "./config-error.js";
import type { DemoServiceProvider } from "./demo-service-providers.js";

/** Where an example service provider's verifier API key comes from. */
export type ApiKeySource =
  | { readonly kind: "value"; readonly apiKey: string }
  | { readonly kind: "file"; readonly path: string };

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** What every example service provider is configured with (see examples/README.md). */
export interface ServiceProviderConfig {
  readonly port: number;
  readonly host: string;
  /** Where agents reach it: the absolute URL their DPoP proofs name. */
  readonly publicUrl: string;
  /** Its id at the registry: the audience of the tokens it accepts. */
  readonly serviceProviderId: string;
  /** The registry's issuer identifier. */
  readonly registryUrl: string;
  readonly verifierUrl: string;
  readonly apiKey: ApiKeySource;
  readonly logLevel: LogLevel;
}

// Digits only: `z.coerce.number()` would read an empty variable as port 0.
const port = z
  .string()
  .regex(/^\d+$/, "must be a whole number")
  .transform(Number)
  .pipe(z.number().max(65_535));
const httpUrl = z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, ""));

const schema = z
  .object({
    PORT: port.optional(),
    HOST: z.string().min(1).default("127.0.0.1"),
    PUBLIC_URL: httpUrl.optional(),
    SERVICE_PROVIDER_ID: z.string().min(1).max(200).optional(),
    VERIFIER_API_KEY: z
      .string()
      .refine(
        (key) => parseServiceProviderApiKey(key) !== undefined,
        "must be a verifier API key (aask_…)",
      )
      .optional(),
    VERIFIER_API_KEY_FILE: z.string().min(1).optional(),
    AGENTAUTH_REGISTRY_URL: httpUrl.default("http://localhost:4000"),
    AGENTAUTH_VERIFIER_URL: httpUrl.default("http://localhost:4100"),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
  })
  .superRefine((env, context) => {
    if ((env.VERIFIER_API_KEY === undefined) === (env.VERIFIER_API_KEY_FILE === undefined)) {
      context.addIssue({
        code: "custom",
        path: ["VERIFIER_API_KEY"],
        message: "give exactly one of the API key and the API key file",
      });
    }
  });

const PREFIXED = [
  "PORT",
  "HOST",
  "PUBLIC_URL",
  "SERVICE_PROVIDER_ID",
  "VERIFIER_API_KEY",
  "VERIFIER_API_KEY_FILE",
] as const;

/**
 * Parses an example service provider's environment once: `<PREFIX>_PORT`, `<PREFIX>_HOST`,
 * `<PREFIX>_PUBLIC_URL`, `<PREFIX>_SERVICE_PROVIDER_ID`, `<PREFIX>_VERIFIER_API_KEY` or
 * `<PREFIX>_VERIFIER_API_KEY_FILE`, and the shared `AGENTAUTH_REGISTRY_URL`,
 * `AGENTAUTH_VERIFIER_URL` and `LOG_LEVEL`. Throws a `ConfigError` listing every bad variable
 * (never a value); returns a frozen object.
 */
export function parseServiceProviderConfig(
  env: Readonly<Record<string, string | undefined>>,
  provider: DemoServiceProvider,
): ServiceProviderConfig {
  const names: Record<string, string> = {};
  const input: Record<string, string | undefined> = {
    AGENTAUTH_REGISTRY_URL: env.AGENTAUTH_REGISTRY_URL,
    AGENTAUTH_VERIFIER_URL: env.AGENTAUTH_VERIFIER_URL,
    LOG_LEVEL: env.LOG_LEVEL,
  };
  for (const key of PREFIXED) {
    names[key] = `${provider.envPrefix}_${key}`;
    input[key] = env[names[key]];
  }
  const e = parseEnvironment(schema, input, provider.name, names);
  const listenPort = e.PORT ?? provider.defaultPort;
  return Object.freeze({
    port: listenPort,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${listenPort}`,
    serviceProviderId: e.SERVICE_PROVIDER_ID ?? provider.id,
    registryUrl: e.AGENTAUTH_REGISTRY_URL,
    verifierUrl: e.AGENTAUTH_VERIFIER_URL,
    apiKey: Object.freeze(
      e.VERIFIER_API_KEY === undefined
        ? { kind: "file" as const, path: e.VERIFIER_API_KEY_FILE as string }
        : { kind: "value" as const, apiKey: e.VERIFIER_API_KEY },
    ),
    logLevel: e.LOG_LEVEL,
  });
}
