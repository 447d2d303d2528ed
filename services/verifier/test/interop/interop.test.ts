import { obtainToken, PAYMENTS, PUBLIC_URL, type TestAgent } from "@agentauth/registry/testing";
import * as dpop from "dpop";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enrolDpopPackageAgent } from "../support/dpop-package-agent.js";
import {
  createVerifierHarness,
  PAY_URL,
  type RunningVerifier,
  type VerifierHarness,
} from "../support/verifier-harness.js";

// Independent implementations of the standards against the verifier: panva's `dpop` makes the
// agent's proofs, `oauth4webapi` is the service provider's RFC 7662 / RFC 9728 client.

const payment = {
  type: "transact",
  resource: "merchant/acme",
  amount: { amount: "10.00", currency: "EUR" },
};
/** oauth4webapi refuses plain http unless told; the verifier under test listens on http. */
const http = { [oauth.allowInsecureRequests]: true } as const;

describe("interop", () => {
  let harness: VerifierHarness;
  let verifier: RunningVerifier;
  let agent: TestAgent;
  let keyPair: dpop.KeyPair;

  beforeAll(async () => {
    harness = await createVerifierHarness();
    verifier = await harness.startVerifier();
    ({ agent, keyPair } = await enrolDpopPackageAgent(harness.test));
  });
  afterAll(() => harness?.close());

  describe("panva's dpop package", () => {
    it("makes proofs the verifier accepts with a token the registry issued to its key", async () => {
      const token = await obtainToken(harness.test, agent);
      expect((token.claims.cnf as { jkt: string }).jkt).toBe(
        await dpop.calculateThumbprint(keyPair.publicKey),
      );
      const forward = async (url: string, nonce?: string) => ({
        authorization: `DPoP ${token.accessToken}`,
        // The package's htu is the URL without query, as RFC 9449 §4.2 has it.
        dpop: await dpop.generateProof(keyPair, PAY_URL, "POST", nonce, token.accessToken),
        method: "POST",
        url,
        action: payment,
      });

      // As an agent learns it: the first proof has no nonce, the answer carries one.
      const first = await verifier.verify(await forward(PAY_URL));
      expect(first.body).toMatchObject({ decision: "deny", reason: "dpop_nonce_required" });
      const nonce = first.body.respond.headers["DPoP-Nonce"] as string;
      expect(first.body.respond.headers["WWW-Authenticate"]).toContain('error="use_dpop_nonce"');

      const request = await forward(`${PAY_URL}?reference=42`, nonce);
      const allowed = await verifier.verify(request);
      expect(allowed.body).toMatchObject({
        decision: "allow",
        agent: agent.id,
        grant: token.grantId,
        token_id: token.claims.jti,
      });
      expect((await verifier.verify(request)).body.reason).toBe("dpop_jti_replayed");
      const htmWrong = {
        ...(await forward(PAY_URL, nonce)),
        dpop: await dpop.generateProof(keyPair, PAY_URL, "GET", nonce, token.accessToken),
      };
      expect((await verifier.verify(htmWrong)).body.reason).toBe("dpop_htm_mismatch");
    });
  });

  describe("oauth4webapi as the service provider's introspection client", () => {
    const as: oauth.AuthorizationServer = { issuer: PUBLIC_URL };
    const provider: oauth.Client = { client_id: PAYMENTS };
    /** The API key as an RFC 6750 Bearer token (RFC 7662 §2.1 allows any authentication). */
    const bearerKey =
      (apiKey: string): oauth.ClientAuth =>
      (_as, _client, _body, headers) => {
        headers.set("authorization", `Bearer ${apiKey}`);
      };
    const introspect = async (token: string, auth: oauth.ClientAuth) => {
      const server = { ...as, introspection_endpoint: `${verifier.url}/introspect` };
      return oauth.processIntrospectionResponse(
        server,
        provider,
        await oauth.introspectionRequest(server, provider, auth, token, http),
      );
    };

    it("answers active with the token's claims (client_secret_basic and Bearer)", async () => {
      const token = await obtainToken(harness.test, agent);
      for (const auth of [oauth.ClientSecretBasic(harness.apiKey), bearerKey(harness.apiKey)]) {
        const introspection = await introspect(token.accessToken, auth);
        expect(introspection).toMatchObject({
          active: true,
          token_type: "DPoP",
          iss: PUBLIC_URL,
          aud: PAYMENTS,
          sub: agent.id,
          client_id: agent.id,
          jti: token.claims.jti,
          exp: token.claims.exp,
          cnf: { jkt: agent.jkt },
          grant_id: token.grantId,
          authorization_details: token.claims.authorization_details,
        });
      }
    });

    it("answers only active: false for a token it does not know or that was revoked", async () => {
      const auth = oauth.ClientSecretBasic(harness.apiKey);
      expect(await introspect("not-a-token", auth)).toEqual({ active: false });
      const token = await obtainToken(harness.test, agent);
      expect((await introspect(token.accessToken, auth)).active).toBe(true);
      await agent.postForm("/oauth/revoke", { token: token.accessToken }, { dpop: false });
      expect(await introspect(token.accessToken, bearerKey(harness.apiKey))).toEqual({
        active: false,
      });
    });

    it("refuses a wrong secret with 401 and a challenge in the scheme the client used", async () => {
      const wrong = `${harness.apiKey.slice(0, -4)}AAAA`;
      for (const [auth, scheme] of [
        [oauth.ClientSecretBasic(wrong), "basic"],
        [bearerKey(wrong), "bearer"],
      ] as const) {
        const failure = await introspect("not-a-token", auth).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
        const challenge = failure as oauth.WWWAuthenticateChallengeError;
        expect(challenge.status).toBe(401);
        expect(challenge.cause[0]?.scheme).toBe(scheme);
        expect(await challenge.response.json()).toMatchObject({ error: "invalid_client" });
      }
    });

    it("gives protected-resource metadata a stock RFC 9728 client accepts for the provider", async () => {
      const response = await fetch(`${verifier.url}/v1/protected-resource-metadata`, {
        headers: { authorization: `Bearer ${harness.apiKey}` },
      });
      const metadata = await oauth.processResourceDiscoveryResponse(new URL(PAYMENTS), response);
      expect(metadata.authorization_servers).toEqual([PUBLIC_URL]);
      expect(metadata.dpop_bound_access_tokens_required).toBe(true);
    });
  });
});
