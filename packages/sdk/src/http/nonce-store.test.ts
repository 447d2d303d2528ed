import { describe, expect, it } from "vitest";
import { NonceStore } from "./nonce-store.js";

describe("NonceStore", () => {
  it("keeps the latest nonce per origin", () => {
    const nonces = new NonceStore();
    nonces.remember("https://a.example/x?q=1", "n1");
    nonces.remember("https://a.example/y", "n2");
    nonces.remember("https://b.example:8443/", "n3");
    expect(nonces.get("https://a.example/anything")).toBe("n2");
    expect(nonces.get("https://b.example:8443/z")).toBe("n3");
    expect(nonces.get("https://b.example/z")).toBeUndefined();
    expect(nonces.get("http://a.example/")).toBeUndefined();
  });

  it("ignores absent and malformed nonces (RFC 9449 NQCHAR)", () => {
    const nonces = new NonceStore();
    nonces.remember("https://a.example/", "good");
    for (const bad of [null, "", "with space", 'quote"', "back\\slash", "x".repeat(513), "é"]) {
      nonces.remember("https://a.example/", bad);
    }
    expect(nonces.get("https://a.example/")).toBe("good");
  });

  it("forgets the least recently updated origin beyond 256", () => {
    const nonces = new NonceStore();
    for (let i = 0; i < 257; i++) nonces.remember(`https://o${i}.example/`, `n${i}`);
    expect(nonces.get("https://o0.example/")).toBeUndefined();
    expect(nonces.get("https://o1.example/")).toBe("n1");
    expect(nonces.get("https://o256.example/")).toBe("n256");
  });
});
