import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { createPaymentsProvider, PAYMENTS } from "../support/test-registry.js";
import {
  discoverAuthorizationServer,
  http,
  type InteropRegistry,
  issueTokenWithKit,
  REQUESTED_DETAILS,
  startInteropRegistry,
} from "./interop-registry.js";

describeEachDatabase("interop: oauth4webapi introspects with client_secret_basic", (database) => {
  let test: InteropRegistry;
  let apiKey: string;
  let as: oauth.AuthorizationServer;
  // A service provider is an introspection client: its id is the client_id, its API key the secret.
  const provider: oauth.Client = { client_id: PAYMENTS };

  beforeAll(async () => {
    test = await startInteropRegistry(database.db());
    ({ apiKey } = await createPaymentsProvider(test.admin));
    as = await discoverAuthorizationServer(test);
  });
  afterAll(() => test?.close());

  const introspect = async (token: string, secret = apiKey) =>
    oauth.processIntrospectionResponse(
      as,
      provider,
      await oauth.introspectionRequest(as, provider, oauth.ClientSecretBasic(secret), token, http),
    );

  it("answers active with the token's claims for our token", async () => {
    expect(as.introspection_endpoint_auth_methods_supported).toContain("client_secret_basic");
    const { accessToken, agentId, jkt } = await issueTokenWithKit(test, PAYMENTS);
    const introspection = await introspect(accessToken);
    expect(introspection).toMatchObject({
      active: true,
      token_type: "DPoP",
      iss: test.issuer,
      aud: PAYMENTS,
      sub: agentId,
      client_id: agentId,
      cnf: { jkt },
      authorization_details: REQUESTED_DETAILS,
    });
    expect(introspection.exp).toBeGreaterThan(Math.floor(test.clock.now().getTime() / 1000));
  });

  it("answers only active: false for a token it does not know", async () => {
    expect(await introspect("not-a-token")).toEqual({ active: false });
  });
});
