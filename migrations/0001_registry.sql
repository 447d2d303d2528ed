-- AgentAuth registry schema. Plain SQL, run in order by the registry's migration runner on
-- PostgreSQL 15 and on embedded PGlite alike. Identifiers are opaque prefixed strings made by
-- the registry (e.g. "agt_…"); times are timestamptz; one-time secrets are stored only as
-- SHA-256 hashes (hex).

-- Humans and their passkeys -------------------------------------------------------------------

CREATE TABLE humans (
  id               text PRIMARY KEY,
  display_name     text NOT NULL,
  is_admin         boolean NOT NULL DEFAULT false,
  -- WebAuthn user handle: random, never derived from personal data.
  webauthn_user_id text NOT NULL UNIQUE,
  created_at       timestamptz NOT NULL DEFAULT now(),
  disabled_at      timestamptz
);

-- One-time enrolment links: the first human's (printed at first start, invited_by NULL) and
-- invitations by an admin. Consumed with DELETE … RETURNING.
CREATE TABLE human_invitations (
  token_hash   text PRIMARY KEY,
  invited_by   text REFERENCES humans (id),
  is_admin     boolean NOT NULL,
  display_name text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);

CREATE TABLE passkeys (
  credential_id text PRIMARY KEY,           -- base64url
  human_id      text NOT NULL REFERENCES humans (id),
  public_key    bytea NOT NULL,             -- COSE_Key
  counter       bigint NOT NULL CHECK (counter >= 0),
  transports    text[] NOT NULL DEFAULT '{}',
  device_type   text NOT NULL,              -- singleDevice | multiDevice
  backed_up     boolean NOT NULL,
  name          text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz
);
CREATE INDEX passkeys_human ON passkeys (human_id);

-- Single-use, short-lived WebAuthn challenges, consumed with DELETE … RETURNING. `context`
-- carries what the ceremony is for (an invitation, or the exact final grant being approved).
CREATE TABLE webauthn_challenges (
  id         text PRIMARY KEY,
  challenge  text NOT NULL,                 -- base64url, as sent to the browser
  purpose    text NOT NULL CHECK (purpose IN ('registration', 'authentication', 'approval')),
  human_id   text REFERENCES humans (id),
  context    jsonb NOT NULL DEFAULT '{}',
  expires_at timestamptz NOT NULL
);

CREATE TABLE sessions (
  id_hash    text PRIMARY KEY,
  human_id   text NOT NULL REFERENCES humans (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX sessions_human ON sessions (human_id);

-- Service providers ---------------------------------------------------------------------------

CREATE TABLE service_providers (
  id          text PRIMARY KEY,             -- its resource identifier: the token "aud"
  name        text NOT NULL,
  -- The capabilities it accepts at most: RFC 9396 entries; a request outside them is refused.
  ceiling     jsonb NOT NULL,
  created_by  text NOT NULL REFERENCES humans (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);

-- Verifier API keys: 256-bit secrets shown once; stored as a lookup prefix and a hash.
CREATE TABLE service_provider_keys (
  id                  text PRIMARY KEY,
  service_provider_id text NOT NULL REFERENCES service_providers (id),
  prefix              text NOT NULL UNIQUE,
  secret_hash         text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  revoked_at          timestamptz
);

-- Agents --------------------------------------------------------------------------------------

CREATE TABLE agent_enrolment_codes (
  code_hash  text PRIMARY KEY,
  human_id   text NOT NULL REFERENCES humans (id),
  agent_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);

CREATE TABLE agents (
  id             text PRIMARY KEY,
  human_id       text NOT NULL REFERENCES humans (id),
  name           text NOT NULL,
  jkt            text NOT NULL UNIQUE,      -- RFC 7638 thumbprint of its current key
  public_jwk     jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  key_rotated_at timestamptz,
  disabled_at    timestamptz
);
CREATE INDEX agents_human ON agents (human_id);

-- Grant requests (CIBA) and grants ------------------------------------------------------------

CREATE TABLE grant_requests (
  id                         text PRIMARY KEY,  -- the CIBA auth_req_id
  agent_id                   text NOT NULL REFERENCES agents (id),
  human_id                   text NOT NULL REFERENCES humans (id),
  service_provider_id        text NOT NULL REFERENCES service_providers (id),
  authorization_details      jsonb NOT NULL,
  binding_message            text,
  user_code                  text NOT NULL,
  requested_lifetime_seconds integer NOT NULL CHECK (requested_lifetime_seconds > 0),
  request_hash               text NOT NULL,     -- identifies identical requests
  status                     text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
  poll_interval_seconds      integer NOT NULL,
  last_polled_at             timestamptz,
  created_at                 timestamptz NOT NULL DEFAULT now(),
  expires_at                 timestamptz NOT NULL,
  decided_at                 timestamptz,
  deny_reason                text,
  -- When the agent exchanged the approved auth_req_id for its first token (once only).
  redeemed_at                timestamptz
);
CREATE INDEX grant_requests_human_status ON grant_requests (human_id, status);
-- At most one identical pending request per agent.
CREATE UNIQUE INDEX grant_requests_pending_identical ON grant_requests (agent_id, request_hash)
  WHERE status = 'pending';

CREATE TABLE grants (
  id                    text PRIMARY KEY,
  request_id            text NOT NULL UNIQUE REFERENCES grant_requests (id),
  agent_id              text NOT NULL REFERENCES agents (id),
  human_id              text NOT NULL REFERENCES humans (id),
  service_provider_id   text NOT NULL REFERENCES service_providers (id),
  agent_jkt             text NOT NULL,
  authorization_details jsonb NOT NULL,
  digest                text NOT NULL,      -- core's grant digest of exactly what was approved
  -- The passkey assertion over the approval challenge: credential id, authenticator data,
  -- client data JSON, signature and server nonce, re-verifiable with the passkey's public key.
  receipt               jsonb NOT NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  expires_at            timestamptz NOT NULL,
  revoked_at            timestamptz
);
CREATE INDEX grants_agent ON grants (agent_id);
CREATE INDEX grants_human ON grants (human_id);

-- DPoP-bound refresh tokens let an agent renew access tokens while its grant lives.
CREATE TABLE refresh_tokens (
  id_hash    text PRIMARY KEY,
  grant_id   text NOT NULL REFERENCES grants (id),
  agent_id   text NOT NULL REFERENCES agents (id),
  jkt        text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

CREATE TABLE access_tokens (
  jti                 text PRIMARY KEY,
  grant_id            text NOT NULL REFERENCES grants (id),
  agent_id            text NOT NULL REFERENCES agents (id),
  service_provider_id text NOT NULL REFERENCES service_providers (id),
  issued_at           timestamptz NOT NULL,
  expires_at          timestamptz NOT NULL,
  revoked_at          timestamptz
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

-- Token signing keys (public halves; private keys stay in the signer) ---------------------------

CREATE TABLE signing_keys (
  kid        text PRIMARY KEY,
  alg        text NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A retired key stops signing but stays in the JWKS until every token it signed has expired.
  retired_at timestamptz
);

-- Revocations, published to verifiers through Redis. This table is the outbox: a row stays
-- unpublished until the publish succeeds, so a Redis outage delays but never loses one.
CREATE TABLE revocations (
  id           bigserial PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('token', 'grant', 'agent')),
  subject      text NOT NULL,
  -- After this, no token it could affect is still valid: the entry can be forgotten.
  expires_at   timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX revocations_unpublished ON revocations (id) WHERE published_at IS NULL;

-- Audit log -----------------------------------------------------------------------------------

-- Business transactions append here, in the same transaction as the change they record.
CREATE TABLE audit_queue (
  id          bigserial PRIMARY KEY,
  event       jsonb NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT now()
);

-- The chain. A single sequencer moves queued events here in batches, assigning consecutive
-- sequence numbers and hash links (core's hash chain): writers never contend for the head.
CREATE TABLE audit_events (
  sequence      bigint PRIMARY KEY CHECK (sequence > 0),
  previous_hash text NOT NULL,
  hash          text NOT NULL UNIQUE,
  -- The RFC 8785 canonical JSON that was hashed, kept byte for byte.
  event         text NOT NULL,
  type          text NOT NULL,
  actor         text,                       -- who did it: a human, agent, service provider or "system"
  subject       text,                       -- what it was done to
  human_id      text,                       -- whose activity this is, for filtering
  occurred_at   timestamptz NOT NULL,
  chained_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_human ON audit_events (human_id, sequence);
CREATE INDEX audit_events_type ON audit_events (type, sequence);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % is refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_append_only
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();

CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

-- Signed checkpoints of the chain head, so a verifier can trust a prefix without replaying it.
CREATE TABLE audit_checkpoints (
  sequence   bigint PRIMARY KEY REFERENCES audit_events (sequence),
  hash       text NOT NULL,
  kid        text NOT NULL,
  signature  text NOT NULL,                 -- compact JWS over {sequence, hash}
  created_at timestamptz NOT NULL DEFAULT now()
);
