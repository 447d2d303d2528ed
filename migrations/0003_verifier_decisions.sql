-- Verifier decisions delivered by the decision log (a Redis stream) and appended to the audit
-- chain. A row commits with the decision's audit event, so a decision delivered again (the
-- registry stopped between that commit and its acknowledgement) is recognised and skipped.
-- The key holds the record's hash as well as its delivery id: the in-process log of the
-- embedded default numbers its records afresh at every start.
CREATE TABLE verifier_decisions (
  delivery_id text NOT NULL,
  record_hash text NOT NULL,              -- SHA-256 hex of the record's JSON, as delivered
  audited_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (delivery_id, record_hash)
);
