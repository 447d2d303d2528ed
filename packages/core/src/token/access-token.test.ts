import { sign } from "node:crypto";
import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { createTestKey } from "../../test/keys.js";
import { forgeJws } from "../../test/proofs.js";
import { derToJoseSignature } from "../crypto/der-signature.js";
import { createKeyCache } from "../crypto/key-cache.js";
import type { Signer } from "../crypto/signer.js";
import type { ErrorCode } from "../errors.js";
import {
  type AccessTokenClaims,
  buildAccessTokenClaims,
  signAccessToken,
  type VerifyAccessTokenOptions,
  verifyAccessToken,
} from "./access-token.js";

const ISSUER = "https://registry.example.com";
const AUDIENCE = "sp_calendar";
const NOW = new Date("2026-11-22T10:00:00Z");
const IAT = NOW.getTime() / 1000;
const JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const registryKey = createTestKey("ES256", "registry-2026-11");
const authorization = {
  capabilities: [{ type: "read" as const, resource: "calendar/*" }],
  envelope: { type: "envelope" as const, max_token_lifetime_seconds: 600 },
};

/** Valid claims with `overrides`; invalid overrides are only ever signed through forgeJws. */
function claims(overrides: Record<string, unknown> = {}): AccessTokenClaims {
  return { ...buildAccessTokenClaims(baseBuildOptions()), ...overrides } as AccessTokenClaims;
}

function verify(token: string, overrides: Partial<VerifyAccessTokenOptions> = {}) {
  return verifyAccessToken(token, {
    keys: { keys: [registryKey.jwksEntry] },
    expectedIssuer: ISSUER,
    expectedAudience: AUDIENCE,
    now: NOW,
    ...overrides,
  });
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode) {
  await expect(promise).rejects.toMatchObject({ name: "AgentAuthError", code });
}

const header = (overrides: Record<string, unknown> = {}) => ({
  typ: "at+jwt",
  alg: "ES256",
  kid: registryKey.kid,
  ...overrides,
});

describe("buildAccessTokenClaims", () => {
  it("builds RFC 9068 claims bound to the agent key", () => {
    expect(claims()).toEqual({
      iss: ISSUER,
      sub: "agent_1",
      aud: AUDIENCE,
      client_id: "agent_1",
      iat: IAT,
      exp: IAT + 600,
      jti: "token_1",
      cnf: { jkt: JKT },
      authorization_details: [...authorization.capabilities, authorization.envelope],
      grant_id: "grant_1",
      human_id: "human_1",
    });
  });

  it("never outlives the grant", () => {
    const built = buildAccessTokenClaims({
      ...baseBuildOptions(),
      lifetimeSeconds: 900,
      grantExpiresAt: new Date(NOW.getTime() + 120_000),
    });
    expect(built.exp - built.iat).toBe(120);
  });

  it.each([0, 901, 1.5])("refuses a lifetime of %s seconds", (lifetimeSeconds) => {
    expect(() => buildAccessTokenClaims({ ...baseBuildOptions(), lifetimeSeconds })).toThrow(
      TypeError,
    );
  });

  it("refuses to issue for a grant that has ended", () => {
    expect(() => buildAccessTokenClaims({ ...baseBuildOptions(), grantExpiresAt: NOW })).toThrow(
      TypeError,
    );
  });
});

describe("verifyAccessToken", () => {
  it.each(["ES256", "EdDSA", "RS256"] as const)(
    "verifies a %s token and returns its grant",
    async (alg) => {
      const key = createTestKey(alg, `k-${alg}`);
      const token = await signAccessToken(claims(), key);
      const result = await verify(token, {
        keys: { keys: [registryKey.jwksEntry, key.jwksEntry] },
      });
      expect(result.kid).toBe(key.kid);
      expect(result.claims).toEqual(claims());
      expect(result.authorization).toEqual(authorization);
    },
  );

  it("accepts an audience array that contains this service provider", async () => {
    await expect(
      verify(await signAccessToken(claims({ aud: ["other", AUDIENCE] }), registryKey)),
    ).resolves.toBeDefined();
  });

  it("accepts the expiry edge within the clock skew", async () => {
    const token = await signAccessToken(claims(), registryKey);
    await expect(verify(token, { now: new Date((IAT + 604) * 1000) })).resolves.toBeDefined();
    await expectCode(verify(token, { now: new Date((IAT + 605) * 1000) }), "ERR_TOKEN_EXPIRED");
  });

  it.each([
    ["a missing typ", { typ: undefined }, "ERR_TOKEN_TYP_INVALID"],
    ["typ JWT", { typ: "JWT" }, "ERR_TOKEN_TYP_INVALID"],
    ["alg none", { alg: "none" }, "ERR_TOKEN_ALG_NOT_ALLOWED"],
    ["alg HS256", { alg: "HS256" }, "ERR_TOKEN_ALG_NOT_ALLOWED"],
    ["an alg that does not fit the key", { alg: "RS256" }, "ERR_TOKEN_ALG_NOT_ALLOWED"],
    ["an unknown kid", { kid: "retired-long-ago" }, "ERR_TOKEN_KID_UNKNOWN"],
    ["no kid", { kid: undefined }, "ERR_TOKEN_KID_UNKNOWN"],
    ["a crit header", { crit: ["x"] }, "ERR_TOKEN_MALFORMED"],
  ] as const)("rejects %s", async (_name, overrides, code) => {
    await expectCode(verify(await forgeJws(header(overrides), claims(), registryKey)), code);
  });

  it("rejects a key whose published alg differs", async () => {
    const token = await signAccessToken(claims(), registryKey);
    await expectCode(
      verify(token, { keys: { keys: [{ ...registryKey.jwksEntry, alg: "EdDSA" }] } }),
      "ERR_TOKEN_ALG_NOT_ALLOWED",
    );
  });

  it("honours a narrower algorithm allowlist", async () => {
    const token = await signAccessToken(claims(), registryKey);
    await expectCode(verify(token, { allowedAlgorithms: ["RS256"] }), "ERR_TOKEN_ALG_NOT_ALLOWED");
  });

  it("rejects a token signed by another key under a known kid", async () => {
    await expectCode(
      verify(await forgeJws(header(), claims(), createTestKey())),
      "ERR_TOKEN_SIGNATURE_INVALID",
    );
  });

  it("rejects a token whose claims were changed after signing", async () => {
    const [h, , s] = (await signAccessToken(claims(), registryKey)).split(".");
    const payload = Buffer.from(JSON.stringify(claims({ aud: "sp_bank" }))).toString("base64url");
    await expectCode(verify(`${h}.${payload}.${s}`), "ERR_TOKEN_SIGNATURE_INVALID");
  });

  it.each([
    ["another issuer", { iss: "https://evil.example.com" }, "ERR_TOKEN_ISSUER_MISMATCH"],
    ["another audience", { aud: "sp_bank" }, "ERR_TOKEN_AUDIENCE_MISMATCH"],
    ["an audience array without this one", { aud: ["sp_bank"] }, "ERR_TOKEN_AUDIENCE_MISMATCH"],
    ["an expired token", { iat: IAT - 900, exp: IAT - 10 }, "ERR_TOKEN_EXPIRED"],
    ["a token issued in the future", { iat: IAT + 60, exp: IAT + 600 }, "ERR_TOKEN_NOT_YET_VALID"],
    ["a token not valid before later", { nbf: IAT + 60 }, "ERR_TOKEN_NOT_YET_VALID"],
    ["a lifetime over 15 minutes", { exp: IAT + 901 }, "ERR_TOKEN_LIFETIME_TOO_LONG"],
    ["no cnf (a bearer token)", { cnf: undefined }, "ERR_TOKEN_CLAIMS_INVALID"],
    ["a cnf without jkt", { cnf: { "x5t#S256": "abc" } }, "ERR_TOKEN_CLAIMS_INVALID"],
    ["client_id other than sub", { client_id: "agent_2" }, "ERR_TOKEN_CLAIMS_INVALID"],
    ["a missing jti", { jti: undefined }, "ERR_TOKEN_CLAIMS_INVALID"],
    ["a string exp", { exp: String(IAT + 600) }, "ERR_TOKEN_CLAIMS_INVALID"],
    [
      "authorization_details not an array",
      { authorization_details: {} },
      "ERR_TOKEN_CLAIMS_INVALID",
    ],
    [
      "invalid authorization_details",
      { authorization_details: [{ type: "read", resource: "a//b" }] },
      "ERR_TOKEN_CLAIMS_INVALID",
    ],
    ["no capability", { authorization_details: [] }, "ERR_TOKEN_CLAIMS_INVALID"],
  ] as const)("rejects %s", async (_name, overrides, code) => {
    await expectCode(verify(await forgeJws(header(), claims(overrides), registryKey)), code);
  });

  it("validates equal authorization_details once with a key cache, and refuses bad ones every time", async () => {
    const keyCache = createKeyCache();
    const first = await verify(await signAccessToken(claims({ jti: "token-a" }), registryKey), {
      keyCache,
    });
    const misses = keyCache.misses;
    const second = await verify(await signAccessToken(claims({ jti: "token-b" }), registryKey), {
      keyCache,
    });
    expect(keyCache.misses).toBe(misses);
    expect(second.authorization).toBe(first.authorization);
    expect(second.authorization).toEqual(authorization);
    const bad = { authorization_details: [{ type: "read", resource: "a//b" }] };
    for (let attempt = 0; attempt < 2; attempt++) {
      await expectCode(
        verify(await forgeJws(header(), claims(bad), registryKey), { keyCache }),
        "ERR_TOKEN_CLAIMS_INVALID",
      );
    }
  });

  it.each([["not a jwt"], ["a.b"], ["e30.e30.e30.e30"]])(
    "rejects the malformed token %s",
    async (token) => {
      await expectCode(verify(token), "ERR_TOKEN_MALFORMED");
    },
  );
});

describe("interoperability", () => {
  it("produces tokens that jose verifies through a JWKS", async () => {
    const token = await signAccessToken(claims(), registryKey);
    const jwks = jose.createLocalJWKSet({ keys: [registryKey.jwksEntry] });
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: "at+jwt",
      currentDate: NOW,
    });
    expect(protectedHeader).toEqual({ typ: "at+jwt", kid: registryKey.kid, alg: "ES256" });
    expect(payload).toEqual(claims());
  });

  it("verifies an RS256 token minted by jose", async () => {
    const rsa = createTestKey("RS256", "rsa-1");
    const token = await new jose.SignJWT({ ...claims() })
      .setProtectedHeader({ typ: "at+jwt", alg: "RS256", kid: rsa.kid })
      .sign(rsa.privateKey);
    await expect(verify(token, { keys: { keys: [rsa.jwksEntry] } })).resolves.toMatchObject({
      kid: "rsa-1",
    });
  });

  it("verifies tokens from a signer that returns DER signatures, as AWS KMS does", async () => {
    const kmsLike: Signer = {
      kid: registryKey.kid,
      alg: "ES256",
      async sign(data) {
        return derToJoseSignature(
          sign("sha256", data, { key: registryKey.privateKey, dsaEncoding: "der" }),
        );
      },
    };
    await expect(verify(await signAccessToken(claims(), kmsLike))).resolves.toBeDefined();
  });
});

function baseBuildOptions() {
  return {
    issuer: ISSUER,
    agentId: "agent_1",
    serviceProviderId: AUDIENCE,
    grantId: "grant_1",
    humanId: "human_1",
    jkt: JKT,
    authorization,
    now: NOW,
    lifetimeSeconds: 600,
    grantExpiresAt: new Date(NOW.getTime() + 86_400_000),
    jti: "token_1",
  };
}
