import { describe, expect, it } from "vitest";
import { createTestKey } from "../../test/keys.js";
import { computeJwkThumbprint } from "./jwk.js";
import { createKeyCache } from "./key-cache.js";

describe("createKeyCache", () => {
  it("imports each key once", async () => {
    const cache = createKeyCache();
    const { publicJwk } = createTestKey();
    const jkt = await computeJwkThumbprint(publicJwk);
    const first = await cache.importKey(jkt, publicJwk, "ES256");
    expect(await cache.importKey(jkt, publicJwk, "ES256")).toBe(first);
    expect({ hits: cache.hits, misses: cache.misses, size: cache.size }).toEqual({ hits: 1, misses: 1, size: 1 });
  });

  it("evicts the least recently used key", async () => {
    const cache = createKeyCache({ maxEntries: 2 });
    const keys = await Promise.all(
      [1, 2, 3].map(async () => {
        const { publicJwk } = createTestKey();
        return { publicJwk, jkt: await computeJwkThumbprint(publicJwk) };
      }),
    );
    const [a, b, c] = keys as [(typeof keys)[0], (typeof keys)[0], (typeof keys)[0]];
    await cache.importKey(a.jkt, a.publicJwk, "ES256");
    await cache.importKey(b.jkt, b.publicJwk, "ES256");
    await cache.importKey(a.jkt, a.publicJwk, "ES256"); // a is now the most recent
    await cache.importKey(c.jkt, c.publicJwk, "ES256"); // evicts b
    expect(cache.size).toBe(2);
    const misses = cache.misses;
    await cache.importKey(a.jkt, a.publicJwk, "ES256");
    expect(cache.misses).toBe(misses);
    await cache.importKey(b.jkt, b.publicJwk, "ES256");
    expect(cache.misses).toBe(misses + 1);
  });

  it("does not keep failed imports", async () => {
    const cache = createKeyCache();
    const bogus = { kty: "EC", crv: "P-256", x: "A".repeat(43), y: "A".repeat(43) } as const;
    await expect(cache.importKey("bogus", bogus, "ES256")).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(cache.size).toBe(0);
  });

  it("rejects a non-positive size", () => {
    expect(() => createKeyCache({ maxEntries: 0 })).toThrow(TypeError);
  });
});
