import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction } from "kysely";

// Kysely's view of migrations/*.sql. Keep in step with the SQL: the migration test compares
// them column by column.

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** jsonb: written as a JSON string or value, read back parsed. */
type Json<T> = ColumnType<T, string, string>;
/** bigint and bigserial columns come back from `pg` as strings. */
type BigIntColumn = ColumnType<string, number | bigint | string, number | bigint | string>;

export interface HumansTable {
  id: string;
  display_name: string;
  is_admin: ColumnType<boolean, boolean | undefined, boolean>;
  webauthn_user_id: string;
  created_at: DefaultTimestamp;
  disabled_at: Timestamp | null;
}

export interface HumanInvitationsTable {
  token_hash: string;
  invited_by: string | null;
  is_admin: boolean;
  display_name: string | null;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
}

export interface PasskeysTable {
  credential_id: string;
  human_id: string;
  public_key: Uint8Array;
  counter: BigIntColumn;
  transports: ColumnType<string[], string[] | undefined, string[]>;
  device_type: string;
  backed_up: boolean;
  name: string;
  created_at: DefaultTimestamp;
  last_used_at: Timestamp | null;
}

export interface WebauthnChallengesTable {
  id: string;
  challenge: string;
  purpose: "registration" | "authentication" | "approval";
  human_id: string | null;
  /** jsonb with a default of `{}`. */
  context: ColumnType<Record<string, unknown>, string | undefined, string>;
  expires_at: Timestamp;
}

export interface SessionsTable {
  id_hash: string;
  /** Public id (`ses_…`), for listing and ending sessions; the cookie's hash never leaves. */
  id: string;
  human_id: string;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface ServiceProvidersTable {
  id: string;
  name: string;
  ceiling: Json<unknown[]>;
  created_by: string;
  created_at: DefaultTimestamp;
  disabled_at: Timestamp | null;
}

export interface ServiceProviderKeysTable {
  id: string;
  service_provider_id: string;
  prefix: string;
  secret_hash: string;
  created_at: DefaultTimestamp;
  revoked_at: Timestamp | null;
}

export interface AgentEnrolmentCodesTable {
  code_hash: string;
  human_id: string;
  agent_name: string;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
}

export interface AgentsTable {
  id: string;
  human_id: string;
  name: string;
  jkt: string;
  public_jwk: Json<Record<string, string>>;
  created_at: DefaultTimestamp;
  key_rotated_at: Timestamp | null;
  disabled_at: Timestamp | null;
}

export type GrantRequestStatus = "pending" | "approved" | "denied" | "expired";

export interface GrantRequestsTable {
  id: string;
  agent_id: string;
  human_id: string;
  service_provider_id: string;
  authorization_details: Json<unknown[]>;
  binding_message: string | null;
  user_code: string;
  requested_lifetime_seconds: number;
  request_hash: string;
  status: GrantRequestStatus;
  poll_interval_seconds: number;
  last_polled_at: Timestamp | null;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  decided_at: Timestamp | null;
  deny_reason: string | null;
  redeemed_at: Timestamp | null;
}

export interface GrantsTable {
  id: string;
  request_id: string;
  agent_id: string;
  human_id: string;
  service_provider_id: string;
  agent_jkt: string;
  authorization_details: Json<unknown[]>;
  digest: string;
  receipt: Json<Record<string, unknown>>;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface RefreshTokensTable {
  id_hash: string;
  grant_id: string;
  agent_id: string;
  jkt: string;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface AccessTokensTable {
  jti: string;
  grant_id: string;
  agent_id: string;
  service_provider_id: string;
  issued_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  /** For a per-task token (RFC 8693 exchange): the `jti` of the access token it came from. */
  task_of: string | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: Json<Record<string, string>>;
  created_at: DefaultTimestamp;
  retired_at: Timestamp | null;
}

export type RevocationKind = "token" | "grant" | "agent";

export interface RevocationsTable {
  id: Generated<string>;
  kind: RevocationKind;
  subject: string;
  expires_at: Timestamp;
  created_at: DefaultTimestamp;
  published_at: Timestamp | null;
}

export interface AuditQueueTable {
  id: Generated<string>;
  event: Json<Record<string, unknown>>;
  enqueued_at: DefaultTimestamp;
}

export interface AuditEventsTable {
  sequence: BigIntColumn;
  previous_hash: string;
  hash: string;
  event: string;
  type: string;
  actor: string | null;
  subject: string | null;
  human_id: string | null;
  occurred_at: Timestamp;
  chained_at: DefaultTimestamp;
}

export interface AuditCheckpointsTable {
  sequence: BigIntColumn;
  hash: string;
  kid: string;
  signature: string;
  created_at: DefaultTimestamp;
}

export interface VerifierDecisionsTable {
  delivery_id: string;
  record_hash: string;
  audited_at: DefaultTimestamp;
}

export interface Database {
  humans: HumansTable;
  human_invitations: HumanInvitationsTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  sessions: SessionsTable;
  service_providers: ServiceProvidersTable;
  service_provider_keys: ServiceProviderKeysTable;
  agent_enrolment_codes: AgentEnrolmentCodesTable;
  agents: AgentsTable;
  grant_requests: GrantRequestsTable;
  grants: GrantsTable;
  refresh_tokens: RefreshTokensTable;
  access_tokens: AccessTokensTable;
  signing_keys: SigningKeysTable;
  revocations: RevocationsTable;
  audit_queue: AuditQueueTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  verifier_decisions: VerifierDecisionsTable;
}

/** The database, or a transaction on it: stores accept either, so callers choose the scope. */
export type Db = Kysely<Database> | Transaction<Database>;

export type Agent = Selectable<AgentsTable>;
export type Grant = Selectable<GrantsTable>;
export type GrantRequest = Selectable<GrantRequestsTable>;
export type Human = Selectable<HumansTable>;
export type Passkey = Selectable<PasskeysTable>;
export type ServiceProvider = Selectable<ServiceProvidersTable>;
export type NewAuditEvent = Insertable<AuditEventsTable>;
