import { ConfigError } from "@agentauth/examples-kit";
import { describe, expect, it } from "vitest";
import { parseExchangeConfig } from "./config.js";

const KEY_FILE = { EXCHANGE_VERIFIER_API_KEY_FILE: "/data/examples/demo-exchange.api-key" };

describe("parseExchangeConfig", () => {
  it("applies the documented defaults", () => {
    const config = parseExchangeConfig(KEY_FILE);
    expect(config).toMatchObject({
      port: 4200,
      serviceProviderId: "demo-exchange",
      redisUrl: undefined,
      limits: { maxTtlSeconds: 86_400, maxPayloadBytes: 65_536 },
    });
    expect(Object.isFrozen(config.limits)).toBe(true);
  });

  it("reads its store and limits", () => {
    const config = parseExchangeConfig({
      ...KEY_FILE,
      REDIS_URL: "redis://127.0.0.1:6379",
      EXCHANGE_MAX_TTL_SECONDS: "60",
      EXCHANGE_MAX_PAYLOAD_BYTES: "1024",
    });
    expect(config.redisUrl).toBe("redis://127.0.0.1:6379");
    expect(config.limits).toEqual({ maxTtlSeconds: 60, maxPayloadBytes: 1024 });
  });

  it("refuses limits out of range and a store that is not Redis", () => {
    expect(() =>
      parseExchangeConfig({
        ...KEY_FILE,
        REDIS_URL: "http://x",
        EXCHANGE_MAX_TTL_SECONDS: "0",
        EXCHANGE_MAX_PAYLOAD_BYTES: "2000000",
      }),
    ).toThrow(
      expect.objectContaining({
        constructor: ConfigError,
        message: expect.stringMatching(
          /REDIS_URL[\s\S]*EXCHANGE_MAX_TTL_SECONDS[\s\S]*EXCHANGE_MAX_PAYLOAD_BYTES/,
        ),
      }),
    );
  });
});
