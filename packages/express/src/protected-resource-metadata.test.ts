import { describe, expect, it } from "vitest";
import { buildProtectedResourceMetadata, metadataUrlOf } from "./protected-resource-metadata.js";

describe("metadataUrlOf (RFC 9728 §3.1)", () => {
  it.each([
    [
      "https://payments.example.com",
      "https://payments.example.com/.well-known/oauth-protected-resource",
    ],
    [
      "https://payments.example.com/",
      "https://payments.example.com/.well-known/oauth-protected-resource",
    ],
    [
      "https://api.example.com/payments",
      "https://api.example.com/.well-known/oauth-protected-resource/payments",
    ],
    [
      "https://api.example.com/payments/",
      "https://api.example.com/.well-known/oauth-protected-resource/payments",
    ],
  ])("%s → %s", (resource, expected) => {
    expect(metadataUrlOf(resource).href).toBe(expected);
  });
});

describe("buildProtectedResourceMetadata", () => {
  it("names the registry, DPoP-bound header tokens and AgentAuth's capability types", () => {
    expect(
      buildProtectedResourceMetadata(
        "https://payments.example.com",
        "https://registry.example.com",
        {
          resourceName: "Payments",
        },
      ),
    ).toEqual({
      resource: "https://payments.example.com",
      authorization_servers: ["https://registry.example.com"],
      bearer_methods_supported: ["header"],
      dpop_signing_alg_values_supported: ["ES256", "EdDSA", "Ed25519"],
      dpop_bound_access_tokens_required: true,
      authorization_details_types_supported: ["read", "write", "delete", "transact", "custom"],
      resource_name: "Payments",
    });
  });
});
