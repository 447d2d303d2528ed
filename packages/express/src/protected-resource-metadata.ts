import { CAPABILITY_TYPES } from "@agentauth/core";

/** RFC 9728 §3: the well-known path prefix of protected-resource metadata. */
export const WELL_KNOWN_PATH = "/.well-known/oauth-protected-resource";

/** What the service provider may add to its RFC 9728 document. */
export interface ProtectedResourceMetadataOptions {
  /** `resource_name`: shown to humans, e.g. "Payments". */
  readonly resourceName?: string;
  /** `resource_documentation`: a URL of human-readable documentation. */
  readonly resourceDocumentation?: string;
}

/** The RFC 9728 document of an AgentAuth-protected resource. */
export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly bearer_methods_supported: readonly string[];
  readonly dpop_signing_alg_values_supported: readonly string[];
  readonly dpop_bound_access_tokens_required: true;
  readonly authorization_details_types_supported: readonly string[];
  readonly resource_name?: string;
  readonly resource_documentation?: string;
}

/**
 * The RFC 9728 metadata for `resource` (the service provider id, the tokens' `aud`): the
 * registry as its only authorization server, tokens in the `Authorization` header and always
 * DPoP-bound, the proof algorithms and capability types AgentAuth accepts. It is what the
 * verifier's `GET /v1/protected-resource-metadata` answers for the same service provider.
 */
export function buildProtectedResourceMetadata(
  resource: string,
  authorizationServer: string,
  options: ProtectedResourceMetadataOptions = {},
): ProtectedResourceMetadata {
  return {
    resource,
    authorization_servers: [authorizationServer],
    bearer_methods_supported: ["header"],
    dpop_signing_alg_values_supported: ["ES256", "EdDSA", "Ed25519"],
    dpop_bound_access_tokens_required: true,
    authorization_details_types_supported: [...CAPABILITY_TYPES],
    ...(options.resourceName === undefined ? {} : { resource_name: options.resourceName }),
    ...(options.resourceDocumentation === undefined
      ? {}
      : { resource_documentation: options.resourceDocumentation }),
  };
}

/**
 * Where a client looks for `resource`'s metadata (RFC 9728 §3.1): the well-known path inserted
 * between the host and the resource's path, any terminating `/` of which is removed.
 */
export function metadataUrlOf(resource: string): URL {
  const url = new URL(resource);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  return new URL(`${url.origin}${WELL_KNOWN_PATH}${path}${url.search}`);
}
