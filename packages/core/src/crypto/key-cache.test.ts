import { describe, expect, it } from "vitest";
import { createTestKey } from "../../test/keys.js";
import { computeJwkThumbprint } from "./jwk.js";
import { createKeyCache, resolveKey } from "./key-cache.js";

describe("createKeyCache", () => {
  it("imports each key once and remembers its thumbprint", async () => {
    const cache = createKeyCache();
    const { publicJwk } = createTestKey();
    const first = await resolveKey(publicJwk, "ES256", cache);
    expect(first.jkt).toBe(await computeJwkThumbprint(publicJwk));
    expect(await resolveKey({ ...publicJwk }, "ES256", cache)).toBe(first);
    expect({ hits: cache.hits, misses: cache.misses, size: cache.size }).toEqual({
      hits: 1,
      misses: 1,
      size: 1,
    });
  });

  it("keeps one entry per algorithm, so key material is never used with another alg", async () => {
    const cache = createKeyCache();
    const { publicJwk } = createTestKey("EdDSA");
    const eddsa = await resolveKey(publicJwk, "EdDSA", cache);
    const ed25519 = await resolveKey(publicJwk, "Ed25519", cache);
    expect(eddsa.key.alg).toBe("EdDSA");
    expect(ed25519.key.alg).toBe("Ed25519");
    expect(cache.size).toBe(2);
  });

  it("evicts the least recently used key", async () => {
    const cache = createKeyCache({ maxEntries: 2 });
    const [a, b, c] = [
      createTestKey().publicJwk,
      createTestKey().publicJwk,
      createTestKey().publicJwk,
    ];
    await resolveKey(a, "ES256", cache);
    await resolveKey(b, "ES256", cache);
    await resolveKey(a, "ES256", cache); // a is now the most recent
    await resolveKey(c, "ES256", cache); // evicts b
    expect(cache.size).toBe(2);
    const misses = cache.misses;
    await resolveKey(a, "ES256", cache);
    expect(cache.misses).toBe(misses);
    await resolveKey(b, "ES256", cache);
    expect(cache.misses).toBe(misses + 1);
  });

  it("does not keep failed imports", async () => {
    const cache = createKeyCache();
    const offCurve = { kty: "EC", crv: "P-256", x: "A".repeat(43), y: "A".repeat(43) } as const;
    await expect(resolveKey(offCurve, "ES256", cache)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(cache.size).toBe(0);
  });

  it("caches any computation by its key, and never a failed one", async () => {
    const cache = createKeyCache();
    let calls = 0;
    const compute = async () => ++calls;
    expect(await cache.getOrCompute("a", compute)).toBe(1);
    expect(await cache.getOrCompute("a", compute)).toBe(1);
    await expect(
      cache.getOrCompute("b", async () => Promise.reject(new Error("no"))),
    ).rejects.toThrow("no");
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await cache.getOrCompute("b", compute)).toBe(2);
  });

  it("rejects a non-positive size", () => {
    expect(() => createKeyCache({ maxEntries: 0 })).toThrow(TypeError);
  });
});

describe("resolveKey", () => {
  it("works without a cache", async () => {
    const { publicJwk } = createTestKey();
    expect((await resolveKey(publicJwk, "ES256")).jkt).toBe(await computeJwkThumbprint(publicJwk));
  });
});
