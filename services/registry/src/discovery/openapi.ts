import { ACCESS_TOKEN_TYPE } from "../tokens/exchange-token.js";
import { TOKEN_GRANT_TYPES } from "../tokens/grant-types.js";

/**
 * The registry's OpenAPI 3.1 description, served at `/openapi.json`. Hand-written and kept next
 * to the routes; `test/discovery/openapi.test.ts` checks that every mounted route is documented
 * and every documented path is mounted.
 */
export function createOpenApiDocument(issuer: string) {
  const problem = {
    description: "RFC 9457 problem",
    content: { "application/problem+json": { schema: ref("Problem") } },
  };
  const oauthError = {
    description: "OAuth error",
    content: { "application/json": { schema: ref("OAuthError") } },
  };
  const json = (schema: object, description = "OK") => ({
    description,
    content: { "application/json": { schema } },
  });
  const form = (schema: object) => ({
    required: true,
    content: { "application/x-www-form-urlencoded": { schema } },
  });
  const body = (schema: object) => ({
    required: true,
    content: { "application/json": { schema } },
  });
  const session = [{ session: [] }];
  const agentAuth = [{ privateKeyJwt: [] }];
  const human = (summary: string, extra: object = {}) => ({ summary, security: session, ...extra });
  const ok = (description = "OK") => ({ description });
  const id = (name: string) => ({ name, in: "path", required: true, schema: { type: "string" } });

  return {
    openapi: "3.1.0",
    info: {
      title: "AgentAuth registry",
      version: "0.1.0",
      description:
        "Agents, humans, service providers, passkey-approved grants, DPoP-bound tokens and the audit log. See docs/registry.md.",
    },
    servers: [{ url: issuer }],
    components: {
      securitySchemes: {
        session: {
          type: "apiKey",
          in: "cookie",
          name: "agentauth_session",
          description: "Passkey sign-in session",
        },
        privateKeyJwt: {
          type: "http",
          scheme: "private_key_jwt",
          description: "RFC 7523 client assertion signed with the agent key",
        },
        dpop: { type: "apiKey", in: "header", name: "DPoP", description: "RFC 9449 proof" },
        serviceProviderKey: {
          type: "http",
          scheme: "bearer",
          description: "Verifier API key (also accepted as client_secret_basic)",
        },
      },
      schemas: {
        Problem: {
          type: "object",
          required: ["type", "title", "status", "code"],
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer" },
            detail: { type: "string" },
            code: { type: "string", description: "Stable error code, e.g. ERR_VALIDATION" },
            request_id: { type: "string" },
          },
        },
        OAuthError: {
          type: "object",
          required: ["error"],
          properties: { error: { type: "string" }, error_description: { type: "string" } },
        },
        AuthorizationDetails: {
          type: "array",
          description:
            "RFC 9396 entries: capabilities (read, write, delete, transact, custom) and at most one envelope (docs/protocol.md §2)",
          items: { type: "object", required: ["type"], properties: { type: { type: "string" } } },
        },
        TokenResponse: {
          type: "object",
          required: ["access_token", "token_type", "expires_in"],
          properties: {
            access_token: { type: "string", description: "RFC 9068 at+jwt, DPoP-bound (cnf.jkt)" },
            token_type: { const: "DPoP" },
            expires_in: { type: "integer", maximum: 900 },
            refresh_token: { type: "string", description: "Not for a per-task token" },
            issued_token_type: {
              const: ACCESS_TOKEN_TYPE,
              description: "RFC 8693, for a per-task token",
            },
            authorization_details: ref("AuthorizationDetails"),
          },
        },
      },
    },
    paths: {
      "/.well-known/oauth-authorization-server": {
        get: { summary: "RFC 8414 metadata", responses: { 200: ok() } },
      },
      "/.well-known/jwks.json": {
        get: {
          summary: "Token signing keys (current and recently retired)",
          responses: { 200: ok() },
        },
      },
      "/openapi.json": { get: { summary: "This document", responses: { 200: ok() } } },
      "/health/live": { get: { summary: "Liveness", responses: { 200: ok() } } },
      "/health/ready": {
        get: {
          summary: "Readiness of Postgres and Redis",
          responses: { 200: ok(), 503: ok("Not ready") },
        },
      },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { 200: ok() } } },
      "/oauth/backchannel": {
        post: {
          summary: "CIBA backchannel authentication request (poll mode)",
          security: agentAuth,
          requestBody: form({
            type: "object",
            required: [
              "client_assertion_type",
              "client_assertion",
              "authorization_details",
              "resource",
            ],
            properties: {
              authorization_details: { type: "string", description: "JSON array (RFC 9396)" },
              resource: { type: "string", description: "Service provider id (RFC 8707)" },
              binding_message: {
                type: "string",
                maxLength: 100,
                description:
                  "Shown to the human: at most 100 characters, letters, digits, punctuation, symbols and spaces only (else invalid_binding_message)",
              },
              requested_expiry: { type: "integer", minimum: 60, maximum: 3600, default: 600 },
              grant_lifetime: { type: "integer", minimum: 60, maximum: 7776000, default: 86400 },
            },
          }),
          responses: {
            200: json({
              type: "object",
              properties: {
                auth_req_id: { type: "string" },
                expires_in: { type: "integer" },
                interval: { type: "integer" },
                user_code: { type: "string" },
                approval_uri: { type: "string" },
              },
            }),
            400: oauthError,
            401: oauthError,
            429: oauthError,
          },
        },
      },
      "/oauth/token": {
        post: {
          summary:
            "Token endpoint: CIBA poll, refresh, or RFC 8693 exchange for a per-task token; DPoP with server nonce required",
          description:
            "With grant_type token-exchange, the agent trades an access token of one of its grants (subject_token) for a per-task token: the same grant and key, authorization_details no wider than the grant's (an envelope left out is the grant's; rate and spend limits keep the grant's windows), a lifetime of at most requested_expiry, no refresh token. Revocable with /oauth/revoke; it ends with its grant, its agent, and the access token it came from.",
          security: [{ privateKeyJwt: [], dpop: [] }],
          requestBody: form({
            type: "object",
            required: ["grant_type"],
            properties: {
              grant_type: { enum: [...TOKEN_GRANT_TYPES] },
              auth_req_id: { type: "string", description: "CIBA" },
              refresh_token: { type: "string", description: "refresh_token" },
              subject_token: {
                type: "string",
                description: "Token exchange: an access token of the agent's, for the grant",
              },
              subject_token_type: { const: ACCESS_TOKEN_TYPE },
              requested_token_type: { const: ACCESS_TOKEN_TYPE },
              authorization_details: {
                type: "string",
                description:
                  "Token exchange: JSON array (RFC 9396), narrowing the grant's; default the grant's",
              },
              resource: {
                type: "string",
                description: "Token exchange: the service provider; must be the subject token's",
              },
              audience: {
                type: "string",
                description: "Token exchange: as resource",
              },
              requested_expiry: {
                type: "integer",
                minimum: 1,
                maximum: 900,
                description:
                  "Token exchange: lifetime in seconds (never beyond the registry's access-token lifetime, the envelope's max_token_lifetime_seconds, or the grant)",
              },
            },
          }),
          responses: { 200: json(ref("TokenResponse")), 400: oauthError, 401: oauthError },
        },
      },
      "/oauth/revoke": {
        post: {
          summary: "RFC 7009 revocation of the agent's own tokens",
          security: agentAuth,
          requestBody: form({ type: "object", required: ["token"] }),
          responses: { 200: ok(), 401: oauthError },
        },
      },
      "/oauth/introspect": {
        post: {
          summary: "RFC 7662 introspection for service providers",
          security: [{ serviceProviderKey: [] }],
          requestBody: form({ type: "object", required: ["token"] }),
          responses: { 200: ok("{active: false} or the token's claims"), 401: oauthError },
        },
      },
      "/agents/enroll": {
        post: {
          summary: "Enrol an agent with a one-time code; the DPoP proof proves the key",
          description:
            "The agent's name is the one its human gave the enrolment code; a `name` sent by the agent is refused.",
          security: [{ dpop: [] }],
          requestBody: body({
            type: "object",
            required: ["code"],
            additionalProperties: false,
            properties: { code: { type: "string" } },
          }),
          responses: {
            201: ok("Enrolled: agent_id, client_id, jkt"),
            400: problem,
            409: problem,
            429: problem,
          },
        },
      },
      "/agents/rotate-key": {
        post: {
          summary: "Rotate the agent key: DPoP header by the old key, new_key_proof by the new one",
          security: [{ dpop: [] }],
          requestBody: body({ type: "object", required: ["new_key_proof"] }),
          responses: { 200: ok(), 400: problem, 409: problem },
        },
      },
      "/api/webauthn/registration/options": {
        post: {
          summary:
            "Passkey registration options: with an invitation (new human) or a session (another passkey)",
          requestBody: body({
            type: "object",
            properties: { invitation: { type: "string" }, display_name: { type: "string" } },
          }),
          responses: {
            200: ok("challenge_id and PublicKeyCredentialCreationOptionsJSON"),
            400: problem,
            429: problem,
          },
        },
      },
      "/api/webauthn/registration/verify": {
        post: {
          summary: "Verify the new passkey; creates the human for an invitation; starts a session",
          requestBody: body({ type: "object", required: ["challenge_id", "response"] }),
          responses: { 201: ok(), 400: problem },
        },
      },
      "/api/webauthn/authentication/options": {
        post: {
          summary: "Sign-in options (discoverable passkeys, user verification required)",
          responses: { 200: ok(), 429: problem },
        },
      },
      "/api/webauthn/authentication/verify": {
        post: {
          summary: "Verify a sign-in assertion; starts a session",
          requestBody: body({ type: "object", required: ["challenge_id", "response"] }),
          responses: { 200: ok(), 400: problem },
        },
      },
      "/api/session/logout": { post: human("End the session", { responses: { 204: ok() } }) },
      "/api/me": { get: human("The signed-in human", { responses: { 200: ok(), 401: problem } }) },
      "/api/me/passkeys": { get: human("The human's passkeys", { responses: { 200: ok() } }) },
      "/api/me/sessions": {
        get: human("The human's live sessions, the current one marked", {
          responses: { 200: ok() },
        }),
      },
      "/api/me/sessions/{sessionId}": {
        delete: human("End one of the human's sessions (the current one too)", {
          parameters: [id("sessionId")],
          responses: { 204: ok(), 404: problem },
        }),
      },
      "/api/me/passkeys/{credentialId}": {
        delete: human("Remove a passkey (never the last one)", {
          parameters: [id("credentialId")],
          responses: { 204: ok(), 409: problem },
        }),
      },
      "/api/invitations": {
        post: human("Invite another human with a one-time link (admin)", {
          responses: { 201: ok(), 403: problem },
        }),
      },
      "/api/humans": {
        get: human("Every human, enabled or disabled (admin)", {
          responses: { 200: ok(), 403: problem },
        }),
      },
      "/api/humans/{humanId}/disable": {
        post: human(
          "Disable a human (admin): sessions end, sign-in is refused, their agents are disabled and their grants and tokens revoked; never the last admin",
          {
            parameters: [id("humanId")],
            responses: { 200: ok(), 403: problem, 404: problem, 409: problem },
          },
        ),
      },
      "/api/humans/{humanId}/sessions/revoke": {
        post: human("End every session of a human (admin); answers sessions_revoked", {
          parameters: [id("humanId")],
          responses: { 200: ok(), 403: problem, 404: problem },
        }),
      },
      "/api/agent-enrolment-codes": {
        post: human("Create a one-time agent enrolment code", {
          responses: { 201: ok(), 401: problem },
        }),
      },
      "/api/agents": { get: human("The signed-in human's agents", { responses: { 200: ok() } }) },
      "/api/agents/{agentId}": {
        patch: human("Rename an agent", {
          parameters: [id("agentId")],
          responses: { 200: ok(), 404: problem },
        }),
      },
      "/api/agents/{agentId}/disable": {
        post: human("Disable an agent, revoking all its grants and tokens", {
          parameters: [id("agentId")],
          responses: { 200: ok(), 404: problem },
        }),
      },
      "/api/service-providers": {
        get: human("List service providers (admin)", { responses: { 200: ok(), 403: problem } }),
        post: human("Create a service provider with its capability ceiling (admin)", {
          responses: { 201: ok(), 409: problem },
        }),
      },
      "/api/service-providers/{id}/disable": {
        post: human("Disable a service provider (admin)", {
          parameters: [id("id")],
          responses: { 204: ok() },
        }),
      },
      "/api/service-providers/{id}/keys": {
        post: human("Create a verifier API key, shown once (admin)", {
          parameters: [id("id")],
          responses: { 201: ok() },
        }),
      },
      "/api/service-providers/{id}/keys/{keyId}": {
        delete: human("Revoke a verifier API key (admin)", {
          parameters: [id("id"), id("keyId")],
          responses: { 204: ok() },
        }),
      },
      "/api/grant-requests": {
        get: human("The human's grant requests, optionally by status", {
          responses: { 200: ok() },
        }),
      },
      "/api/grant-requests/{id}": {
        get: human("One request, in plain English", {
          parameters: [id("id")],
          responses: { 200: ok(), 404: problem },
        }),
      },
      "/api/grant-requests/{id}/approval-challenge": {
        post: human(
          "Narrow (never widen) and get the WebAuthn challenge for the final grant's digest",
          {
            parameters: [id("id")],
            responses: { 200: ok(), 400: problem, 409: problem, 410: problem },
          },
        ),
      },
      "/api/grant-requests/{id}/approve": {
        post: human("Approve with a passkey assertion over the challenge", {
          parameters: [id("id")],
          responses: { 201: ok(), 400: problem, 409: problem },
        }),
      },
      "/api/grant-requests/{id}/deny": {
        post: human("Deny with a reason", {
          parameters: [id("id")],
          responses: { 204: ok(), 409: problem },
        }),
      },
      "/api/grants": { get: human("The human's grants", { responses: { 200: ok() } }) },
      "/api/grants/{id}/receipt": {
        get: human("The passkey receipt of an approval, to re-verify it", {
          parameters: [id("id")],
          responses: { 200: ok(), 404: problem },
        }),
      },
      "/api/audit/events": {
        get: human("Audit events of the human's agents (admins: scope=all), paged by sequence", {
          responses: { 200: ok(), 400: problem },
        }),
      },
      "/api/audit/verify": {
        get: human(
          "Re-hash the whole chain and check every signed checkpoint; reports the first break",
          { responses: { 200: ok() } },
        ),
      },
      "/api/audit/checkpoints": {
        get: human(
          "Signed checkpoints of the chain head, newest first (compact JWS, typ audit-checkpoint+jwt, signed by a registry key)",
          { responses: { 200: ok() } },
        ),
      },
      "/api/grants/{id}/revoke": {
        post: human("Revoke a grant and its tokens", {
          parameters: [id("id")],
          responses: { 204: ok(), 404: problem },
        }),
      },
    },
  };
}

function ref(name: string) {
  return { $ref: `#/components/schemas/${name}` };
}
