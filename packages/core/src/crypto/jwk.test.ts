import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { computeJwkThumbprint, parsePublicJwk } from "./jwk.js";

// RFC 7638 §3.1.
const RFC7638_KEY = {
  kty: "RSA",
  n:
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W" +
    "-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt" +
    "-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  e: "AQAB",
  alg: "RS256",
  kid: "2011-04-29",
};

// RFC 9449 §4.1 (Figure 4) key and its thumbprint from §6.1 (Figure 9).
export const RFC9449_JWK = {
  kty: "EC",
  x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
  y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
  crv: "P-256",
};

describe("computeJwkThumbprint (RFC 7638)", () => {
  it("matches the RFC 7638 §3.1 example", async () => {
    expect(await computeJwkThumbprint(parsePublicJwk(RFC7638_KEY))).toBe(
      "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    );
  });

  it("matches the RFC 9449 §6.1 example", async () => {
    expect(await computeJwkThumbprint(parsePublicJwk(RFC9449_JWK))).toBe(
      "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
    );
  });

  it("ignores optional members", async () => {
    const { alg: _alg, kid: _kid, ...bare } = RFC7638_KEY;
    expect(await computeJwkThumbprint(parsePublicJwk(bare))).toBe(
      await computeJwkThumbprint(parsePublicJwk({ ...RFC7638_KEY, use: "sig" })),
    );
  });
});

describe("parsePublicJwk", () => {
  it("keeps only the required members", () => {
    expect(parsePublicJwk({ ...RFC9449_JWK, kid: "k", use: "sig" })).toEqual({
      kty: "EC",
      crv: "P-256",
      x: RFC9449_JWK.x,
      y: RFC9449_JWK.y,
    });
  });

  it("accepts Ed25519 keys", () => {
    const jwk = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
    expect(parsePublicJwk(jwk)).toEqual({ kty: "OKP", crv: "Ed25519", x: jwk.x });
  });

  it.each(["d", "p", "q", "dp", "dq", "qi", "oth", "k"])(
    "rejects a key with the private member %s",
    (member) => {
      expect(() => parsePublicJwk({ ...RFC9449_JWK, [member]: "AAAA" })).toThrow(
        expect.objectContaining({ code: "ERR_JWK_PRIVATE" }),
      );
    },
  );

  it("uses caller-supplied codes", () => {
    expect(() =>
      parsePublicJwk({ ...RFC9449_JWK, d: "AA" }, { privateCode: "ERR_DPOP_JWK_PRIVATE" }),
    ).toThrow(expect.objectContaining({ code: "ERR_DPOP_JWK_PRIVATE" }));
    expect(() => parsePublicJwk({ kty: "oct" }, { invalidCode: "ERR_DPOP_JWK_INVALID" })).toThrow(
      expect.objectContaining({ code: "ERR_DPOP_JWK_INVALID" }),
    );
  });

  it.each([
    ["not an object", "jwk"],
    ["an array", []],
    ["a symmetric key type", { kty: "oct" }],
    ["another curve", { ...RFC9449_JWK, crv: "P-384" }],
    ["a short coordinate", { ...RFC9449_JWK, x: "AAAA" }],
    ["a missing coordinate", { kty: "EC", crv: "P-256", x: RFC9449_JWK.x }],
    ["padded base64", { ...RFC9449_JWK, x: `${RFC9449_JWK.x}=` }],
    ["an X25519 key", { kty: "OKP", crv: "X25519", x: RFC9449_JWK.x }],
    [
      "a 1024-bit RSA key",
      generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" }),
    ],
  ])("rejects %s", (_name, value) => {
    expect(() => parsePublicJwk(value)).toThrow(
      expect.objectContaining({ code: "ERR_JWK_INVALID" }),
    );
  });
});
