import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { createPaymentsProvider, PAYMENTS } from "../support/test-registry.js";
import {
  discoverAuthorizationServer,
  enrolInteropAgent,
  http,
  type InteropAgent,
  type InteropRegistry,
  issueTokenWithKit,
  startInteropRegistry,
} from "./interop-registry.js";

/**
 * How failed client authentication looks to a stock client. RFC 6749 §5.2: `invalid_client`
 * in the body; a 401 when the client authenticated with the `Authorization` header, whose
 * `WWW-Authenticate` MUST match the scheme the client used (RFC 7662 §2.3 applies this to
 * introspection). oauth4webapi reads a `WWW-Authenticate` header before the body, so a challenge
 * in the wrong scheme turns the OAuth error into an authentication challenge.
 */
describeEachDatabase(
  "interop: failed client authentication, as oauth4webapi sees it",
  (database) => {
    let test: InteropRegistry;
    let apiKey: string;
    let agent: InteropAgent;
    let as: oauth.AuthorizationServer;

    beforeAll(async () => {
      test = await startInteropRegistry(database.db());
      ({ apiKey } = await createPaymentsProvider(test.admin));
      agent = await enrolInteropAgent(test);
      as = await discoverAuthorizationServer(test);
    });
    afterAll(() => test?.close());

    it("answers invalid_client in the body to a private_key_jwt signed by another key", async () => {
      const client: oauth.Client = { client_id: agent.id };
      const impostor = await crypto.subtle.generateKey(
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["sign", "verify"],
      );
      const DPoP = oauth.DPoP(client, impostor);
      const send = () =>
        oauth.refreshTokenGrantRequest(as, client, oauth.PrivateKeyJwt(impostor.privateKey), "x", {
          DPoP,
          ...http,
        });
      const outcome = await oauth
        .processRefreshTokenResponse(as, client, await send())
        .catch(async (error: unknown) => {
          if (!oauth.isDPoPNonceError(error)) throw error;
          return oauth.processRefreshTokenResponse(as, client, await send());
        })
        .catch((error: unknown) => error);
      // Not a `Bearer` challenge: the token endpoint accepts no bearer credential at all.
      expect(outcome).toBeInstanceOf(oauth.ResponseBodyError);
      expect(outcome).toMatchObject({ error: "invalid_client" });
    });

    it("answers a wrong client_secret_basic with 401 and a Basic challenge", async () => {
      const response = await oauth.introspectionRequest(
        as,
        { client_id: PAYMENTS },
        oauth.ClientSecretBasic(`${apiKey.slice(0, -4)}AAAA`),
        "any-token",
        http,
      );
      expect(response.status).toBe(401);
      const outcome = await oauth
        .processIntrospectionResponse(as, { client_id: PAYMENTS }, response)
        .catch((error: unknown) => error);
      expect(outcome).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
      expect((outcome as oauth.WWWAuthenticateChallengeError).cause).toEqual([
        expect.objectContaining({ scheme: "basic" }),
      ]);
    });

    it("answers 401, not 500, to Basic credentials that are not valid form-encoding", async () => {
      // RFC 6749 §2.3.1 form-encodes both parts; a stray "%" is the client's mistake.
      const response = await fetch(as.introspection_endpoint as string, {
        method: "POST",
        headers: {
          authorization: `Basic ${btoa(`${encodeURIComponent(PAYMENTS)}:${apiKey}%E0`)}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ token: "any-token" }),
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: "invalid_client" });
    });

    it("refuses client_secret_basic whose client_id is not the API key's service provider", async () => {
      const { accessToken } = await issueTokenWithKit(test, PAYMENTS);
      // RFC 6749 §2.3.1: the username is the client_id; the secret authenticates that client only.
      const outcome = await oauth
        .introspectionRequest(
          as,
          { client_id: "https://someone-else.example" },
          oauth.ClientSecretBasic(apiKey),
          accessToken,
          http,
        )
        .then((response) =>
          oauth.processIntrospectionResponse(
            as,
            { client_id: "https://someone-else.example" },
            response,
          ),
        )
        .catch((error: unknown) => error);
      expect(outcome).toMatchObject({ status: 401 });
    });
  },
);
