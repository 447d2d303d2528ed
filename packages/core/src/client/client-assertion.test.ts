import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { createTestKey } from "../../test/keys.js";
import { createMemoryJtiStore, forgeJws } from "../../test/proofs.js";
import type { ErrorCode } from "../errors.js";
import {
  createClientAssertion,
  type VerifyClientAssertionOptions,
  verifyClientAssertion,
} from "./client-assertion.js";

const ISSUER = "https://registry.example.com";
const TOKEN_ENDPOINT = `${ISSUER}/oauth/token`;
const NOW = new Date("2026-11-22T10:00:00Z");
const IAT = NOW.getTime() / 1000;
const agentKey = createTestKey("ES256");
const JTI = "client-assertion-jti-0001";

function verify(assertion: string, overrides: Partial<VerifyClientAssertionOptions> = {}) {
  const replay = createMemoryJtiStore();
  return verifyClientAssertion(assertion, {
    expectedAudiences: [ISSUER, TOKEN_ENDPOINT],
    now: NOW,
    resolveClientKey: async (clientId) => (clientId === "agt_1" ? agentKey.publicJwk : undefined),
    markJtiUsed: (jti, { clientId, expiresAt }) => replay(jti, { jkt: clientId, expiresAt }),
    ...overrides,
  });
}

const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: "agt_1",
  sub: "agt_1",
  aud: ISSUER,
  iat: IAT,
  exp: IAT + 60,
  jti: JTI,
  ...overrides,
});

async function expectCode(promise: Promise<unknown>, code: ErrorCode) {
  await expect(promise).rejects.toMatchObject({ name: "AgentAuthError", code });
}

describe("client assertions (RFC 7523 private_key_jwt)", () => {
  it("verifies an assertion made by createClientAssertion", async () => {
    const assertion = await createClientAssertion({
      key: agentKey,
      clientId: "agt_1",
      audience: ISSUER,
      now: NOW,
      jti: JTI,
    });
    await expect(verify(assertion)).resolves.toEqual({
      clientId: "agt_1",
      jti: JTI,
      expiresAt: new Date((IAT + 65) * 1000),
    });
  });

  it("accepts the endpoint URL as audience, and an audience array", async () => {
    await expect(
      verify(await forgeJws({ alg: "ES256" }, claims({ aud: TOKEN_ENDPOINT }), agentKey)),
    ).resolves.toBeDefined();
    await expect(
      verify(await forgeJws({ alg: "ES256" }, claims({ aud: ["x", ISSUER] }), agentKey)),
    ).resolves.toBeDefined();
  });

  it("verifies an assertion signed by jose, and jose verifies ours", async () => {
    const byJose = await new jose.SignJWT(claims())
      .setProtectedHeader({ alg: "ES256" })
      .sign(agentKey.privateKey);
    await expect(verify(byJose)).resolves.toMatchObject({ clientId: "agt_1" });
    const ours = await createClientAssertion({
      key: agentKey,
      clientId: "agt_1",
      audience: ISSUER,
      now: NOW,
      jti: JTI,
    });
    const { payload } = await jose.jwtVerify(
      ours,
      await jose.importJWK({ ...agentKey.publicJwk }, "ES256"),
      {
        issuer: "agt_1",
        subject: "agt_1",
        audience: ISSUER,
        currentDate: NOW,
      },
    );
    expect(payload.jti).toBe(JTI);
  });

  it("refuses a replayed assertion", async () => {
    const replay = createMemoryJtiStore();
    const markJtiUsed: VerifyClientAssertionOptions["markJtiUsed"] = (
      jti,
      { clientId, expiresAt },
    ) => replay(jti, { jkt: clientId, expiresAt });
    const assertion = await forgeJws({ alg: "ES256" }, claims(), agentKey);
    await verify(assertion, { markJtiUsed });
    await expectCode(verify(assertion, { markJtiUsed }), "ERR_CLIENT_ASSERTION_REPLAYED");
  });

  it.each([
    ["iss other than sub", claims({ sub: "agt_2" }), "ERR_CLIENT_ASSERTION_INVALID"],
    ["no exp", claims({ exp: undefined }), "ERR_CLIENT_ASSERTION_INVALID"],
    ["a short jti", claims({ jti: "short" }), "ERR_CLIENT_ASSERTION_INVALID"],
    ["an expired assertion", claims({ exp: IAT - 10 }), "ERR_CLIENT_ASSERTION_EXPIRED"],
    ["a lifetime over five minutes", claims({ exp: IAT + 3600 }), "ERR_CLIENT_ASSERTION_INVALID"],
    [
      "an iat in the future",
      claims({ iat: IAT + 60, exp: IAT + 120 }),
      "ERR_CLIENT_ASSERTION_INVALID",
    ],
    [
      "another audience",
      claims({ aud: "https://elsewhere.example.com" }),
      "ERR_CLIENT_ASSERTION_AUDIENCE_MISMATCH",
    ],
    ["an unknown client", claims({ iss: "agt_9", sub: "agt_9" }), "ERR_CLIENT_UNKNOWN"],
  ] as const)("refuses %s", async (_name, payload, code) => {
    await expectCode(verify(await forgeJws({ alg: "ES256" }, payload, agentKey)), code);
  });

  it.each([
    ["signed by another key", { alg: "ES256" }, createTestKey()],
    ["an alg that does not fit the key", { alg: "EdDSA" }, agentKey],
  ] as const)("refuses an assertion %s", async (_name, header, key) => {
    await expectCode(
      verify(await forgeJws(header, claims(), key)),
      "ERR_CLIENT_ASSERTION_SIGNATURE_INVALID",
    );
  });

  it.each([["none"], ["HS256"]])("refuses alg %s", async (alg) => {
    await expectCode(
      verify(await forgeJws({ alg }, claims(), agentKey)),
      "ERR_CLIENT_ASSERTION_INVALID",
    );
  });

  it.each([["dpop+jwt"], ["at+jwt"]])(
    "refuses a %s JWT passed off as an assertion",
    async (typ) => {
      await expectCode(
        verify(await forgeJws({ alg: "ES256", typ }, claims(), agentKey)),
        "ERR_CLIENT_ASSERTION_INVALID",
      );
    },
  );
});
