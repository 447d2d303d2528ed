import type {
  AuthorizationDetail,
  Capability,
  CapabilityRisk,
  Envelope,
  JsonValue,
} from "@agentauth/core";
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/browser";

// The registry's JSON, as `services/registry` presents it (see its /openapi.json).

export interface Human {
  readonly id: string;
  readonly display_name: string;
  readonly is_admin: boolean;
  readonly created_at?: string;
}

export interface Passkey {
  readonly credential_id: string;
  readonly name: string;
  readonly transports: readonly string[];
  readonly device_type: string;
  readonly backed_up: boolean;
  readonly created_at: string;
  readonly last_used_at: string | null;
}

/** A capability with the registry's plain-English text and risk. */
export interface DescribedCapability {
  readonly capability: Capability;
  readonly text: string;
  readonly risk: CapabilityRisk;
}

export interface DescribedEnvelope {
  readonly envelope: Envelope;
  readonly lines: readonly string[];
}

/** `authorization_details` with their plain-English presentation. */
export interface PresentedAuthorization {
  readonly authorization_details: readonly AuthorizationDetail[];
  readonly capabilities: readonly DescribedCapability[];
  readonly envelope: DescribedEnvelope | null;
}

export type GrantRequestStatus = "pending" | "approved" | "denied" | "expired";

export interface GrantRequest extends PresentedAuthorization {
  readonly id: string;
  readonly status: GrantRequestStatus;
  readonly agent: { readonly id: string; readonly name: string };
  readonly service_provider: { readonly id: string; readonly name: string };
  readonly user_code: string;
  readonly binding_message: string | null;
  /** Seconds the agent asked the grant to last. */
  readonly grant_lifetime: number;
  readonly created_at: string;
  readonly expires_at: string;
  readonly decided_at: string | null;
  readonly deny_reason: string | null;
}

export interface ApprovalChallenge {
  readonly challenge_id: string;
  readonly digest: string;
  readonly final_grant: PresentedAuthorization & {
    readonly service_provider: string;
    readonly expires_at: string;
  };
  readonly options: PublicKeyCredentialRequestOptionsJSON;
}

export interface ApprovedGrant {
  readonly id: string;
  readonly digest: string;
  readonly expires_at: string;
}

export type GrantStatus = "active" | "expired" | "revoked";

export interface Grant extends PresentedAuthorization {
  readonly id: string;
  readonly request_id: string;
  readonly agent_id: string;
  readonly agent_name: string;
  readonly service_provider: string;
  readonly digest: string;
  readonly created_at: string;
  readonly expires_at: string;
  readonly revoked_at: string | null;
  readonly status: GrantStatus;
}

export interface GrantReceipt {
  readonly grant_id: string;
  readonly final_grant: {
    readonly request_id: string;
    readonly agent_jkt: string;
    readonly service_provider: string;
    readonly authorization_details: readonly AuthorizationDetail[];
    /** Seconds since the epoch. */
    readonly expires_at: number;
  };
  readonly digest: string;
  readonly receipt: {
    readonly credential_id: string;
    readonly authenticator_data: string;
    readonly client_data_json: string;
    readonly signature: string;
    readonly nonce: string;
    readonly challenge: string;
  };
  /** COSE public key, base64url; null once the passkey has been removed. */
  readonly passkey_public_key: string | null;
}

export interface Agent {
  readonly id: string;
  readonly name: string;
  readonly jkt: string;
  readonly created_at: string;
  readonly key_rotated_at: string | null;
  readonly disabled_at: string | null;
  readonly status: "active" | "disabled";
}

export interface EnrolmentCode {
  readonly code: string;
  readonly agent_name: string;
  readonly expires_at: string;
}

export interface ServiceProviderKey {
  readonly id: string;
  readonly prefix: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

export interface ServiceProvider {
  readonly id: string;
  readonly name: string;
  readonly ceiling: readonly Capability[];
  readonly created_at: string;
  readonly disabled_at: string | null;
  readonly keys: readonly ServiceProviderKey[];
}

export interface CreatedServiceProviderKey {
  readonly id: string;
  readonly prefix: string;
  /** The verifier API key: shown once, never stored by the registry or by this app. */
  readonly key: string;
  readonly created_at: string;
}

export interface AuditEventBody {
  readonly type: string;
  readonly actor: string;
  readonly subject: string | null;
  readonly human_id: string | null;
  readonly occurred_at: string;
  readonly data: { readonly [key: string]: JsonValue };
}

export interface AuditEvent {
  readonly sequence: number;
  readonly previous_hash: string;
  readonly hash: string;
  readonly event: AuditEventBody;
  readonly chained_at: string;
}

export interface AuditPage {
  readonly events: readonly AuditEvent[];
  readonly next_after: number | null;
}

export type ChainVerification =
  | {
      readonly status: "intact";
      readonly count: number;
      readonly last_sequence: number;
      readonly head_hash: string;
    }
  | {
      readonly status: "broken";
      readonly first_break: {
        readonly sequence: number;
        readonly reason: string;
        readonly expected?: string;
        readonly actual?: string;
      };
    };

export interface Invitation {
  readonly invitation_url: string;
  readonly expires_at: string;
}

export interface RegistrationStart {
  readonly challenge_id: string;
  readonly options: PublicKeyCredentialCreationOptionsJSON;
}

export interface AuthenticationStart {
  readonly challenge_id: string;
  readonly options: PublicKeyCredentialRequestOptionsJSON;
}

export type { AuthenticationResponseJSON, RegistrationResponseJSON };
