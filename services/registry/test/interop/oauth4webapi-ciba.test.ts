import * as jose from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { createPaymentsProvider, PAYMENTS } from "../support/test-registry.js";
import {
  approveAsRequested,
  discoverAuthorizationServer,
  enrolInteropAgent,
  http,
  type InteropAgent,
  type InteropRegistry,
  REQUESTED_DETAILS,
  startInteropRegistry,
} from "./interop-registry.js";

// The registry listens on http://localhost: the only relaxation a stock client needs here.

/** Part of what REQUESTED_DETAILS grants, for a per-task token. */
const TASK_CAPABILITY = {
  type: "transact",
  resource: "merchant/acme",
  max_amount: "20.00",
  currency: "EUR",
};

/**
 * Sends a token endpoint request and processes the answer, retrying once with the fresh nonce
 * when the server asks for one: the pattern oauth4webapi documents for `isDPoPNonceError`.
 */
async function withDpopNonceRetry(
  send: () => Promise<Response>,
  process: (response: Response) => Promise<oauth.TokenEndpointResponse>,
  onNonceError: () => void = () => undefined,
): Promise<oauth.TokenEndpointResponse> {
  try {
    return await process(await send());
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error;
    onNonceError();
    return process(await send());
  }
}

describeEachDatabase("interop: oauth4webapi drives CIBA poll mode with DPoP", (database) => {
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

  it("reads our RFC 8414 discovery document", () => {
    expect(as).toMatchObject({
      issuer: test.issuer,
      token_endpoint: `${test.issuer}/oauth/token`,
      jwks_uri: `${test.issuer}/.well-known/jwks.json`,
      backchannel_authentication_endpoint: `${test.issuer}/oauth/backchannel`,
      revocation_endpoint: `${test.issuer}/oauth/revoke`,
      introspection_endpoint: `${test.issuer}/oauth/introspect`,
      backchannel_token_delivery_modes_supported: ["poll"],
      grant_types_supported: expect.arrayContaining(["urn:openid:params:grant-type:ciba"]),
      token_endpoint_auth_methods_supported: expect.arrayContaining(["private_key_jwt"]),
      dpop_signing_alg_values_supported: expect.arrayContaining(["ES256"]),
    });
  });

  it("requests, polls through the nonce and authorization_pending, refreshes, exchanges for a task token and revokes", async () => {
    const client: oauth.Client = { client_id: agent.id };
    const clientAuth = oauth.PrivateKeyJwt(agent.keyPair.privateKey);
    const DPoP = oauth.DPoP(client, agent.keyPair);
    expect(await DPoP.calculateThumbprint()).toBe(agent.jkt);

    const started = await oauth.processBackchannelAuthenticationResponse(
      as,
      client,
      await oauth.backchannelAuthenticationRequest(
        as,
        client,
        clientAuth,
        {
          authorization_details: JSON.stringify(REQUESTED_DETAILS),
          resource: PAYMENTS,
          binding_message: "Pay ACME for order 42",
        },
        http,
      ),
    );
    expect(started.expires_in).toBeGreaterThan(0);
    expect(started.interval).toBe(5);

    // The CIBA poll loop a client writes: wait `interval` between polls, grow it on slow_down,
    // retry at once on use_dpop_nonce. Waiting moves the registry's clock instead of sleeping.
    const outcomes: string[] = [];
    let interval = started.interval ?? 5;
    let token: oauth.TokenEndpointResponse | undefined;
    for (let polls = 0; token === undefined && polls < 5; polls++) {
      try {
        token = await withDpopNonceRetry(
          () =>
            oauth.backchannelAuthenticationGrantRequest(
              as,
              client,
              clientAuth,
              started.auth_req_id,
              {
                DPoP,
                ...http,
              },
            ),
          (response) => oauth.processBackchannelAuthenticationGrantResponse(as, client, response),
          () => outcomes.push("use_dpop_nonce"),
        );
        outcomes.push("token");
      } catch (error) {
        if (!(error instanceof oauth.ResponseBodyError)) throw error;
        outcomes.push(error.error);
        if (error.error === "slow_down") interval += 5;
        else if (error.error !== "authorization_pending") throw error;
        // The human decides while the agent waits.
        if (outcomes.filter((outcome) => outcome === "authorization_pending").length === 1) {
          await approveAsRequested(test, started.auth_req_id);
        }
        test.clock.advance(interval);
      }
    }
    expect(outcomes).toEqual(["use_dpop_nonce", "authorization_pending", "token"]);
    if (token === undefined) throw new Error("no token");

    expect(token.token_type).toBe("dpop");
    expect(token.expires_in).toBeGreaterThan(0);
    expect(token.expires_in).toBeLessThanOrEqual(900);
    expect(token.authorization_details).toEqual(REQUESTED_DETAILS);
    expect(token.refresh_token).toEqual(expect.any(String));
    const claims = jose.decodeJwt(token.access_token);
    expect(claims).toMatchObject({
      iss: test.issuer,
      aud: PAYMENTS,
      sub: agent.id,
      client_id: agent.id,
      cnf: { jkt: await DPoP.calculateThumbprint() },
    });
    // The thumbprint is the RFC 7638 one of the key oauth4webapi signs its proofs with.
    const publicJwk = await crypto.subtle.exportKey("jwk", agent.keyPair.publicKey);
    expect(claims.cnf).toEqual({ jkt: await jose.calculateJwkThumbprint(publicJwk as jose.JWK) });

    // A resource server using oauth4webapi accepts the token with oauth4webapi's own DPoP proof.
    await expectResourceServerAccepts(token.access_token, DPoP);

    // Refresh: a new access token without the human, bound to the same key.
    const refreshToken = token.refresh_token as string;
    const refreshed = await withDpopNonceRetry(
      () => oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, { DPoP, ...http }),
      (response) => oauth.processRefreshTokenResponse(as, client, response),
    );
    expect(refreshed.token_type).toBe("dpop");
    const refreshedClaims = jose.decodeJwt(refreshed.access_token);
    expect(refreshedClaims.jti).not.toBe(claims.jti);
    expect(refreshedClaims.cnf).toEqual({ jkt: agent.jkt });

    // RFC 8693 token exchange, as any client sends an extension grant: a per-task token for
    // part of the grant, bound to the same key, accepted by a resource server, then revoked.
    const task = await withDpopNonceRetry(
      () =>
        oauth.genericTokenEndpointRequest(
          as,
          client,
          clientAuth,
          "urn:ietf:params:oauth:grant-type:token-exchange",
          {
            subject_token: refreshed.access_token,
            subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
            authorization_details: JSON.stringify([TASK_CAPABILITY]),
            resource: PAYMENTS,
            requested_expiry: "60",
          },
          { DPoP, ...http },
        ),
      (response) => oauth.processGenericTokenEndpointResponse(as, client, response),
    );
    expect(task).toMatchObject({
      token_type: "dpop",
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
      expires_in: 60,
      authorization_details: [TASK_CAPABILITY, REQUESTED_DETAILS[1]],
    });
    expect(task.refresh_token).toBeUndefined();
    expect(jose.decodeJwt(task.access_token)).toMatchObject({
      cnf: { jkt: agent.jkt },
      task_of: refreshedClaims.jti,
    });
    await expectResourceServerAccepts(task.access_token, DPoP);
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, clientAuth, task.access_token, http),
    );
    expect(await introspectWithBasic(task.access_token)).toEqual({ active: false });

    // RFC 7009 revocation of the access token, then of the refresh token.
    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, clientAuth, refreshed.access_token, {
        additionalParameters: { token_type_hint: "access_token" },
        ...http,
      }),
    );
    expect(await introspectWithBasic(refreshed.access_token)).toEqual({ active: false });

    await oauth.processRevocationResponse(
      await oauth.revocationRequest(as, client, clientAuth, refreshToken, {
        additionalParameters: { token_type_hint: "refresh_token" },
        ...http,
      }),
    );
    await expect(
      withDpopNonceRetry(
        () =>
          oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, { DPoP, ...http }),
        (response) => oauth.processRefreshTokenResponse(as, client, response),
      ),
    ).rejects.toMatchObject({ code: oauth.RESPONSE_BODY_ERROR, error: "invalid_grant" });
  });

  it("gets access_denied, as a ResponseBodyError, when the human denies", async () => {
    const client: oauth.Client = { client_id: agent.id };
    const clientAuth = oauth.PrivateKeyJwt(agent.keyPair.privateKey);
    const DPoP = oauth.DPoP(client, agent.keyPair);
    const started = await oauth.processBackchannelAuthenticationResponse(
      as,
      client,
      await oauth.backchannelAuthenticationRequest(
        as,
        client,
        clientAuth,
        {
          authorization_details: JSON.stringify(REQUESTED_DETAILS),
          resource: PAYMENTS,
          binding_message: "Deny me",
        },
        http,
      ),
    );
    await test.admin
      .post(`/api/grant-requests/${started.auth_req_id}/deny`, { reason: "Not this merchant" })
      .expect(204);
    await expect(
      withDpopNonceRetry(
        () =>
          oauth.backchannelAuthenticationGrantRequest(as, client, clientAuth, started.auth_req_id, {
            DPoP,
            ...http,
          }),
        (response) => oauth.processBackchannelAuthenticationGrantResponse(as, client, response),
      ),
    ).rejects.toMatchObject({
      code: oauth.RESPONSE_BODY_ERROR,
      error: "access_denied",
      error_description: "Not this merchant",
    });
  });

  it("accepts signed authentication requests if, and only if, the metadata advertises them", async () => {
    // CIBA Core §4: `backchannel_authentication_request_signing_alg_values_supported` lists the
    // algorithms of signed authentication requests (§7.1.1, the `request` parameter); "if
    // omitted, signed authentication requests are not supported by the OP".
    const advertised =
      as.backchannel_authentication_request_signing_alg_values_supported !== undefined;
    const client: oauth.Client = { client_id: agent.id };
    const signedRequest = await oauth.issueRequestObject(
      as,
      client,
      {
        authorization_details: JSON.stringify(REQUESTED_DETAILS),
        resource: PAYMENTS,
        binding_message: "Signed request",
      },
      agent.keyPair.privateKey,
    );
    const response = await oauth.backchannelAuthenticationRequest(
      as,
      client,
      oauth.PrivateKeyJwt(agent.keyPair.privateKey),
      { request: signedRequest },
      http,
    );
    const answer = await response.clone().text();
    expect(response.status === 200, `signed request answered: ${answer}`).toBe(advertised);
  });

  /** RFC 7662 introspection by the payments provider, as oauth4webapi sends it. */
  async function introspectWithBasic(token: string) {
    return oauth.processIntrospectionResponse(
      as,
      { client_id: PAYMENTS },
      await oauth.introspectionRequest(
        as,
        { client_id: PAYMENTS },
        oauth.ClientSecretBasic(apiKey),
        token,
        http,
      ),
    );
  }

  /**
   * Builds the request an agent would send to the service provider with oauth4webapi
   * (`Authorization: DPoP …` and a fresh proof with `ath`), then validates it the way a
   * resource server using oauth4webapi does: RFC 9068 claims, signature by our `jwks_uri`,
   * and the RFC 9449 proof against `cnf.jkt`.
   */
  async function expectResourceServerAccepts(accessToken: string, DPoP: oauth.DPoPHandle) {
    const url = new URL(`${PAYMENTS}/charges`);
    let sent: Request | undefined;
    await oauth.protectedResourceRequest(accessToken, "POST", url, undefined, undefined, {
      DPoP,
      [oauth.customFetch]: async (input, init) => {
        // A body-less request: only the method and headers matter to the resource server.
        sent = new Request(input, { method: init.method, headers: init.headers });
        return new Response(null, { status: 204 });
      },
    });
    if (sent === undefined) throw new Error("oauth4webapi sent no request");
    const validated = await oauth.validateJwtAccessToken(as, sent, PAYMENTS, {
      requireDPoP: true,
      signingAlgorithms: ["ES256"],
      ...http,
    });
    expect(validated).toMatchObject({ iss: test.issuer, aud: PAYMENTS, client_id: agent.id });
  }
});
