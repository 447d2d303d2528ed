import { describe, expect, it } from "vitest";
import { PlatformConfigError, parsePlatformConfig } from "./platform-config.js";

function problemsOf(env: Record<string, string>): string {
  try {
    parsePlatformConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(PlatformConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a PlatformConfigError");
}

describe("parsePlatformConfig", () => {
  it("parses both services' defaults, the verifier trusting this registry", () => {
    const config = parsePlatformConfig({});
    expect(config.registry.port).toBe(4000);
    expect(config.registry.publicUrl).toBe("http://localhost:4000");
    expect(config.verifier.port).toBe(4100);
    expect(config.verifier.registryUrl).toBe("http://localhost:4000");
    expect(config.provisionDemoServiceProviders).toBe(true);
    expect(config.keyDir).toBe(".data/examples");
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("follows the registry's public URL and data directory", () => {
    const config = parsePlatformConfig({
      PORT: "5000",
      PUBLIC_URL: "https://agentauth.example",
      AGENTAUTH_DATA_DIR: "/var/lib/agentauth",
      AGENTAUTH_DEMO_SERVICE_PROVIDERS: "false",
    });
    expect(config.verifier.registryUrl).toBe("https://agentauth.example");
    expect(config.verifier.jwksUrl).toBe("https://agentauth.example/.well-known/jwks.json");
    expect(config.keyDir).toBe("/var/lib/agentauth/examples");
    expect(config.provisionDemoServiceProviders).toBe(false);
  });

  it("lists the registry's, the verifier's and its own bad variables together", () => {
    const message = problemsOf({
      PORT: "seventy",
      VERIFIER_PORT: "-1",
      AGENTAUTH_DEMO_SERVICE_PROVIDERS: "maybe",
    });
    expect(message).toContain("Invalid registry configuration");
    expect(message).toContain("PORT");
    expect(message).toContain("Invalid verifier configuration");
    expect(message).toContain("VERIFIER_PORT");
    expect(message).toContain("AGENTAUTH_DEMO_SERVICE_PROVIDERS");
  });

  it("refuses a verifier that would trust another registry", () => {
    expect(problemsOf({ AGENTAUTH_REGISTRY_URL: "https://other.example" })).toContain(
      "AGENTAUTH_REGISTRY_URL: must be the registry's PUBLIC_URL (http://localhost:4000)",
    );
  });

  it("refuses several verifier workers and a shared port", () => {
    const message = problemsOf({
      REDIS_URL: "redis://127.0.0.1:6379",
      VERIFIER_WORKERS: "2",
      VERIFIER_DPOP_NONCE_SECRET: "a".repeat(64),
      VERIFIER_PORT: "4000",
    });
    expect(message).toContain("VERIFIER_WORKERS: must be 1");
    expect(message).toContain("VERIFIER_PORT: must differ");
  });
});
