import type { Express } from "express";
import request from "supertest";
import { beforeAll, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { createTestRegistry, PUBLIC_URL, type TestRegistry } from "../support/test-registry.js";

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every `METHOD /path` the app serves, read from Express's router (`:id` as `{id}`). */
function mountedRoutes(app: Express): string[] {
  const routes: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route !== undefined) {
        const path = layer.route.path.replace(/:(\w+)/g, "{$1}");
        for (const method of Object.keys(layer.route.methods))
          routes.push(`${method.toUpperCase()} ${path}`);
      } else if (layer.handle?.stack !== undefined) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return routes.sort();
}

describeEachDatabase("discovery", (database) => {
  let test: TestRegistry;
  beforeAll(async () => {
    test = await createTestRegistry(database.db());
  });

  it("documents exactly the routes it serves in /openapi.json", async () => {
    const { body } = await request(test.registry.app).get("/openapi.json").expect(200);
    const documented = Object.entries(body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();
    expect(documented).toEqual(mountedRoutes(test.registry.app));
    expect(body.servers).toEqual([{ url: PUBLIC_URL }]);
  });

  it("publishes RFC 8414 metadata that points at its own endpoints", async () => {
    const { body } = await request(test.registry.app)
      .get("/.well-known/oauth-authorization-server")
      .expect(200);
    expect(body).toMatchObject({
      issuer: PUBLIC_URL,
      token_endpoint: `${PUBLIC_URL}/oauth/token`,
      jwks_uri: `${PUBLIC_URL}/.well-known/jwks.json`,
      backchannel_authentication_endpoint: `${PUBLIC_URL}/oauth/backchannel`,
      backchannel_token_delivery_modes_supported: ["poll"],
      introspection_endpoint: `${PUBLIC_URL}/oauth/introspect`,
      revocation_endpoint: `${PUBLIC_URL}/oauth/revoke`,
      grant_types_supported: [
        "urn:openid:params:grant-type:ciba",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:token-exchange",
      ],
      token_endpoint_auth_methods_supported: ["private_key_jwt"],
    });
    expect(body.dpop_signing_alg_values_supported).toContain("ES256");
    expect(body.authorization_details_types_supported).toEqual([
      "read",
      "write",
      "delete",
      "transact",
      "custom",
      "envelope",
    ]);
  });

  it("serves the signing key as a JWK set", async () => {
    const response = await request(test.registry.app).get("/.well-known/jwks.json").expect(200);
    expect(response.headers["content-type"]).toMatch(/^application\/jwk-set\+json/);
    expect(response.body.keys).toHaveLength(1);
    expect(response.body.keys[0]).toMatchObject({
      kty: "EC",
      crv: "P-256",
      alg: "ES256",
      use: "sig",
    });
    expect(response.body.keys[0]).not.toHaveProperty("d");
  });

  it("answers health, readiness and metrics", async () => {
    await request(test.registry.app).get("/health/live").expect(200, { status: "ok" });
    await request(test.registry.app).get("/health/ready").expect(200);
    const metrics = await request(test.registry.app).get("/metrics").expect(200);
    expect(metrics.text).toContain("agentauth_registry_http_request_duration_seconds");
  });
});
