import { describe, expect, it } from "vitest";
import { systemClock } from "./clock.js";
import { createMemoryGrantStorage } from "./grants/memory-grant-storage.js";
import { createMemoryKeyStore } from "./keys/memory-key-store.js";
import { parseAgentOptions } from "./options.js";

describe("parseAgentOptions", () => {
  it("applies the documented defaults", () => {
    const config = parseAgentOptions({ registryUrl: "https://agentauth.example.com" });
    expect(config).toMatchObject({
      registryUrl: "https://agentauth.example.com",
      timeoutMs: 10_000,
      refreshBeforeExpirySeconds: 60,
      retry: { retries: 3, minDelayMs: 250, maxDelayMs: 8000, maxRetryAfterSeconds: 30 },
      logger: undefined,
      grantStorage: undefined,
      clock: systemClock,
    });
    expect(typeof config.fetch).toBe("function");
    expect(typeof config.keyStore.loadOrCreate).toBe("function");
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("keeps what is given", () => {
    const keyStore = createMemoryKeyStore();
    const grantStorage = createMemoryGrantStorage();
    const logger = { debug() {}, warn() {} };
    const config = parseAgentOptions({
      registryUrl: "http://localhost:4000",
      keyStore,
      grantStorage,
      timeout: 500,
      refreshBeforeExpiry: 0,
      retry: { retries: 0, minDelay: 10, maxDelay: 10, maxRetryAfter: 0 },
      logger,
    });
    expect(config).toMatchObject({
      keyStore,
      grantStorage,
      logger,
      timeoutMs: 500,
      refreshBeforeExpirySeconds: 0,
      retry: { retries: 0, minDelayMs: 10, maxDelayMs: 10, maxRetryAfterSeconds: 0 },
    });
  });

  it("names every bad option in one TypeError, without echoing values", () => {
    let thrown: unknown;
    try {
      parseAgentOptions({
        registryUrl: "http://registry.example.com/?token=s3cr3t",
        timeout: 0,
        refreshBeforeExpiry: 1.5,
        retry: { retries: 11, minDelay: 500, maxDelay: 100 },
        keyStore: {} as never,
        grantStorage: { load() {} } as never,
        logger: { info() {} } as never,
        clock: { now: () => new Date() } as never,
        fetch: "fetch" as never,
        extra: true,
      } as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    const message = (thrown as TypeError).message;
    for (const part of [
      "registryUrl must be the registry's https URL",
      "timeout must be at least 1 milliseconds",
      "refreshBeforeExpiry must be a whole number of seconds",
      "retry.retries must be at most 10 retries",
      "keyStore must be a KeyStore",
      "grantStorage must be a GrantStorage (load, save)",
      "logger must have debug(fields, message)",
      "clock must have now() and sleep(ms, signal)",
      "fetch must be a fetch function",
      "unknown option extra",
    ]) {
      expect(message).toContain(part);
    }
    expect(message).not.toContain("s3cr3t");
    expect(() =>
      parseAgentOptions({
        registryUrl: "https://a.example",
        retry: { minDelay: 500, maxDelay: 100 },
      }),
    ).toThrow(/minDelay must not exceed maxDelay/);
    expect(() => parseAgentOptions(undefined as never)).toThrow(TypeError);
  });
});
