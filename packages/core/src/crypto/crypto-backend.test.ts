import { describe, expect, it } from "vitest";
import { createTestKey } from "../../test/keys.js";
import { encodeHex } from "../encoding/hex.js";
import { encodeUtf8 } from "../encoding/base64url.js";
import type { CryptoBackend } from "./crypto-backend.js";
import { cryptoBackend as nodeBackend } from "./crypto-backend-node.js";
import { cryptoBackend as webBackend } from "./crypto-backend-web.js";

// One contract, both adapters: browsers get the WebCrypto one, Node the node:crypto one.
describe.each([
  ["node:crypto", nodeBackend],
  ["WebCrypto", webBackend],
] as const)("CryptoBackend contract: %s", (_name, backend: CryptoBackend) => {
  it("hashes with SHA-256 (FIPS 180-2 'abc' vector)", async () => {
    expect(encodeHex(await backend.sha256(encodeUtf8("abc")))).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });

  it("computes HMAC-SHA-256 (RFC 4231 test case 2)", async () => {
    const key = await backend.importHmacKey(encodeUtf8("Jefe"));
    expect(encodeHex(await backend.hmacSha256(key, encodeUtf8("what do ya want for nothing?")))).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it.each(["ES256", "EdDSA", "RS256"] as const)("verifies %s signatures and only valid ones", async (alg) => {
    const key = createTestKey(alg);
    const data = encodeUtf8("signed data");
    const signature = await key.sign(data);
    const imported = await backend.importPublicKey(key.publicJwk, alg);
    expect(await backend.verifySignature(imported, signature, data)).toBe(true);
    expect(await backend.verifySignature(imported, signature, encodeUtf8("other data"))).toBe(false);
    const tampered = signature.slice();
    tampered[5] = (tampered[5] as number) ^ 1;
    expect(await backend.verifySignature(imported, tampered, data)).toBe(false);
    expect(await backend.verifySignature(imported, signature.subarray(1), data)).toBe(false);
    expect(await backend.verifySignature(imported, new Uint8Array(0), data)).toBe(false);
  });

  it("rejects a signature made by another key", async () => {
    const data = encodeUtf8("signed data");
    const imported = await backend.importPublicKey(createTestKey().publicJwk, "ES256");
    expect(await backend.verifySignature(imported, await createTestKey().sign(data), data)).toBe(false);
  });
});
