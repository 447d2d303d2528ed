import { createHash } from "node:crypto";
import * as dpop from "dpop";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { createTestKey } from "../../test/keys.js";
import { createMemoryJtiStore, forgeJws } from "../../test/proofs.js";
import { computeJwkThumbprint } from "../crypto/jwk.js";
import { createKeyCache } from "../crypto/key-cache.js";
import { encodeBase64Url } from "../encoding/base64url.js";
import type { ErrorCode } from "../errors.js";
import { createDpopProof } from "./create-dpop-proof.js";
import { createDpopNonceSource } from "./dpop-nonce-source.js";
import { type VerifyDpopProofOptions, verifyDpopProof } from "./verify-dpop-proof.js";

const URL_ = "https://rs.example.com/api/calendar";
const NOW = new Date("2026-11-22T10:00:00Z");
const IAT = Math.floor(NOW.getTime() / 1000);
const key = createTestKey("ES256");
const otherKey = createTestKey("ES256");
const JTI = "e1j3V_bKic8-LAEB_lccD0G";

function claims(overrides: Record<string, unknown> = {}) {
  return { jti: JTI, htm: "GET", htu: URL_, iat: IAT, ...overrides };
}

function header(overrides: Record<string, unknown> = {}) {
  return { typ: "dpop+jwt", alg: "ES256", jwk: key.publicJwk, ...overrides };
}

function verify(
  proof: VerifyDpopProofOptions["proof"],
  overrides: Partial<VerifyDpopProofOptions> = {},
) {
  return verifyDpopProof({
    proof,
    expectedMethod: "GET",
    expectedUrl: URL_,
    now: NOW,
    markJtiUsed: createMemoryJtiStore(),
    ...overrides,
  });
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode) {
  await expect(promise).rejects.toMatchObject({ name: "AgentAuthError", code });
}

describe("verifyDpopProof", () => {
  it("accepts the RFC 9449 §4.1 example proof (Figure 4)", async () => {
    const proof =
      "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19" +
      ".eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ" +
      ".2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
    const result = await verifyDpopProof({
      proof,
      expectedMethod: "POST",
      expectedUrl: "https://server.example.com/token",
      now: new Date(1562262616_000),
      markJtiUsed: createMemoryJtiStore(),
      expectedJkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
    });
    expect(result.claims).toEqual({
      jti: "-BwC3ESc6acc2lTc",
      htm: "POST",
      htu: "https://server.example.com/token",
      iat: 1562262616,
    });
  });

  it("accepts a proof made by createDpopProof and reports its key", async () => {
    const proof = await createDpopProof({
      key,
      method: "GET",
      url: `${URL_}?q=1#f`,
      now: NOW,
      jti: JTI,
    });
    const result = await verify(proof);
    expect(result.jkt).toBe(await computeJwkThumbprint(key.publicJwk));
    expect(result.alg).toBe("ES256");
    expect(result.claims).toEqual(claims());
  });

  it("accepts Ed25519 keys under both alg names", async () => {
    const ed = createTestKey("EdDSA");
    for (const alg of ["EdDSA", "Ed25519"]) {
      const proof = await forgeJws(header({ alg, jwk: ed.publicJwk }), claims(), ed);
      await expect(verify(proof)).resolves.toMatchObject({ alg });
    }
  });

  describe("rule 1: exactly one DPoP header", () => {
    it("rejects a missing proof", async () => {
      await expectCode(verify(undefined), "ERR_DPOP_MISSING");
      await expectCode(verify([]), "ERR_DPOP_MISSING");
    });
    it("rejects two headers, as an array or joined by a comma", async () => {
      const proof = await forgeJws(header(), claims(), key);
      await expectCode(verify([proof, proof]), "ERR_DPOP_MULTIPLE");
      await expectCode(verify(`${proof}, ${proof}`), "ERR_DPOP_MALFORMED");
    });
    it("accepts a single-element array", async () => {
      await expect(verify([await forgeJws(header(), claims(), key)])).resolves.toBeDefined();
    });
  });

  describe("rule 2: a well-formed JWT", () => {
    it.each([
      ["garbage", "not a jwt"],
      ["two parts", "eyJhbGciOiJFUzI1NiJ9.e30"],
      ["four parts", "e30.e30.e30.e30"],
      ["a non-JSON header", `${encodeBase64Url(new TextEncoder().encode("{"))}.e30.AAAA`],
      ["an array header", `${encodeBase64Url(new TextEncoder().encode("[]"))}.e30.AAAA`],
      ["an empty signature", "e30.e30."],
      ["an oversized proof", `e30.${"A".repeat(5000)}.AAAA`],
    ])("rejects %s", async (_name, proof) => {
      await expectCode(verify(proof), "ERR_DPOP_MALFORMED");
    });
    it("rejects a crit header", async () => {
      await expectCode(
        verify(await forgeJws(header({ crit: ["exp"] }), claims(), key)),
        "ERR_DPOP_MALFORMED",
      );
    });
  });

  describe("rule 3: required claims", () => {
    it.each([
      ["htm missing", { htm: undefined }],
      ["htu not a string", { htu: 42 }],
      ["iat missing", { iat: undefined }],
      ["iat a string", { iat: String(IAT) }],
      ["ath not a string", { ath: 1 }],
      ["nonce not a string", { nonce: {} }],
    ])("rejects %s", async (_name, override) => {
      await expectCode(
        verify(await forgeJws(header(), claims(override), key)),
        "ERR_DPOP_CLAIMS_INVALID",
      );
    });
    it.each([
      ["missing", undefined],
      ["too short", "abc"],
      ["too long", "x".repeat(257)],
      ["not a string", 1234567890123456],
    ])("rejects a jti that is %s", async (_name, jti) => {
      await expectCode(
        verify(await forgeJws(header(), claims({ jti }), key)),
        "ERR_DPOP_JTI_INVALID",
      );
    });
  });

  describe("rule 4: typ", () => {
    it.each([["JWT"], [undefined], ["application/dpop+jwt+x"]])("rejects typ %s", async (typ) => {
      await expectCode(
        verify(await forgeJws(header({ typ }), claims(), key)),
        "ERR_DPOP_TYP_INVALID",
      );
    });
  });

  describe("rule 5: alg", () => {
    it.each([["none"], ["HS256"], ["RS256"], ["ES384"], [undefined]])(
      "rejects alg %s",
      async (alg) => {
        await expectCode(
          verify(await forgeJws(header({ alg }), claims(), key)),
          "ERR_DPOP_ALG_NOT_ALLOWED",
        );
      },
    );
    it("honours a narrower allowlist", async () => {
      const ed = createTestKey("EdDSA");
      const proof = await forgeJws(header({ alg: "EdDSA", jwk: ed.publicJwk }), claims(), ed);
      await expectCode(verify(proof, { allowedAlgorithms: ["ES256"] }), "ERR_DPOP_ALG_NOT_ALLOWED");
    });
  });

  describe("rule 6: signature", () => {
    it("rejects a proof signed by another key than its jwk", async () => {
      await expectCode(
        verify(await forgeJws(header(), claims(), otherKey)),
        "ERR_DPOP_SIGNATURE_INVALID",
      );
    });
    it("rejects a proof whose payload was changed after signing", async () => {
      const [h, , s] = (await forgeJws(header(), claims(), key)).split(".");
      const payload = encodeBase64Url(
        new TextEncoder().encode(JSON.stringify(claims({ jti: `${JTI}x` }))),
      );
      await expectCode(verify(`${h}.${payload}.${s}`), "ERR_DPOP_SIGNATURE_INVALID");
    });
  });

  describe("rule 7: a public jwk", () => {
    it("rejects a jwk with a private member", async () => {
      const jwk = { ...key.privateKey.export({ format: "jwk" }) };
      await expectCode(
        verify(await forgeJws(header({ jwk }), claims(), key)),
        "ERR_DPOP_JWK_PRIVATE",
      );
    });
    it.each([
      ["missing", undefined],
      ["symmetric", { kty: "oct", k: undefined }],
      ["of the wrong type for the alg", createTestKey("EdDSA").publicJwk],
    ])("rejects a jwk that is %s", async (_name, jwk) => {
      await expectCode(
        verify(await forgeJws(header({ jwk }), claims(), key)),
        "ERR_DPOP_JWK_INVALID",
      );
    });
  });

  describe("rule 8: htm", () => {
    it.each([["POST"], ["get"]])("rejects htm %s for a GET", async (htm) => {
      await expectCode(
        verify(await forgeJws(header(), claims({ htm }), key)),
        "ERR_DPOP_HTM_MISMATCH",
      );
    });
  });

  describe("rule 9: htu", () => {
    it.each([
      ["another path", "https://rs.example.com/api/mail"],
      ["another host", "https://evil.example.com/api/calendar"],
      ["another scheme", "http://rs.example.com/api/calendar"],
      ["another port", "https://rs.example.com:8443/api/calendar"],
      ["a trailing slash", "https://rs.example.com/api/calendar/"],
      ["a relative URI", "/api/calendar"],
      ["credentials", "https://user:pw@rs.example.com/api/calendar"],
    ])("rejects %s", async (_name, htu) => {
      await expectCode(
        verify(await forgeJws(header(), claims({ htu }), key)),
        "ERR_DPOP_HTU_MISMATCH",
      );
    });
    it.each([
      ["a query and fragment", "https://rs.example.com/api/calendar?x=1#top"],
      ["upper-case scheme and host", "HTTPS://RS.Example.COM/api/calendar"],
      ["the default port", "https://rs.example.com:443/api/calendar"],
      ["percent-encoded unreserved characters", "https://rs.example.com/api/%63alendar"],
      ["dot segments", "https://rs.example.com/api/x/../calendar"],
    ])("accepts %s after normalisation", async (_name, htu) => {
      await expect(verify(await forgeJws(header(), claims({ htu }), key))).resolves.toBeDefined();
    });
    it("refuses to run without an absolute expected URL", async () => {
      await expect(
        verify(await forgeJws(header(), claims(), key), { expectedUrl: "/api" }),
      ).rejects.toThrow(TypeError);
    });
  });

  describe("rule 10: server nonce", () => {
    const nonceSource = createDpopNonceSource({ secret: new Uint8Array(32).fill(7) });
    it("requires a nonce when the server does", async () => {
      await expectCode(
        verify(await forgeJws(header(), claims(), key), { nonceSource }),
        "ERR_DPOP_NONCE_REQUIRED",
      );
    });
    it("rejects a wrong or expired nonce", async () => {
      const stale = await nonceSource.issue(new Date(NOW.getTime() - 3600_000));
      for (const nonce of ["made-up", stale]) {
        await expectCode(
          verify(await forgeJws(header(), claims({ nonce }), key), { nonceSource }),
          "ERR_DPOP_NONCE_INVALID",
        );
      }
    });
    it("accepts the current nonce", async () => {
      const nonce = await nonceSource.issue(NOW);
      await expect(
        verify(await forgeJws(header(), claims({ nonce }), key), { nonceSource }),
      ).resolves.toBeDefined();
    });
  });

  describe("rule 11: creation time", () => {
    it.each([
      ["too old", IAT - 66],
      ["in the future", IAT + 6],
    ])("rejects a proof %s", async (_name, iat) => {
      await expectCode(
        verify(await forgeJws(header(), claims({ iat }), key)),
        "ERR_DPOP_IAT_OUT_OF_WINDOW",
      );
    });
    it("accepts the edges of the window and honours custom limits", async () => {
      await expect(
        verify(await forgeJws(header(), claims({ iat: IAT - 65 }), key)),
      ).resolves.toBeDefined();
      await expect(
        verify(await forgeJws(header(), claims({ iat: IAT + 5 }), key)),
      ).resolves.toBeDefined();
      await expectCode(
        verify(await forgeJws(header(), claims({ iat: IAT - 20 }), key), {
          maxAgeSeconds: 10,
          clockSkewSeconds: 0,
        }),
        "ERR_DPOP_IAT_OUT_OF_WINDOW",
      );
    });
  });

  describe("rule 12: bound to the access token", () => {
    const accessToken = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.sig";
    const ath = createHash("sha256").update(accessToken).digest("base64url");
    it("accepts a proof with the token's hash and key", async () => {
      const jkt = await computeJwkThumbprint(key.publicJwk);
      const proof = await createDpopProof({
        key,
        method: "GET",
        url: URL_,
        now: NOW,
        jti: JTI,
        accessToken,
      });
      await expect(verify(proof, { accessToken, expectedJkt: jkt })).resolves.toMatchObject({
        claims: { ath },
      });
    });
    it("rejects a missing or wrong ath", async () => {
      const expectedJkt = await computeJwkThumbprint(key.publicJwk);
      await expectCode(
        verify(await forgeJws(header(), claims(), key), { accessToken, expectedJkt }),
        "ERR_DPOP_ATH_MISSING",
      );
      const wrong = await forgeJws(
        header(),
        claims({ ath: createHash("sha256").update("another token").digest("base64url") }),
        key,
      );
      await expectCode(verify(wrong, { accessToken, expectedJkt }), "ERR_DPOP_ATH_MISMATCH");
    });
    it("rejects a proof by a key other than the token's", async () => {
      const expectedJkt = await computeJwkThumbprint(otherKey.publicJwk);
      await expectCode(
        verify(await forgeJws(header(), claims({ ath }), key), { accessToken, expectedJkt }),
        "ERR_DPOP_JKT_MISMATCH",
      );
    });
    it("refuses to check a token without its key binding", async () => {
      await expect(
        verify(await forgeJws(header(), claims({ ath }), key), { accessToken }),
      ).rejects.toThrow(TypeError);
    });
    it("compares ath with a hash the caller computed, and refuses one without its token", async () => {
      const expectedJkt = await computeJwkThumbprint(key.publicJwk);
      const proof = await forgeJws(header(), claims({ ath }), key);
      await expect(
        verify(proof, { accessToken, accessTokenHash: ath, expectedJkt }),
      ).resolves.toMatchObject({ claims: { ath } });
      // The given hash is the one compared: a proof of another token is refused.
      const otherAth = createHash("sha256").update("another token").digest("base64url");
      await expectCode(
        verify(await forgeJws(header(), claims({ ath: otherAth }), key), {
          accessToken,
          accessTokenHash: ath,
          expectedJkt,
        }),
        "ERR_DPOP_ATH_MISMATCH",
      );
      await expect(verify(proof, { accessTokenHash: ath, expectedJkt })).rejects.toThrow(TypeError);
    });
  });

  describe("jti replay (§11.1)", () => {
    it("accepts a proof once", async () => {
      const markJtiUsed = createMemoryJtiStore();
      const proof = await forgeJws(header(), claims(), key);
      await verify(proof, { markJtiUsed });
      await expectCode(verify(proof, { markJtiUsed }), "ERR_DPOP_JTI_REPLAYED");
    });
    it("does not use up a jti on a proof that fails another check", async () => {
      const markJtiUsed = createMemoryJtiStore();
      await expectCode(
        verify(await forgeJws(header(), claims(), otherKey), { markJtiUsed }),
        "ERR_DPOP_SIGNATURE_INVALID",
      );
      expect(markJtiUsed.seen.size).toBe(0);
    });
    it("remembers the jti until the proof would be too old anyway", async () => {
      let expiresAt: Date | undefined;
      await verify(await forgeJws(header(), claims(), key), {
        markJtiUsed: async (_jti, context) => {
          expiresAt = context.expiresAt;
          return true;
        },
      });
      expect(expiresAt?.getTime()).toBe((IAT + 65) * 1000);
    });
  });

  it("imports each key once with a key cache", async () => {
    const keyCache = createKeyCache();
    for (let i = 0; i < 3; i++)
      await verify(await forgeJws(header(), claims({ jti: `${JTI}-${i}` }), key), { keyCache });
    // The first proof imports its key and caches its header; later ones hit the header entry.
    expect({ hits: keyCache.hits, misses: keyCache.misses, size: keyCache.size }).toEqual({
      hits: 2,
      misses: 2,
      size: 2,
    });
  });
});

describe("interoperability", () => {
  it.each(["ES256", "Ed25519"] as const)(
    "verifies %s proofs made by panva's dpop package",
    async (alg) => {
      const keyPair = await dpop.generateKeyPair(alg);
      const nonceSource = createDpopNonceSource({ secret: new Uint8Array(32).fill(1) });
      const accessToken = "token-value";
      const nonce = await nonceSource.issue(new Date());
      const proof = await dpop.generateProof(keyPair, URL_, "POST", nonce, accessToken);
      const jwk = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
      const result = await verifyDpopProof({
        proof,
        expectedMethod: "POST",
        expectedUrl: URL_,
        now: new Date(),
        markJtiUsed: createMemoryJtiStore(),
        accessToken,
        expectedJkt: await jose.calculateJwkThumbprint(jwk),
        nonceSource,
      });
      expect(result.claims.nonce).toBe(nonce);
    },
  );

  it("produces proofs that jose verifies with the embedded key", async () => {
    const proof = await createDpopProof({
      key,
      method: "POST",
      url: URL_,
      now: NOW,
      jti: JTI,
      nonce: "n",
    });
    const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, {
      typ: "dpop+jwt",
      algorithms: ["ES256"],
      currentDate: NOW,
    });
    expect(protectedHeader.jwk).toEqual(key.publicJwk);
    expect(payload).toEqual({ ...claims({ htm: "POST" }), nonce: "n" });
  });
});
