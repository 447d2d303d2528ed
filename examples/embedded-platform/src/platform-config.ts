import { join } from "node:path";
import { EXAMPLES_KEY_DIR } from "@agentauth/examples-kit";
import {
  parseConfig as parseRegistryConfig,
  type RegistryConfig,
  ConfigError as RegistryConfigError,
} from "@agentauth/registry";
import {
  parseConfig as parseVerifierConfig,
  type VerifierConfig,
  ConfigError as VerifierConfigError,
} from "@agentauth/verifier";
import { z } from "zod";

/** The co-hosting process's configuration: the registry's and the verifier's, parsed by them. */
export interface PlatformConfig {
  readonly registry: RegistryConfig;
  readonly verifier: VerifierConfig;
  /** Register the demo service providers and write their API key files (default true). */
  readonly provisionDemoServiceProviders: boolean;
  /** Where the demo service providers' API key files go: `<data dir>/examples`. */
  readonly keyDir: string;
}

/** Thrown by {@link parsePlatformConfig}, listing every bad variable of all three parts. */
export class PlatformConfigError extends Error {
  override readonly name = "PlatformConfigError";
}

const platformSchema = z.object({
  AGENTAUTH_DEMO_SERVICE_PROVIDERS: z
    .enum(["true", "false", "1", "0"])
    .transform((value) => value === "true" || value === "1")
    .default(true),
});

/**
 * Parses the environment with the registry's and the verifier's own `parseConfig` (their
 * variables and defaults, docs/registry.md and docs/verifier.md), plus what co-hosting needs:
 * the verifier trusts this process's registry, runs one worker, and listens elsewhere. The
 * verifier's `AGENTAUTH_REGISTRY_URL` defaults to the registry's `PUBLIC_URL`.
 */
export function parsePlatformConfig(
  env: Readonly<Record<string, string | undefined>>,
): PlatformConfig {
  const problems: string[] = [];
  const attempt = <T>(parse: () => T): T | undefined => {
    try {
      return parse();
    } catch (error) {
      if (error instanceof RegistryConfigError || error instanceof VerifierConfigError) {
        problems.push(error.message);
        return undefined;
      }
      throw error;
    }
  };
  const registry = attempt(() => parseRegistryConfig(env));
  const verifier = attempt(() =>
    parseVerifierConfig({
      ...env,
      AGENTAUTH_REGISTRY_URL: env.AGENTAUTH_REGISTRY_URL ?? registry?.publicUrl,
    }),
  );
  const platform = platformSchema.safeParse(env);
  const platformProblems: string[] = platform.success
    ? []
    : platform.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
  if (registry !== undefined && verifier !== undefined) {
    if (verifier.registryUrl !== registry.publicUrl)
      platformProblems.push(
        `  AGENTAUTH_REGISTRY_URL: must be the registry's PUBLIC_URL (${registry.publicUrl}): the verifier in this process trusts this registry`,
      );
    if (verifier.workers !== 1)
      platformProblems.push(
        "  VERIFIER_WORKERS: must be 1 when the verifier shares the registry's process",
      );
    if (verifier.port === registry.port && verifier.port !== 0)
      platformProblems.push(
        `  VERIFIER_PORT: must differ from the registry's PORT (${registry.port})`,
      );
  }
  if (platformProblems.length > 0)
    problems.push(`Invalid platform configuration:\n${platformProblems.join("\n")}`);
  if (problems.length > 0 || registry === undefined || verifier === undefined || !platform.success)
    throw new PlatformConfigError(problems.join("\n"));
  return Object.freeze({
    registry,
    verifier,
    provisionDemoServiceProviders: platform.data.AGENTAUTH_DEMO_SERVICE_PROVIDERS,
    keyDir: join(registry.dataDir, EXAMPLES_KEY_DIR),
  });
}

/** For a `main.ts`: {@link parsePlatformConfig}, or the listed problems on stderr and exit 2. */
export function parsePlatformConfigOrExit(
  env: Readonly<Record<string, string | undefined>>,
): PlatformConfig {
  try {
    return parsePlatformConfig(env);
  } catch (error) {
    if (!(error instanceof PlatformConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
}
