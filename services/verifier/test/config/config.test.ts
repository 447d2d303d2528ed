import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";

const SECRET = "0123456789abcdef".repeat(4);

/** The message of the ConfigError `env` raises (fails the test when it raises none). */
function problemsOf(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe("parseConfig", () => {
  it("applies the documented defaults and returns a frozen object", () => {
    const config = parseConfig({});
    expect(config).toEqual({
      port: 4100,
      host: "127.0.0.1",
      registryUrl: "http://localhost:4000",
      jwksUrl: "http://localhost:4000/.well-known/jwks.json",
      redisUrl: undefined,
      dpopNonceSecret: undefined,
      requireDpopNonce: true,
      clockSkewSeconds: 5,
      apiKeyCacheSeconds: 5,
      tokenCacheSize: 10_000,
      auditAllows: "aggregate",
      workers: 1,
      logLevel: "info",
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads every variable", () => {
    const config = parseConfig({
      VERIFIER_PORT: "0",
      VERIFIER_HOST: "0.0.0.0",
      AGENTAUTH_REGISTRY_URL: "https://registry.example.com/agentauth//",
      VERIFIER_JWKS_URL: "http://registry.internal:4000/keys",
      REDIS_URL: "rediss://user:pass@redis.example.com:6380/2",
      VERIFIER_DPOP_NONCE_SECRET: SECRET,
      VERIFIER_REQUIRE_DPOP_NONCE: "false",
      VERIFIER_CLOCK_SKEW_SECONDS: "0",
      VERIFIER_API_KEY_CACHE_SECONDS: "60",
      VERIFIER_TOKEN_CACHE_SIZE: "0",
      VERIFIER_AUDIT_ALLOWS: "all",
      VERIFIER_WORKERS: "4",
      LOG_LEVEL: "silent",
      UNRELATED: "ignored",
    });
    expect(config).toEqual({
      port: 0,
      host: "0.0.0.0",
      // The issuer without trailing slashes, as tokens' `iss` has it.
      registryUrl: "https://registry.example.com/agentauth",
      jwksUrl: "http://registry.internal:4000/keys",
      redisUrl: "rediss://user:pass@redis.example.com:6380/2",
      dpopNonceSecret: Uint8Array.from(Buffer.from(SECRET, "hex")),
      requireDpopNonce: false,
      clockSkewSeconds: 0,
      apiKeyCacheSeconds: 60,
      tokenCacheSize: 0,
      auditAllows: "all",
      workers: 4,
      logLevel: "silent",
    });
    expect(config.dpopNonceSecret).toHaveLength(32);
  });

  it.each([
    ["true", true],
    ["1", true],
    ["false", false],
    ["0", false],
  ])("reads VERIFIER_REQUIRE_DPOP_NONCE=%s as %s", (value, expected) => {
    expect(parseConfig({ VERIFIER_REQUIRE_DPOP_NONCE: value }).requireDpopNonce).toBe(expected);
  });

  it("derives the JWKS URL from the registry URL", () => {
    expect(parseConfig({ AGENTAUTH_REGISTRY_URL: "http://reg:9000/" }).jwksUrl).toBe(
      "http://reg:9000/.well-known/jwks.json",
    );
  });

  const INVALID: [string, string[]][] = [
    ["VERIFIER_PORT", ["65536", "-1", "http", "1.5", "", " "]],
    ["VERIFIER_HOST", [""]],
    ["AGENTAUTH_REGISTRY_URL", ["registry", "ftp://registry.example.com", ""]],
    ["VERIFIER_JWKS_URL", ["file:///etc/passwd", "keys.json"]],
    ["REDIS_URL", ["http://127.0.0.1:6379", "127.0.0.1:6379"]],
    ["VERIFIER_DPOP_NONCE_SECRET", ["abc", SECRET.toUpperCase(), `${SECRET.slice(2)}zz`]],
    ["VERIFIER_REQUIRE_DPOP_NONCE", ["yes", "TRUE", ""]],
    ["VERIFIER_CLOCK_SKEW_SECONDS", ["61", "-1", "five", ""]],
    ["VERIFIER_API_KEY_CACHE_SECONDS", ["61", "0.5", ""]],
    ["VERIFIER_TOKEN_CACHE_SIZE", ["1000001", "-5", ""]],
    ["VERIFIER_AUDIT_ALLOWS", ["some", "ALL"]],
    ["VERIFIER_WORKERS", ["0", "65", "two", ""]],
    ["LOG_LEVEL", ["verbose", "INFO"]],
  ];

  it.each(INVALID.flatMap(([name, values]) => values.map((value) => [name, value] as const)))(
    "refuses %s=%j, naming it",
    (name, value) => {
      const message = problemsOf({ [name]: value });
      expect(message).toContain(`  ${name}: `);
      // Only that variable is named.
      // Only that variable is named (a worker count above one also names what it needs).
      if (name !== "VERIFIER_WORKERS")
        for (const [other] of INVALID) if (other !== name) expect(message).not.toContain(other);
    },
  );

  it("lists every bad variable at once", () => {
    const env = Object.fromEntries(INVALID.map(([name, values]) => [name, values[0] as string]));
    const message = problemsOf(env);
    expect(message).toMatch(/^Invalid verifier configuration:\n/);
    for (const [name] of INVALID) expect(message).toContain(`  ${name}: `);
  });

  it("refuses more than one worker without REDIS_URL or without a shared nonce secret", () => {
    const both = problemsOf({ VERIFIER_WORKERS: "2" });
    expect(both).toContain("VERIFIER_WORKERS: more than one worker needs REDIS_URL");
    expect(both).toContain("VERIFIER_DPOP_NONCE_SECRET: is required with more than one worker");
    const noRedis = problemsOf({ VERIFIER_WORKERS: "2", VERIFIER_DPOP_NONCE_SECRET: SECRET });
    expect(noRedis).toContain("VERIFIER_WORKERS");
    expect(noRedis).not.toContain("VERIFIER_DPOP_NONCE_SECRET");
    const noSecret = problemsOf({ VERIFIER_WORKERS: "2", REDIS_URL: "redis://127.0.0.1:6379" });
    expect(noSecret).toContain("VERIFIER_DPOP_NONCE_SECRET");
    expect(noSecret).not.toContain("VERIFIER_WORKERS");
    expect(
      parseConfig({
        VERIFIER_WORKERS: "2",
        REDIS_URL: "redis://127.0.0.1:6379",
        VERIFIER_DPOP_NONCE_SECRET: SECRET,
      }).workers,
    ).toBe(2);
    // One worker needs neither.
    expect(parseConfig({ VERIFIER_WORKERS: "1" }).workers).toBe(1);
  });
});
