import * as jose from "jose";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { createPaymentsProvider, PAYMENTS } from "../support/test-registry.js";
import {
  type InteropRegistry,
  issueTokenWithKit,
  REQUESTED_DETAILS,
  startInteropRegistry,
} from "./interop-registry.js";

describeEachDatabase("interop: jose's remote JWKS verifies our access tokens", (database) => {
  let test: InteropRegistry;

  beforeAll(async () => {
    test = await startInteropRegistry(database.db());
    await createPaymentsProvider(test.admin);
  });
  afterAll(() => test?.close());

  it("verifies a token through the jwks_uri of our discovery document, over HTTP", async () => {
    const metadata = (await (
      await fetch(`${test.issuer}/.well-known/oauth-authorization-server`)
    ).json()) as { issuer: string; jwks_uri: string };
    expect(metadata.issuer).toBe(test.issuer);
    const { accessToken, agentId, jkt } = await issueTokenWithKit(test, PAYMENTS);

    const jwks = jose.createRemoteJWKSet(new URL(metadata.jwks_uri));
    const { payload, protectedHeader } = await jose.jwtVerify(accessToken, jwks, {
      issuer: metadata.issuer,
      audience: PAYMENTS,
      typ: "at+jwt",
      algorithms: ["ES256"],
      requiredClaims: ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"],
      currentDate: test.clock.now(),
    });
    expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(jwks.jwks()?.keys.map((key) => key.kid)).toContain(protectedHeader.kid);
    expect(payload).toMatchObject({
      sub: agentId,
      client_id: agentId,
      cnf: { jkt },
      authorization_details: REQUESTED_DETAILS,
    });
  });

  it("rejects a token whose signature does not match our keys", async () => {
    const { accessToken } = await issueTokenWithKit(test, PAYMENTS);
    const [header, payload, signature] = accessToken.split(".") as [string, string, string];
    // Flip one bit of the signature: same kid, so the key is found but the signature fails.
    const bytes = jose.base64url.decode(signature);
    bytes[0] = (bytes[0] as number) ^ 1;
    const forged = `${header}.${payload}.${jose.base64url.encode(bytes)}`;
    const jwks = jose.createRemoteJWKSet(new URL(`${test.issuer}/.well-known/jwks.json`));
    await expect(
      jose.jwtVerify(forged, jwks, {
        issuer: test.issuer,
        audience: PAYMENTS,
        typ: "at+jwt",
        currentDate: test.clock.now(),
      }),
    ).rejects.toBeInstanceOf(jose.errors.JWSSignatureVerificationFailed);
  });
});
