import { describe, expect, it } from "vitest";
import { ConfigError } from "./config-error.js";
import { EXCHANGE } from "./demo-service-providers.js";
import { parseServiceProviderConfig } from "./service-provider-config.js";

const KEY = `aask_${"A".repeat(11)}_${"b".repeat(43)}`;

describe("parseServiceProviderConfig", () => {
  it("applies the documented defaults", () => {
    const config = parseServiceProviderConfig(
      { EXCHANGE_VERIFIER_API_KEY_FILE: "/keys/x" },
      EXCHANGE,
    );
    expect(config).toEqual({
      port: 4200,
      host: "127.0.0.1",
      publicUrl: "http://localhost:4200",
      serviceProviderId: "demo-exchange",
      registryUrl: "http://localhost:4000",
      verifierUrl: "http://localhost:4100",
      apiKey: { kind: "file", path: "/keys/x" },
      logLevel: "info",
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads the prefixed and shared variables", () => {
    const config = parseServiceProviderConfig(
      {
        EXCHANGE_PORT: "5200",
        EXCHANGE_HOST: "0.0.0.0",
        EXCHANGE_PUBLIC_URL: "https://exchange.example/",
        EXCHANGE_SERVICE_PROVIDER_ID: "exchange-2",
        EXCHANGE_VERIFIER_API_KEY: KEY,
        AGENTAUTH_REGISTRY_URL: "https://registry.example",
        AGENTAUTH_VERIFIER_URL: "http://verifier.internal:4100",
        LOG_LEVEL: "warn",
      },
      EXCHANGE,
    );
    expect(config).toMatchObject({
      port: 5200,
      host: "0.0.0.0",
      publicUrl: "https://exchange.example",
      serviceProviderId: "exchange-2",
      registryUrl: "https://registry.example",
      verifierUrl: "http://verifier.internal:4100",
      apiKey: { kind: "value", apiKey: KEY },
      logLevel: "warn",
    });
  });

  it("lists every bad variable by its name, never echoing a key", () => {
    let error: unknown;
    try {
      parseServiceProviderConfig(
        {
          EXCHANGE_PORT: "",
          EXCHANGE_VERIFIER_API_KEY: "not-a-key",
          AGENTAUTH_VERIFIER_URL: "ftp://x",
        },
        EXCHANGE,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain("EXCHANGE_PORT");
    expect(message).toContain("EXCHANGE_VERIFIER_API_KEY");
    expect(message).toContain("AGENTAUTH_VERIFIER_URL");
    expect(message).not.toContain("not-a-key");
  });

  it("wants exactly one of the API key and the API key file", () => {
    expect(() => parseServiceProviderConfig({}, EXCHANGE)).toThrow(ConfigError);
    expect(() =>
      parseServiceProviderConfig(
        { EXCHANGE_VERIFIER_API_KEY: KEY, EXCHANGE_VERIFIER_API_KEY_FILE: "/k" },
        EXCHANGE,
      ),
    ).toThrow(/exactly one/);
  });
});
