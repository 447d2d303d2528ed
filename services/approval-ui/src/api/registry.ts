import type { AuthorizationDetail, Capability } from "@agentauth/core";
import { callRegistry } from "./http.js";
import type {
  Agent,
  ApprovalChallenge,
  ApprovedGrant,
  AuditPage,
  AuthenticationResponseJSON,
  AuthenticationStart,
  ChainVerification,
  CreatedServiceProviderKey,
  EnrolmentCode,
  Grant,
  GrantReceipt,
  GrantRequest,
  GrantRequestStatus,
  Human,
  Invitation,
  Passkey,
  RegistrationResponseJSON,
  RegistrationStart,
  ServiceProvider,
} from "./types.js";

const segment = encodeURIComponent;

// Every registry endpoint the app uses, one function each (see the registry's /openapi.json).

export const registry = {
  me: () => callRegistry<Human>("GET", "/api/me"),
  logout: () => callRegistry<void>("POST", "/api/session/logout"),

  registrationOptions: (body: { invitation?: string; display_name?: string }) =>
    callRegistry<RegistrationStart>("POST", "/api/webauthn/registration/options", body),
  verifyRegistration: (body: {
    challenge_id: string;
    response: RegistrationResponseJSON;
    passkey_name?: string;
  }) =>
    callRegistry<{ human?: Human; passkey: { credential_id: string; name: string } }>(
      "POST",
      "/api/webauthn/registration/verify",
      body,
    ),
  authenticationOptions: () =>
    callRegistry<AuthenticationStart>("POST", "/api/webauthn/authentication/options", {}),
  verifyAuthentication: (body: { challenge_id: string; response: AuthenticationResponseJSON }) =>
    callRegistry<{ human: Human }>("POST", "/api/webauthn/authentication/verify", body),

  passkeys: () => callRegistry<{ passkeys: Passkey[] }>("GET", "/api/me/passkeys"),
  removePasskey: (credentialId: string) =>
    callRegistry<void>("DELETE", `/api/me/passkeys/${segment(credentialId)}`),
  invite: (body: { display_name?: string; is_admin?: boolean }) =>
    callRegistry<Invitation>("POST", "/api/invitations", body),

  grantRequests: (status?: GrantRequestStatus) =>
    callRegistry<{ requests: GrantRequest[] }>(
      "GET",
      `/api/grant-requests${status === undefined ? "" : `?status=${status}`}`,
    ),
  grantRequest: (id: string) =>
    callRegistry<GrantRequest>("GET", `/api/grant-requests/${segment(id)}`),
  approvalChallenge: (
    id: string,
    body: { authorization_details: readonly AuthorizationDetail[]; grant_lifetime: number },
  ) =>
    callRegistry<ApprovalChallenge>(
      "POST",
      `/api/grant-requests/${segment(id)}/approval-challenge`,
      body,
    ),
  approve: (id: string, body: { challenge_id: string; response: AuthenticationResponseJSON }) =>
    callRegistry<ApprovedGrant>("POST", `/api/grant-requests/${segment(id)}/approve`, body),
  deny: (id: string, reason: string) =>
    callRegistry<void>("POST", `/api/grant-requests/${segment(id)}/deny`, { reason }),

  grants: () => callRegistry<{ grants: Grant[] }>("GET", "/api/grants"),
  revokeGrant: (id: string) => callRegistry<void>("POST", `/api/grants/${segment(id)}/revoke`),
  receipt: (id: string) => callRegistry<GrantReceipt>("GET", `/api/grants/${segment(id)}/receipt`),

  agents: () => callRegistry<{ agents: Agent[] }>("GET", "/api/agents"),
  createEnrolmentCode: (name: string) =>
    callRegistry<EnrolmentCode>("POST", "/api/agent-enrolment-codes", { name }),
  renameAgent: (id: string, name: string) =>
    callRegistry<Agent>("PATCH", `/api/agents/${segment(id)}`, { name }),
  disableAgent: (id: string) => callRegistry<Agent>("POST", `/api/agents/${segment(id)}/disable`),

  serviceProviders: () =>
    callRegistry<{ service_providers: ServiceProvider[] }>("GET", "/api/service-providers"),
  createServiceProvider: (body: { id: string; name: string; ceiling: readonly Capability[] }) =>
    callRegistry<ServiceProvider>("POST", "/api/service-providers", body),
  disableServiceProvider: (id: string) =>
    callRegistry<void>("POST", `/api/service-providers/${segment(id)}/disable`),
  createServiceProviderKey: (id: string) =>
    callRegistry<CreatedServiceProviderKey>("POST", `/api/service-providers/${segment(id)}/keys`),
  revokeServiceProviderKey: (id: string, keyId: string) =>
    callRegistry<void>("DELETE", `/api/service-providers/${segment(id)}/keys/${segment(keyId)}`),

  auditEvents: (query: {
    after?: number;
    limit?: number;
    type?: string;
    actor?: string;
    subject?: string;
    scope?: "mine" | "all";
  }) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== "") params.set(key, String(value));
    }
    return callRegistry<AuditPage>("GET", `/api/audit/events?${params}`);
  },
  verifyAuditChain: () => callRegistry<ChainVerification>("GET", "/api/audit/verify"),
};
