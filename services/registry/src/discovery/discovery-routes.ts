import { CAPABILITY_TYPES, type JsonWebKeySet } from "@agentauth/core";
import { Router } from "express";
import { TOKEN_GRANT_TYPES } from "../tokens/grant-types.js";
import { createOpenApiDocument } from "./openapi.js";

export interface DiscoveryRoutesDeps {
  /** The issuer identifier: the registry's public base URL. */
  readonly issuer: string;
  /** The current JWKS: active and recently retired signing keys. */
  readonly jwks: () => Promise<JsonWebKeySet>;
}

/** The endpoints of the registry, relative to the issuer. */
export const ENDPOINTS = {
  token: "/oauth/token",
  backchannel: "/oauth/backchannel",
  revocation: "/oauth/revoke",
  introspection: "/oauth/introspect",
  jwks: "/.well-known/jwks.json",
} as const;

const AGENT_ALGORITHMS = ["ES256", "EdDSA", "Ed25519"];

/** RFC 8414 authorization server metadata and the JWKS. */
export function createDiscoveryRouter(deps: DiscoveryRoutesDeps): Router {
  const router = Router();
  const metadata = {
    issuer: deps.issuer,
    token_endpoint: `${deps.issuer}${ENDPOINTS.token}`,
    jwks_uri: `${deps.issuer}${ENDPOINTS.jwks}`,
    backchannel_authentication_endpoint: `${deps.issuer}${ENDPOINTS.backchannel}`,
    backchannel_token_delivery_modes_supported: ["poll"],
    backchannel_user_code_parameter_supported: false,
    revocation_endpoint: `${deps.issuer}${ENDPOINTS.revocation}`,
    introspection_endpoint: `${deps.issuer}${ENDPOINTS.introspection}`,
    grant_types_supported: [...TOKEN_GRANT_TYPES],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ["private_key_jwt"],
    token_endpoint_auth_signing_alg_values_supported: AGENT_ALGORITHMS,
    revocation_endpoint_auth_methods_supported: ["private_key_jwt"],
    revocation_endpoint_auth_signing_alg_values_supported: AGENT_ALGORITHMS,
    // A Bearer API key is accepted as well; it has no registered method name to list here.
    introspection_endpoint_auth_methods_supported: ["client_secret_basic"],
    dpop_signing_alg_values_supported: AGENT_ALGORITHMS,
    authorization_details_types_supported: [...CAPABILITY_TYPES, "envelope"],
    authorization_response_iss_parameter_supported: false,
  };

  router.get("/.well-known/oauth-authorization-server", (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=300");
    res.json(metadata);
  });

  const openapi = createOpenApiDocument(deps.issuer);
  router.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });

  router.get(ENDPOINTS.jwks, async (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=60");
    res.type("application/jwk-set+json").json(await deps.jwks());
  });

  return router;
}
