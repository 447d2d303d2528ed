import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createTestKey } from "../../test/keys.js";
import { encodeHex } from "../encoding/hex.js";
import type { Platform } from "./platform.js";
import { platform as nodePlatform } from "./platform-node.js";
import { platform as webPlatform } from "./platform-web.js";

// One contract, both adapters: browsers get the WebCrypto one, Node the node:crypto one.
describe.each([
  ["Node", nodePlatform],
  ["browser", webPlatform],
] as const)("Platform contract: %s", (_name, backend: Platform) => {
  it("hashes with SHA-256 (FIPS 180-2 'abc' vector)", async () => {
    expect(encodeHex(await backend.sha256(backend.encodeUtf8("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("computes HMAC-SHA-256 (RFC 4231 test case 2)", async () => {
    const key = await backend.importHmacKey(backend.encodeUtf8("Jefe"));
    expect(
      encodeHex(await backend.hmacSha256(key, backend.encodeUtf8("what do ya want for nothing?"))),
    ).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it.each(["ES256", "EdDSA", "RS256"] as const)(
    "verifies %s signatures and only valid ones",
    async (alg) => {
      const key = createTestKey(alg);
      const data = backend.encodeUtf8("signed data");
      const signature = await key.sign(data);
      const imported = await backend.importPublicKey(key.publicJwk, alg);
      expect(await backend.verifySignature(imported, signature, data)).toBe(true);
      expect(
        await backend.verifySignature(imported, signature, backend.encodeUtf8("other data")),
      ).toBe(false);
      const tampered = signature.slice();
      tampered[5] = (tampered[5] as number) ^ 1;
      expect(await backend.verifySignature(imported, tampered, data)).toBe(false);
      expect(await backend.verifySignature(imported, signature.subarray(1), data)).toBe(false);
      expect(await backend.verifySignature(imported, new Uint8Array(0), data)).toBe(false);
    },
  );

  it("hashes several parts as their concatenation", async () => {
    const whole = await backend.sha256(backend.encodeUtf8("abcdef"));
    expect(await backend.sha256("ab", backend.encodeUtf8("cd"), "ef")).toEqual(whole);
  });

  it("converts base64url and UTF-8 like Node's Buffer", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.string({ unit: "grapheme" }),
        (bytes, text) => {
          const encoded = Buffer.from(bytes).toString("base64url");
          expect(backend.encodeBase64Url(bytes)).toBe(encoded);
          expect(Buffer.from(backend.decodeCheckedBase64Url(encoded))).toEqual(Buffer.from(bytes));
          expect(Buffer.from(backend.encodeUtf8(text))).toEqual(Buffer.from(text, "utf8"));
          expect(backend.decodeUtf8(backend.encodeUtf8(text))).toBe(text);
        },
      ),
    );
    expect(backend.decodeUtf8(new Uint8Array([0xc3, 0x28]))).toBeUndefined();
    expect(backend.decodeUtf8(new Uint8Array([0xed, 0xa0, 0x80]))).toBeUndefined(); // a UTF-8 surrogate
  });

  it("rejects a signature made by another key", async () => {
    const data = backend.encodeUtf8("signed data");
    const imported = await backend.importPublicKey(createTestKey().publicJwk, "ES256");
    expect(await backend.verifySignature(imported, await createTestKey().sign(data), data)).toBe(
      false,
    );
  });
});
