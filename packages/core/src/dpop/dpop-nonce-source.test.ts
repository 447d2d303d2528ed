import { describe, expect, it } from "vitest";
import { createDpopNonceSource } from "./dpop-nonce-source.js";

const secret = new Uint8Array(32).fill(3);
const at = (seconds: number) => new Date(seconds * 1000);

describe("createDpopNonceSource", () => {
  it("accepts nonces of the current and the previous window only", async () => {
    const source = createDpopNonceSource({ secret, windowSeconds: 60 });
    const nonce = await source.issue(at(6000)); // window 100
    expect(await source.verify(nonce, at(6059))).toBe(true);
    expect(await source.verify(nonce, at(6060))).toBe(true); // window 101: previous
    expect(await source.verify(nonce, at(6120))).toBe(false); // window 102: too old
    expect(await source.verify(nonce, at(5999))).toBe(false); // not issued yet
  });

  it("lets replicas sharing the secret agree, and no one else", async () => {
    const a = createDpopNonceSource({ secret });
    const b = createDpopNonceSource({ secret });
    const stranger = createDpopNonceSource({ secret: new Uint8Array(32).fill(4) });
    const nonce = await a.issue(at(1000));
    expect(await b.verify(nonce, at(1000))).toBe(true);
    expect(await stranger.verify(nonce, at(1000))).toBe(false);
  });

  it("issues unguessable, changing nonces", async () => {
    const source = createDpopNonceSource({ secret, windowSeconds: 10 });
    const first = await source.issue(at(0));
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await source.issue(at(10))).not.toBe(first);
  });

  it("answers the same before and after a window's nonce is computed", async () => {
    const source = createDpopNonceSource({ secret, windowSeconds: 60 });
    // Asked at once, before anything is computed, and again once both windows are known.
    const [nonce, early] = await Promise.all([
      source.issue(at(6000)),
      source.verify("not-the-nonce", at(6000)),
    ]);
    expect(early).toBe(false);
    expect(await source.verify(nonce, at(6000))).toBe(true);
    expect(await source.issue(at(6030))).toBe(nonce);
    expect(await source.verify(`${nonce.slice(0, -1)}A`, at(6030))).toBe(nonce.endsWith("A"));
    // A new window: its nonce is computed once and then answered from memory.
    const next = await source.issue(at(6060));
    expect(next).not.toBe(nonce);
    expect(await source.verify(nonce, at(6060))).toBe(true);
    expect(await source.verify(next, at(6061))).toBe(true);
  });

  it("rejects weak options", () => {
    expect(() => createDpopNonceSource({ secret: new Uint8Array(16) })).toThrow(TypeError);
    expect(() => createDpopNonceSource({ secret, windowSeconds: 0 })).toThrow(TypeError);
  });
});
